"""Connecting an affiliate by the seller's authorisation (OAuth2 authorization code, with PKCE where the
connector asks for it): the consent page, the callback, and who the seller turned out to be."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from ponte.clock import now
from ponte.connectors.base import GrantRefused, Identity
from ponte.connectors.registry import get_connector_class
from ponte.domain.messages import Message, say
from ponte.engine.connectors import connector_for
from ponte.engine.queue import reprocess_integrations
from ponte.i18n import english
from ponte.secrets import SecretBox
from ponte.services.errors import InputError
from ponte.settings import Settings
from ponte.store.affiliates import Affiliate, find_affiliate
from ponte.store.audit import record
from ponte.store.db import Database
from ponte.store.filters import IntegrationFilter
from ponte.store.oauth import save_state, take_state

STATE_LIFETIME = timedelta(minutes=15)


class AuthorisationFailed(Exception):
    """The authorisation did not complete; `said` says why in words the seller can act on (the text: in English)."""

    def __init__(self, said: Message) -> None:
        super().__init__(english(said))
        self.said = said


@dataclass(frozen=True)
class Connected:
    affiliate: Affiliate
    identity: Identity


def redirect_uri(base_url: str, kind: str) -> str:
    """The callback to register in the marketplace's app: `<base>/oauth/callback/<kind>`."""
    return f"{base_url.rstrip('/')}/oauth/callback/{kind}"


def pkce_pair() -> tuple[str, str]:
    """A PKCE code_verifier and its S256 code_challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start_authorisation(
    db: Database, *, box: SecretBox, settings: Settings, affiliate: Affiliate, actor: str, base_url: str
) -> str:
    """Record a new authorisation for `affiliate` and return the marketplace's consent page to send the seller to."""
    cls = get_connector_class(affiliate.connector)
    if not cls.oauth:
        raise InputError(say("msg.oauth.not_oauth", connector=affiliate.connector), field="connector")
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair() if cls.pkce else (None, None)
    callback = redirect_uri(base_url, affiliate.connector)
    connector = connector_for(affiliate, db=db, box=box, settings=settings)
    try:
        url = connector.authorization_url(state=state, redirect_uri=callback, code_challenge=challenge)
    finally:
        connector.close()
    with db.write() as conn:
        save_state(
            conn,
            state=state,
            account_id=affiliate.account_id,
            affiliate_id=affiliate.id,
            actor=actor,
            sealed_verifier=box.seal({"v": verifier}) if verifier else None,
            redirect_uri=callback,
            now=now(),
            expires_at=now() + STATE_LIFETIME,
        )
    return url


def complete_authorisation(
    db: Database,
    *,
    box: SecretBox,
    settings: Settings,
    kind: str,
    state: str,
    code: str,
    account_id: int,
    extras: Mapping[str, str] | None = None,
) -> Connected:
    """Check the state, trade the code for tokens, keep them (with `extras`, what else the callback said: the
    connector's `callback_extras`), and read who the seller is.

    Raises AuthorisationFailed: an unknown, used or expired state (a forged or replayed callback), a state of
    another account or connector, or a code the marketplace refused."""
    with db.write() as conn:
        pending = take_state(conn, state=state)
    if pending is None or pending.expires_at < now():
        raise AuthorisationFailed(say("msg.oauth.unknown_link"))
    if pending.account_id != account_id:
        raise AuthorisationFailed(say("msg.oauth.other_store"))
    with db.read() as conn:
        affiliate = find_affiliate(conn, account_id=account_id, affiliate_id=pending.affiliate_id)
    if affiliate is None or affiliate.connector != kind:
        raise AuthorisationFailed(say("msg.oauth.affiliate_gone"))
    verifier = box.open(pending.sealed_verifier).get("v") if pending.sealed_verifier else None
    connector = connector_for(affiliate, db=db, box=box, settings=settings)
    try:
        try:
            grant = connector.exchange_code(code=code, redirect_uri=pending.redirect_uri, code_verifier=verifier)
        except GrantRefused as exc:
            raise AuthorisationFailed(say("msg.oauth.refused", name=affiliate.name, reason=exc.said))
        if extras:
            grant = replace(grant, extra={**grant.extra, **extras})
        connector.context.credentials.store(grant)
        identity = connector.identify()
        connector.context.credentials.store(grant, identity)
    finally:
        connector.close()
    with db.write() as conn:
        record(
            conn,
            account_id=account_id,
            actor=pending.actor,
            action="affiliate.connect",
            detail={"affiliate_id": affiliate.id, "code": affiliate.code, "seller": identity.subject},
        )
        # What failed only because the affiliate was not connected goes again, now that it is.
        reprocess_integrations(
            conn,
            account_id=account_id,
            actor=pending.actor,
            filter=IntegrationFilter(statuses=("error",), affiliates=(affiliate.code,), categories=("auth_invalid",)),
            reason="affiliate connected",
        )
    return Connected(affiliate, identity)
