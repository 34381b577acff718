"""Text helpers for the knowledge base: accent folding, cause keys, and literal prefilters for patterns.

Marketplace messages arrive in Portuguese, Spanish and English, with and without accents, with ids inside.
The classifier folds every message once (lowercase, accents removed) and matches folded patterns against it.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from typing import Any

_sre: Any = importlib.import_module("re._parser")  # the stdlib regex parser; no public name for it


# Typographic quotes, dashes and spaces become plain ASCII before grouping (folding alone would drop them).
_PUNCTUATION = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\xa0": " "}
)


def _to_ascii(text: str) -> str:
    # NFKD splits "ã" into "a" + combining tilde; dropping what is not ASCII keeps the base letters.
    # Several times faster than str.translate with a table, and this runs on every failed attempt.
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def fold(text: str) -> str:
    """Lowercase and strip accents ("Não É" -> "nao e"); ASCII text takes the fast path."""
    text = text.lower()
    return text if text.isascii() else _to_ascii(text)


def fold_pattern(pattern: str) -> str:
    """Strip accents from a regular expression without touching its escapes (case is left to re.IGNORECASE)."""
    return pattern if pattern.isascii() else _to_ascii(pattern)


# Order matters: whole URLs and e-mails go before their digits would be taken apart.
_NORMALISERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:https?|ftp)://\S+|www\.\S+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"\"[^\"]{0,200}\"|'[^']{0,200}'|«[^»]{0,200}»"), "<value>"),
    (re.compile(r"(?<![\w])\d(?:[\d\s.]{42,60})\d(?![\w])"), "<key>"),  # NF-e access keys, often spaced in 4s
    (re.compile(r"[\w./#:-]*\d[\w./#:-]*"), "<n>"),  # any token holding a digit: ids, SKUs, MLB123, prices
    (re.compile(r"\s+"), " "),
]


def normalise_message(message: str) -> str:
    """A grouping key for a message: ids, numbers, SKUs, URLs, e-mails and quoted values stripped.

    "O SKU 3301 não possui preço" and "O SKU 9 não possui preço" give the same key.
    """
    text = fold(message.translate(_PUNCTUATION))
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    # Tokens such as "<n>-<n>" left by separators collapse to one placeholder.
    text = re.sub(r"<n>(?:[\s,;/-]*<n>)+", "<n>", text)
    return text.strip(" .;:,")


def cause_key(category: str, message: str) -> str:
    """The key that groups failures into causes: the category plus the normalised message."""
    return f"{category}|{normalise_message(message)}"


def required_literals(pattern: str, minimum: int = 3) -> tuple[str, ...] | None:
    """Literal strings one of which every match of `pattern` must contain, or None when none can be proved.

    Used as a prefilter: `any(lit in text ...)` costs far less than running the regex on every message.
    """
    try:
        parsed = _sre.parse(pattern)
    except re.error:
        return None
    found = _required(list(parsed))
    if not found or min(len(lit) for lit in found) < minimum:
        return None
    return tuple(sorted({lit.lower() for lit in found}))


def _required(items: list[tuple[Any, Any]]) -> list[str] | None:
    best: list[str] | None = None
    run: list[str] = []

    def consider(candidate: list[str] | None) -> None:
        nonlocal best
        if candidate and (best is None or min(map(len, candidate)) > min(map(len, best))):
            best = candidate

    for op, av in items:
        if op is _sre.LITERAL:
            run.append(chr(av))
            continue
        consider(["".join(run)] if run else None)
        run = []
        if op is _sre.SUBPATTERN:
            consider(_required(list(av[-1])))
        elif op is _sre.BRANCH:
            branches = [_required(list(branch)) for branch in av[1]]
            if all(branches):
                consider([lit for branch in branches if branch for lit in branch])
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
            consider(_required(list(av[2])))
    consider(["".join(run)] if run else None)
    return best
