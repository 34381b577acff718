"""Where the read of Bling's issued NF-e stands, kept as the affiliate's feed cursor (JSON).

Bling lists notes by emission day (`GET /nfe?dataEmissaoInicial=…`, a date) and pages them. A read walks the pages
from `since`; when it reaches the last one, the next read starts at the oldest day that still has a note on its
way to SEFAZ (pending, awaiting receipt…), or else at the newest day seen. Notes already handed to Ponte on those
days are remembered (`seen`), so a day read again costs one list call, never a second read of each note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson

# A note on its way for longer than this no longer holds the read back (it was abandoned in Bling).
STUCK = timedelta(days=7)
MAX_SEEN = 5_000


@dataclass
class InvoiceCursor:
    since: str  # YYYY-MM-DD
    page: int = 1
    seen: list[int] = field(default_factory=list)  # notes on or after `since` already handed over (or skipped)
    waiting: str | None = None  # the oldest emission day of a note still on its way, in this walk
    newest: str | None = None  # the newest emission day seen in this walk

    @classmethod
    def read(cls, text: str | None, *, today: date, days: int) -> InvoiceCursor:
        start = (today - timedelta(days=days)).isoformat()
        if not text:
            return cls(since=start)
        try:
            data = orjson.loads(text)
            return cls(
                since=str(data["since"])[:10],
                page=max(1, int(data.get("page") or 1)),
                seen=[int(x) for x in data.get("seen") or []][-MAX_SEEN:],
                waiting=data.get("waiting"),
                newest=data.get("newest"),
            )
        except (ValueError, KeyError, TypeError):
            return cls(since=start)  # a cursor of another version: read the window again (notes are recognised)

    def note(self, emitted: str, *, on_the_way: bool, today: date) -> None:
        day = emitted[:10]
        if not self.newest or day > self.newest:
            self.newest = day
        if on_the_way and day >= (today - STUCK).isoformat() and (self.waiting is None or day < self.waiting):
            self.waiting = day

    def same_page(self) -> str:
        return self._dump(InvoiceCursor(self.since, self.page, self.seen, self.waiting, self.newest))

    def next_page(self) -> str:
        return self._dump(InvoiceCursor(self.since, self.page + 1, self.seen, self.waiting, self.newest))

    def walked(self) -> str:
        """The cursor after the last page: from the oldest note on its way, or the newest day seen."""
        since = self.waiting or self.newest or self.since
        return self._dump(InvoiceCursor(max(since, self.since), 1, self.seen))

    @staticmethod
    def _dump(cursor: InvoiceCursor) -> str:
        data: dict[str, Any] = {"since": cursor.since, "page": cursor.page, "seen": cursor.seen[-MAX_SEEN:]}
        if cursor.waiting:
            data["waiting"] = cursor.waiting
        if cursor.newest:
            data["newest"] = cursor.newest
        return orjson.dumps(data).decode()
