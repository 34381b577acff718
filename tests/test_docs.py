"""Documentation that cannot drift: every setting Ponte reads is documented, and the README shows the two commands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_read_is_documented():
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "ponte").rglob("*.py"))
    read = set(re.findall(r"\"(PONTE_[A-Z_]+)\"", source))
    documented = set(re.findall(r"`(PONTE_[A-Z_]+)`", (ROOT / "docs" / "settings.md").read_text()))
    assert read, "no settings found: the pattern is wrong"
    assert read - documented == set(), f"undocumented settings: {sorted(read - documented)}"


def test_the_readme_starts_with_the_two_setup_commands():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    assert "make run" in first_screen and "make test" in first_screen
