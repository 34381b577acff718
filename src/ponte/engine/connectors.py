"""Connector instances for affiliates, each with the engine's context: the credentials every process shares
and the rate limits every worker honours."""

from __future__ import annotations

from ponte.connectors import outbound
from ponte.connectors.base import Connector
from ponte.connectors.context import ConnectorContext
from ponte.connectors.registry import get_connector_class, validate_settings
from ponte.engine.credentials import StoredCredentials
from ponte.engine.ratelimits import SharedLimits, SpareLimits, bucket_keys
from ponte.secrets import SecretBox
from ponte.settings import Settings
from ponte.store.affiliates import Affiliate
from ponte.store.db import Database


def connector_for(
    affiliate: Affiliate,
    *,
    db: Database,
    box: SecretBox,
    settings: Settings,
    timeout: float | None = None,
    low_priority: bool = False,
) -> Connector:
    """The affiliate's connector with its decrypted settings. Raises UnknownConnector or
    InvalidConnectorSettings (the affiliate's settings no longer fit its connector). `low_priority`: its calls only
    spend the spare quota of the shared buckets (reconciliation's reads), never what a send needs."""
    outbound.allow(settings.outbound_allow)  # the operator's exceptions to the outbound policy, in this process too
    cls = get_connector_class(affiliate.connector)
    validated = validate_settings(affiliate.connector, dict(affiliate.settings), box.open(affiliate.secrets))
    scopes = bucket_keys(cls.kind, affiliate.id, cls.app_scope(validated))
    shared = SharedLimits(db, cls.rates(validated), scopes)
    context = ConnectorContext(
        affiliate_code=affiliate.code,
        credentials=StoredCredentials(db, box, affiliate.id),
        limits=SpareLimits(shared) if low_priority else shared,
        timeout=timeout or settings.http_timeout,
        body_limit=settings.body_limit,
        public_url=settings.public_url,
    )
    return cls(validated, context=context)
