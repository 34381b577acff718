"""Affiliates: the store's connections to marketplaces and ERPs, with connector settings whose secrets
are encrypted at rest and never returned."""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors import capabilities
from ponte.connectors.base import CallFailed, Outcome
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked
from ponte.connectors.registry import InvalidConnectorSettings, get_connector_class, secret_fields
from ponte.domain.messages import problem_of, say
from ponte.engine.connectors import connector_for
from ponte.engine.worker import not_connected
from ponte.secrets import SecretBox, SecretsError
from ponte.services.errors import InputError, NotFound
from ponte.settings import Settings
from ponte.store import affiliates as store
from ponte.store.affiliates import Affiliate, account_affiliates, find_affiliate
from ponte.store.audit import record
from ponte.store.credentials import credentials_of
from ponte.store.db import Database

log = logging.getLogger("ponte.affiliates")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,15}$")
KINDS = ("marketplace", "erp")
DIVERGENCE_ACTIONS = ("approve", "deny", "hold")


def _split_settings(connector: str, values: dict[str, Any], old_secrets: dict[str, Any]) -> tuple[dict, dict]:
    """Validate connector settings; return (plain settings, secrets). A secret left empty keeps its old value."""
    try:
        cls = get_connector_class(connector)
    except LookupError as exc:
        raise InputError(str(exc), field="connector")
    secret_names = secret_fields(cls)
    merged = dict(values)
    for name in secret_names:
        if not merged.get(name) and old_secrets.get(name):
            merged[name] = old_secrets[name]
    try:
        model = cls.Settings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        said = say("msg.affiliate.setting_invalid", field=field, problem=problem_of(first))
        raise InputError(said, field=f"settings.{field}")
    dumped = model.model_dump(mode="json")
    secrets = {n: _revealed(getattr(model, n)) for n in secret_names if getattr(model, n, None) not in (None, {})}
    plain = {k: v for k, v in dumped.items() if k not in secret_names}
    return plain, secrets


def _revealed(value: Any) -> Any:
    """A secret setting's value as it is sealed: SecretStr as its text, a mapping of them (headers) as texts."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: _revealed(item) for key, item in value.items()}
    return value


def _check_capable(connector: str, kind: str) -> None:
    why = capabilities.problem(connector, kind)
    if why:
        raise InputError(why, field="kind")


def _check_common(code: str, kind: str, action: str, tolerance: float, min_availability: int | None) -> None:
    if not CODE.match(code):
        raise InputError(say("msg.affiliate.code_format"), field="code")
    if kind not in KINDS:
        raise InputError(say("msg.input.one_of", field="kind", choices=", ".join(KINDS)), field="kind")
    if action not in DIVERGENCE_ACTIONS:
        choices = ", ".join(DIVERGENCE_ACTIONS)
        said = say("msg.input.one_of", field="price_divergence_action", choices=choices)
        raise InputError(said, field="price_divergence_action")
    if not 0 <= tolerance <= 100:
        said = say("msg.input.between", field="price_tolerance_pct", low=0, high=100)
        raise InputError(said, field="price_tolerance_pct")
    if min_availability is not None and min_availability < 0:
        raise InputError(say("msg.input.negative", field="min_availability"), field="min_availability")


def create_affiliate(
    conn: Connection,
    *,
    box: SecretBox,
    account_id: int,
    code: str,
    name: str,
    connector: str,
    settings: dict[str, Any],
    kind: str = "marketplace",
    enabled: bool = True,
    min_availability: int | None = None,
    price_tolerance_pct: float = 0.0,
    price_divergence_action: str = "deny",
    actor: str = "system",
) -> int:
    """Register a connection; returns its id. Recorded in the audit log (never with secret values)."""
    code = code.strip().upper()
    _check_common(code, kind, price_divergence_action, price_tolerance_pct, min_availability)
    if not name.strip():
        raise InputError(say("msg.input.required", field="name"), field="name")
    if store.code_taken(conn, account_id=account_id, code=code):
        raise InputError(say("msg.affiliate.code_taken", code=code), field="code")
    plain, secrets = _split_settings(connector, settings, {})
    _check_capable(connector, kind)
    when = now()
    affiliate_id = store.insert_affiliate(
        conn,
        account_id=account_id,
        code=code,
        name=name.strip(),
        kind=kind,
        connector=connector,
        marketplace=get_connector_class(connector).marketplace_for(plain),
        settings=plain,
        secrets=box.seal(secrets) if secrets else None,
        enabled=enabled,
        min_availability=min_availability,
        price_tolerance_pct=price_tolerance_pct,
        price_divergence_action=price_divergence_action,
        at=when,
    )
    record(
        conn,
        account_id=account_id,
        actor=actor,
        action="affiliate.create",
        detail={"affiliate_id": affiliate_id, "code": code, "connector": connector},
    )
    return affiliate_id


def get_affiliate(conn: Connection, *, account_id: int, affiliate_id: int) -> Affiliate:
    found = find_affiliate(conn, account_id=account_id, affiliate_id=affiliate_id)
    if found is None:
        raise NotFound(say("msg.not_found.affiliate", id=affiliate_id))
    return found


def list_affiliates(conn: Connection, *, account_id: int, enabled_only: bool = False) -> list[Affiliate]:
    return account_affiliates(conn, account_id=account_id, enabled_only=enabled_only)


def update_affiliate(
    conn: Connection,
    *,
    box: SecretBox,
    account_id: int,
    affiliate_id: int,
    changes: dict[str, Any],
    actor: str = "system",
) -> None:
    """Change an affiliate. Settings are validated again; secrets not given keep their stored value, and
    secrets that are not connector settings (the marketplace webhook secret) are kept as they are."""
    row = get_affiliate(conn, account_id=account_id, affiliate_id=affiliate_id)
    allowed = {
        "name",
        "enabled",
        "settings",
        "min_availability",
        "price_tolerance_pct",
        "price_divergence_action",
        "kind",
    }
    unknown = set(changes) - allowed
    if unknown:
        said = say("msg.input.unchangeable", fields=", ".join(sorted(unknown)))
        raise InputError(said, field=sorted(unknown)[0])
    merged = {**asdict(row), **changes}
    _check_common(
        row.code,
        merged["kind"],
        merged["price_divergence_action"],
        float(merged["price_tolerance_pct"]),
        merged["min_availability"],
    )
    if "kind" in changes:
        _check_capable(row.connector, merged["kind"])
    values = {k: v for k, v in changes.items() if k != "settings"}
    if "settings" in changes:
        old_secrets = box.open(row.secrets)
        plain, secrets = _split_settings(row.connector, {**row.settings, **changes["settings"]}, old_secrets)
        values["settings"] = plain
        values["marketplace"] = get_connector_class(row.connector).marketplace_for(plain)
        kept = {**old_secrets, **secrets}
        values["secrets"] = box.seal(kept) if kept else None
    values["updated_at"] = now()
    store.update_affiliate(conn, affiliate_id=affiliate_id, values=values)
    # Which settings changed, never their values: a secret must not reach the audit log either.
    shown = {k: (sorted(v) if k == "settings" else v) for k, v in changes.items()}
    record(
        conn,
        account_id=account_id,
        actor=actor,
        action="affiliate.update",
        detail={"affiliate_id": affiliate_id, "code": row.code, "changes": shown},
    )


def public_settings(row: Affiliate) -> dict[str, Any]:
    """The settings as shown to people: plain values, and each secret only as set or not."""
    shown = dict(row.settings)
    try:
        names = secret_fields(get_connector_class(row.connector))
    except LookupError:
        names = set()
    for name in names:
        shown[name] = "••••••" if row.secrets else ""
    return shown


def check_connection(db: Database, *, box: SecretBox, settings: Settings, affiliate: Affiliate) -> Outcome:
    """Ask the affiliate's connector to check its settings and credentials, changing nothing. Whatever goes wrong
    (settings that no longer fit, a connector that cannot test, a marketplace that does not answer) is an error
    Outcome in words a person can act on, never an exception."""
    try:
        connector = connector_for(
            affiliate, db=db, box=box, settings=settings, timeout=min(settings.http_timeout, 10.0)
        )
    except LookupError:
        return Outcome.error(say("msg.connector.not_installed", connector=affiliate.connector))
    except InvalidConnectorSettings:  # stored settings the connector no longer accepts; the text may hold a secret
        return Outcome.error(say("msg.affiliate.settings_invalid"))
    try:
        return connector.test_connection()
    except NotImplementedError:
        return Outcome.error(say("msg.connector.cannot_test", connector=affiliate.connector))
    except (CredentialsMissing, CredentialsRevoked) as exc:
        return not_connected(exc, affiliate)
    except CallFailed as failed:
        return failed.outcome
    except Exception as exc:  # a connector bug is the test's answer, not a failed page
        log.warning("testing affiliate %s failed: %r", affiliate.code, exc)
        return Outcome.error(say("msg.connector.failed", error=type(exc).__name__))
    finally:
        connector.close()


def seal_plain_secrets(conn: Connection, *, box: SecretBox) -> int:
    """Move secret settings an older Ponte stored in plain text (a webhook's headers) into the sealed secrets.
    Run after migrating; returns how many affiliates changed. One whose secrets cannot be opened is left alone."""
    moved = 0
    for row in store.every_sealed_settings(conn):
        try:
            names = secret_fields(get_connector_class(row.connector))
            sealed = box.open(row.secrets)
        except (LookupError, SecretsError):
            continue
        plain = {name: value for name, value in (row.settings or {}).items() if name in names}
        if not plain:
            continue
        settings = {name: value for name, value in row.settings.items() if name not in names}
        kept = box.seal({**plain, **sealed})  # a value already sealed is the newer one
        store.update_affiliate(conn, affiliate_id=row.id, values={"settings": settings, "secrets": kept})
        moved += 1
    return moved


@dataclass(frozen=True)
class ConnectionState:
    """Whether an affiliate connected by authorisation is connected, as whom, or why not."""

    oauth: bool
    status: str  # not_needed | missing | active | revoked
    seller: str | None = None  # the seller's name and id on the marketplace
    problem: str | None = None


def connection_states(conn: Connection, rows: list[Affiliate]) -> dict[int, ConnectionState]:
    found = credentials_of(conn, [row.id for row in rows])
    states = {}
    for row in rows:
        try:
            oauth = get_connector_class(row.connector).oauth
        except LookupError:
            oauth = False
        creds = found.get(row.id)
        if not oauth:
            states[row.id] = ConnectionState(False, "not_needed")
        elif creds is None or not creds.sealed:
            states[row.id] = ConnectionState(True, "missing")
        else:
            name = (creds.identity or {}).get("name") or ""
            seller = f"{name} ({creds.subject})" if name else creds.subject
            states[row.id] = ConnectionState(True, creds.status, seller, creds.problem)
    return states
