"""A starting pattern for an account rule, made from the message the operator is looking at."""

from __future__ import annotations

import re


def suggest_pattern(message: str | None) -> str:
    """The message's words as they are (escaped), any run of digits standing for any other number."""
    escaped = re.escape((message or "").strip()[:200]).replace("\\ ", " ")  # a space needs no escaping
    return re.sub(r"\d+", r"\\d+", escaped)
