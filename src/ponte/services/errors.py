"""Errors a service raises for bad input: the edges turn them into 4xx answers or clear CLI messages."""

from __future__ import annotations


class InputError(ValueError):
    """The input cannot be accepted. `field` names the offending field when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(LookupError):
    """No such thing in this account (also what another account's ids answer)."""
