"""A test that needs a service this machine lacks skips here and fails in CI (CI=true): a green CI is never one
that quietly tested less. Checked on the real mechanism: conftest.py's PostgreSQL variant (its skip mark, left off
when CI=true) and `pg_migrated` (needs.missing), run in a fresh pytest with no PONTE_TEST_POSTGRES_URL."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# A test that runs on each database: its PostgreSQL variant is the one under test.
POSTGRES_VARIANT = f"{Path(__file__).parent / 'test_retention.py'}::test_partitions_are_made_ahead_once[postgres]"
REASON = "PostgreSQL tests need PONTE_TEST_POSTGRES_URL"


def _run_without_postgres(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> pytest.RunResult:
    """The PostgreSQL variant, in a new process (conftest.py reads the environment when it is imported)."""
    monkeypatch.delenv("PONTE_TEST_POSTGRES_URL", raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_subprocess(POSTGRES_VARIANT, "-p", "no:randomly", "-p", "no:cacheprovider")


def test_in_ci_a_postgresql_test_without_postgresql_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run_without_postgres(pytester, monkeypatch, "true")
    result.assert_outcomes(errors=1)  # pg_migrated, set up for it, fails it
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"*CI=true, and {REASON}*"])


def test_elsewhere_a_postgresql_test_without_postgresql_skips(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run_without_postgres(pytester, monkeypatch, None)
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"*{REASON}*"])
