"""A listing judged by its marketplace before anything is listed (Amazon's VALIDATION_PREVIEW), from the SKU page."""

from __future__ import annotations

import logging

from ponte.connectors import capabilities
from ponte.connectors.base import CallFailed, Outcome
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked, Deferred
from ponte.connectors.registry import InvalidConnectorSettings
from ponte.domain.messages import say
from ponte.engine import payloads
from ponte.engine.connectors import connector_for
from ponte.engine.worker import not_connected
from ponte.secrets import SecretBox
from ponte.services.errors import InputError, NotFound
from ponte.settings import Settings
from ponte.store.affiliates import find_affiliate
from ponte.store.db import Database

log = logging.getLogger("ponte.previews")


def preview_listing(
    db: Database, *, box: SecretBox, settings: Settings, account_id: int, affiliate_id: int, sku: str
) -> Outcome:
    """The marketplace's verdict on `sku`'s current catalog data as a listing, nothing kept on either side. Whatever
    goes wrong is an error Outcome a person can act on; an affiliate whose connector cannot preview is an InputError."""
    with db.read() as conn:
        affiliate = find_affiliate(conn, account_id=account_id, affiliate_id=affiliate_id)
        if affiliate is None:
            raise NotFound(say("msg.not_found.affiliate", id=affiliate_id))
        if not capabilities.can_preview(affiliate.connector):
            raise InputError(say("msg.preview.unsupported", affiliate=affiliate.name), field="affiliate")
        try:
            send = payloads.Catalog(conn, [(account_id, affiliate.id, sku)]).product(affiliate, sku)
        except payloads.EntityGone:
            raise NotFound(say("msg.not_found.sku", sku=sku))
    try:
        connector = connector_for(
            affiliate, db=db, box=box, settings=settings, timeout=min(settings.http_timeout, 10.0)
        )
    except InvalidConnectorSettings:
        return Outcome.error(say("msg.affiliate.settings_invalid"))
    try:
        return connector.preview(send)
    except (CredentialsMissing, CredentialsRevoked) as exc:
        return not_connected(exc, affiliate)
    except CallFailed as failed:
        return failed.outcome
    except Deferred as deferred:
        wait = round(deferred.seconds)
        return Outcome.error(say("msg.preview.rate_limited", affiliate=affiliate.name, seconds=wait))
    except Exception as exc:  # a connector bug is the preview's answer, not a failed page
        log.warning("previewing %s on %s failed: %r", sku, affiliate.code, exc)
        return Outcome.error(say("msg.connector.failed", error=type(exc).__name__))
    finally:
        connector.close()
