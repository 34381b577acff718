"""Errors a service raises for bad input: the edges turn them into 4xx answers or clear CLI messages."""

from __future__ import annotations

from ponte.domain.messages import Message
from ponte.i18n import english


class InputError(ValueError):
    """The input cannot be accepted. `field` names the offending field when there is one. Given as a `Message`, the
    edges tell it in the reader's language (`said`); `message` is its English text."""

    def __init__(self, message: str | Message, *, field: str | None = None) -> None:
        self.said = message if isinstance(message, Message) else None
        self.message = english(message) if isinstance(message, Message) else message
        super().__init__(self.message)
        self.field = field


class NotFound(LookupError):
    """No such thing in this account (also what another account's ids answer). Given as a `Message`, the API tells
    it in the caller's language (`said`); `message` is its English text."""

    def __init__(self, message: str | Message = "") -> None:
        self.said = message if isinstance(message, Message) else None
        self.message = english(message) if isinstance(message, Message) else message
        super().__init__(self.message)
