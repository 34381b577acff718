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


AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of these impacts on the page as it is now: "rule: target…" lines (empty is good).

    The page's context must allow the vendored script in (`bypass_csp=True`): Ponte's policy admits none."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:4])}"
        for v in found
        if v["impact"] in impacts
    ]


def sideways_overflow(page: Any) -> list[str]:
    """What makes the page scroll sideways: the document wider than the window, or a visible box that scrolls
    sideways inside it (an element wider than its frame)."""
    return list(
        page.evaluate(
            """() => {
              const width = window.innerWidth, found = [];
              const doc = document.documentElement;
              if (doc.scrollWidth > width) found.push('document ' + doc.scrollWidth + 'px');
              for (const el of document.querySelectorAll('body *')) {
                const style = getComputedStyle(el);
                // An SVG clips what it draws; hidden boxes take no room.
                if (el.closest('[hidden], svg *') || style.display === 'none' || style.visibility === 'hidden') continue;
                const scrolls = ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
                const box = el.getBoundingClientRect();
                if (scrolls || (box.width > 1 && box.right > width + 1)) {
                  found.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.getAttribute('class') + ' ' + Math.round(box.right));
                }
              }
              return found.slice(0, 8);
            }"""
        )
    )
