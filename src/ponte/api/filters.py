"""The integration filter as API query parameters and as a request body: the same fields as the screen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import Field

from ponte.api.schemas import Strict
from ponte.domain import Flow, Status
from ponte.services.connections import check_date_range
from ponte.store.filters import IntegrationFilter

MAX_CHOICES = 50
Code = Annotated[str, Field(min_length=1, max_length=40)]


def _aware(value: datetime | None) -> datetime | None:
    # A date without a zone is read as UTC, the zone every time is stored in.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def make_filter(
    *,
    flow: Flow | None,
    status: list[Status] | None,
    affiliate: list[str] | None,
    category: list[str] | None,
    date_from: datetime | None,
    date_to: datetime | None,
    search: str | None,
    words: str | None,
) -> IntegrationFilter:
    check_date_range(_aware(date_from), _aware(date_to), field="date_to")
    return IntegrationFilter(
        flow=flow.value if flow else None,
        statuses=tuple(s.value for s in status or ()),
        affiliates=tuple(a.strip().upper() for a in affiliate or ()),
        categories=tuple(category or ()),
        date_from=_aware(date_from),
        date_to=_aware(date_to),
        entity_prefix=search.strip() if search and search.strip() else None,
        words=words.strip() if words and words.strip() else None,
    )


async def filter_query(
    flow: Annotated[Flow | None, Query(description="Only this flow")] = None,
    status: Annotated[list[Status] | None, Query(max_length=MAX_CHOICES, description="Statuses (repeat)")] = None,
    affiliate: Annotated[
        list[Annotated[str, Query(max_length=16)]] | None,
        Query(max_length=MAX_CHOICES, description="Affiliate codes (repeat)"),
    ] = None,
    category: Annotated[
        list[Annotated[str, Query(max_length=40)]] | None,
        Query(max_length=MAX_CHOICES, description="Error categories (repeat)"),
    ] = None,
    date_from: Annotated[datetime | None, Query(description="Processed at or after (ISO 8601; UTC if no zone)")] = None,
    date_to: Annotated[datetime | None, Query(description="Processed before (ISO 8601; UTC if no zone)")] = None,
    search: Annotated[str | None, Query(max_length=64, description="Order id or SKU prefix")] = None,
    words: Annotated[str | None, Query(max_length=200, description="Words of the message")] = None,
) -> IntegrationFilter:
    """The list filter from query parameters."""
    return make_filter(
        flow=flow,
        status=status,
        affiliate=affiliate,
        category=category,
        date_from=date_from,
        date_to=date_to,
        search=search,
        words=words,
    )


class FilterIn(Strict):
    """The list filter as a JSON object (bulk reprocess)."""

    flow: Flow | None = None
    statuses: list[Status] = Field(default_factory=list, max_length=MAX_CHOICES)
    affiliates: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=list, max_length=MAX_CHOICES
    )
    categories: list[Code] = Field(default_factory=list, max_length=MAX_CHOICES)
    date_from: datetime | None = None
    date_to: datetime | None = None
    search: str | None = Field(default=None, max_length=64)
    words: str | None = Field(default=None, max_length=200)

    def to_filter(self) -> IntegrationFilter:
        return make_filter(
            flow=self.flow,
            status=self.statuses,
            affiliate=self.affiliates,
            category=self.categories,
            date_from=self.date_from,
            date_to=self.date_to,
            search=self.search,
            words=self.words,
        )
