"""A test that needs a service this machine lacks (PostgreSQL, Chromium, PostgreSQL's contrib) skips here, and
fails in CI (CI=true), where the service must be there: a green CI must never be one that quietly tested less."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() == "true"


def missing(reason: str) -> NoReturn:
    """Skip for a missing service, or fail when CI=true."""
    if IN_CI:
        pytest.fail(f"CI=true, and {reason}", pytrace=False)
    pytest.skip(reason)
