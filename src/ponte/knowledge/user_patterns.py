"""Patterns that users write (an account's error rules) run on RE2, never on Python's backtracking engine.

Python's `re` backtracks: `(a+)+$` against 28 a's and a "!" takes seconds, doubling with each character, and
one store's rule run by the worker or a re-classification would freeze every store. RE2 (the google-re2
binding) matches in time linear in the text whatever the pattern, so a pattern is never "too slow"; what it
cannot do (back-references, look-around) is refused when the rule is saved, in words the user can act on.
Chosen over `regex` with a timeout: a timeout still burns its whole budget on every message a bad pattern meets
(a re-classification of 100,000 errors), and picks a line between slow and too slow that RE2 does not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

from ponte.knowledge.text import fold_pattern, required_literals

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False  # messages are matched folded (lowercase, no accents), as the rules say
_OPTIONS.log_errors = False  # a refused pattern is the user's answer, not a line on the server's stderr
_OPTIONS.max_mem = 8 << 20  # a compiled pattern's memory: far above any real rule, far below trouble

# RE2's words for what it refuses, and what the user reads instead.
_REASONS = (
    ("invalid perl operator: (?<", "look-behind ((?<=…), (?<!…)) is not supported"),
    ("invalid perl operator: (?=", "look-ahead ((?=…)) is not supported"),
    ("invalid perl operator: (?!", "look-ahead ((?!…)) is not supported"),
    ("invalid escape sequence: \\", "back-references (\\1) and this escape are not supported"),
    ("invalid repetition size", "a repeat count is at most 1000"),
    ("pattern too large", "the pattern is too large"),
    ("bad repetition operator", "a repeat (*, + or ?) follows nothing or another repeat"),
    ("missing )", "a parenthesis is not closed"),
    ("unexpected )", "a parenthesis closes nothing"),
    ("missing ]", "a bracket [ is not closed"),
    ("trailing \\", "the pattern ends with a lone backslash"),
)


class PatternError(ValueError):
    """A user's pattern cannot be used; the message says why, in words the user can act on."""


def compile_pattern(pattern: str) -> Any:
    """The RE2 program of a user's (already folded) pattern; PatternError when RE2 cannot run it."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        reason = next((words for prefix, words in _REASONS if text.startswith(prefix)), text)
        raise PatternError(reason) from None


@dataclass(frozen=True)
class UserMatcher:
    """A user's pattern, folded and compiled on RE2, with the same literal prefilter as the knowledge base's."""

    source: str
    regex: Any
    literals: tuple[str, ...] | None

    def matches(self, folded: str) -> bool:
        if self.literals is not None and not any(lit in folded for lit in self.literals):
            return False
        return self.regex.search(folded) is not None


@lru_cache(maxsize=4096)
def user_matcher(pattern: str) -> UserMatcher | None:
    """The matcher of a stored pattern; None when RE2 cannot run it (a rule saved before it was checked)."""
    folded = fold_pattern(pattern)
    try:
        regex = compile_pattern(folded)
    except PatternError:
        return None
    return UserMatcher(pattern, regex, required_literals(folded))
