"""Steps an operator takes, shared by the browser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factories import PASSWORD


def sign_in(page: Any, base: str, email: str, *, lang: str | None = None) -> None:
    page.goto(f"{base}/login" + (f"?lang={lang}" if lang else ""))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/overview**")


SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def shot(page: Any, name: str, *, full: bool = True) -> None:
    """Save a screenshot to screenshots/<name>.png (git-ignored) for people to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full)
