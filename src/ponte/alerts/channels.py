"""Where alerts go: e-mail (SMTP, stdlib smtplib) and webhooks (Slack-compatible JSON).

A channel's secrets — the SMTP password, the webhook URL (a Slack URL is a credential) — are sealed with the
app's SecretBox like affiliate secrets, and never shown back. Senders are small classes behind one base.
"""

from __future__ import annotations

import re
import smtplib
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, ClassVar
from urllib.parse import urlsplit

from sqlalchemy import Connection

from ponte.clock import now
from ponte.connectors import outbound
from ponte.connectors.http import HttpClient
from ponte.domain.messages import Message as Said
from ponte.domain.messages import say
from ponte.i18n import LOCALES, english
from ponte.secrets import SecretBox
from ponte.services.errors import InputError, NotFound
from ponte.store.alerts import (
    Channel,
    Outgoing,
    account_channels,
    change_channel,
    delete_channel_row,
    find_channel,
    insert_channel,
)

KINDS = ("email", "webhook")
# An address as a header can carry it: no spaces, line breaks, commas or angle brackets (a header smuggled in).
_ADDRESS = re.compile(r"[^\s@,;<>\"()]{1,64}@[^\s@,;<>\"()]{1,255}")
_HOST = re.compile(r"[A-Za-z0-9.:\[\]_-]{1,253}")
TIMEOUT = 10.0


class DeliveryError(Exception):
    """The channel did not take the message; `said` says why in Ponte's words (never a secret), the text in
    English."""

    def __init__(self, said: Said) -> None:
        super().__init__(english(said))
        self.said = said


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


class Sender:
    kind: ClassVar[str]

    def __init__(self, settings: dict[str, Any], secrets: dict[str, Any], timeout: float = TIMEOUT) -> None:
        self.settings, self.secrets, self.timeout = settings, secrets, timeout

    def send(self, message: Message) -> None:
        raise NotImplementedError


class CheckedSMTP(smtplib.SMTP):
    """smtplib's client, connecting only to an address the outbound policy allows (connectors/outbound.py)."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return outbound.checked_connection(host, port, timeout)


class EmailSender(Sender):
    kind = "email"

    def send(self, message: Message) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = s.get("from_addr") or "ponte@localhost"
        mail["To"] = ", ".join(s.get("to") or [])
        mail.set_content(message.body)
        try:
            with CheckedSMTP(s["host"], int(s.get("port") or 25), timeout=self.timeout) as smtp:
                if s.get("starttls"):
                    smtp.starttls()
                if s.get("username"):
                    smtp.login(s["username"], self.secrets.get("password") or "")
                smtp.send_message(mail)
        except outbound.OutboundRefused as exc:
            raise DeliveryError(say("msg.alert.refused", reason=str(exc)))
        except (OSError, smtplib.SMTPException) as exc:
            # The server's own words are kept short: the host is an address a store gave.
            error = f"{exc.__class__.__name__}: {exc}"[:160]
            raise DeliveryError(say("msg.alert.smtp_failed", host=s.get("host"), port=s.get("port"), error=error))


class WebhookSender(Sender):
    kind = "webhook"

    def send(self, message: Message) -> None:
        url = self.secrets.get("url") or ""
        # httpx would add a trailing slash to a base URL used alone: split it into origin and path.
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        client = HttpClient(
            f"{parts.scheme}://{parts.netloc}",
            timeout=self.timeout,
            body_limit=2048,
            secrets=[url],
            error_body_limit=200,
        )
        payload = {
            "text": f"{message.subject}\n{message.body}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": message.body[:2900]}},
            ],
        }
        try:
            result = client.request("POST", path, json=payload)
        finally:
            client.close()
        if not result.ok:
            raise DeliveryError(say("msg.alert.webhook_answered", answer=str(result.status or result.error)[:300]))


SENDERS: dict[str, type[Sender]] = {cls.kind: cls for cls in (EmailSender, WebhookSender)}


def sender_for(row: Channel | Outgoing, box: SecretBox) -> Sender:
    return SENDERS[row.kind](dict(row.settings), box.open(row.secrets))


# -- the account's channels --------------------------------------------------------------------------


def _split(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain settings, secrets) of a channel, checked."""
    if kind == "email":
        to = values.get("to") or []
        if isinstance(to, str):
            to = [t.strip() for t in to.replace(";", ",").split(",") if t.strip()]
        if not values.get("host"):
            raise InputError(say("msg.channel.host_required"), field="host")
        if not _HOST.fullmatch(str(values["host"])):
            raise InputError(say("msg.channel.host_invalid"), field="host")
        if not isinstance(to, list) or not to or not all(isinstance(t, str) and _ADDRESS.fullmatch(t) for t in to):
            raise InputError(say("msg.channel.recipients"), field="to")
        if values.get("from_addr") and not _ADDRESS.fullmatch(str(values["from_addr"])):
            raise InputError(say("msg.channel.sender"), field="from_addr")
        if any(c in str(values.get("username") or "") for c in "\r\n\x00"):
            raise InputError(say("msg.channel.username_line_break"), field="username")
        try:
            port = int(values.get("port") or 25)
        except (TypeError, ValueError):
            raise InputError(say("msg.channel.port"), field="port")
        if not 1 <= port <= 65535:
            raise InputError(say("msg.channel.port"), field="port")
        plain = {
            "host": str(values["host"]),
            "port": port,
            "from_addr": str(values.get("from_addr") or "ponte@localhost"),
            "to": to,
            "starttls": bool(values.get("starttls")),
            "username": str(values.get("username") or "") or None,
        }
        return plain, {"password": values["password"]} if values.get("password") else {}
    if kind == "webhook":
        url = str(values.get("url") or "")
        if url and not url.startswith(("http://", "https://")):
            raise InputError(say("msg.channel.webhook_scheme"), field="url")
        return {}, {"url": url} if url else {}
    raise InputError(say("msg.input.one_of", field="kind", choices=", ".join(KINDS)), field="kind")


def list_channels(conn: Connection, *, account_id: int) -> list[Channel]:
    return account_channels(conn, account_id=account_id)


def get_channel(conn: Connection, *, account_id: int, channel_id: int) -> Channel:
    row = find_channel(conn, account_id=account_id, channel_id=channel_id)
    if row is None:
        raise NotFound(say("msg.not_found.alert_channel", id=channel_id))
    return row


def create_channel(
    conn: Connection,
    *,
    box: SecretBox,
    account_id: int,
    kind: str,
    name: str,
    values: dict[str, Any],
    locale: str = "pt-BR",
    enabled: bool = True,
) -> int:
    plain, secret = _split(kind, values)
    if kind == "webhook" and not secret:
        raise InputError(say("msg.channel.webhook_required"), field="url")
    if locale not in LOCALES:
        raise InputError(say("msg.input.one_of", field="locale", choices=", ".join(LOCALES)), field="locale")
    if not name.strip():
        raise InputError(say("msg.channel.name_required"), field="name")
    row = {
        "account_id": account_id,
        "kind": kind,
        "name": name.strip()[:100],
        "settings": plain,
        "secrets": box.seal(secret) if secret else None,
        "locale": locale,
        "enabled": enabled,
        "created_at": now(),
    }
    return insert_channel(conn, row)


def update_channel(
    conn: Connection, *, box: SecretBox, account_id: int, channel_id: int, changes: dict[str, Any]
) -> None:
    """Change a channel; a secret left out or empty keeps its stored value."""
    row = get_channel(conn, account_id=account_id, channel_id=channel_id)
    values: dict[str, Any] = {}
    if {"host", "port", "from_addr", "to", "starttls", "username", "password", "url"} & changes.keys():
        merged = {**row.settings, **{k: v for k, v in changes.items() if v is not None}}
        plain, secret = _split(row.kind, merged)
        values["settings"] = plain
        if secret:
            values["secrets"] = box.seal({**box.open(row.secrets), **secret})
    for name in ("name", "locale", "enabled"):
        if changes.get(name) is not None:
            values[name] = changes[name]
    if values.get("locale") and values["locale"] not in LOCALES:
        raise InputError(say("msg.input.one_of", field="locale", choices=", ".join(LOCALES)), field="locale")
    if values:
        change_channel(conn, channel_id=row.id, values=values)


def delete_channel(conn: Connection, *, account_id: int, channel_id: int) -> None:
    row = get_channel(conn, account_id=account_id, channel_id=channel_id)
    delete_channel_row(conn, channel_id=row.id)


def public(row: Channel) -> dict[str, Any]:
    """A channel as it may be shown: settings, and only whether each secret is set."""
    shown = dict(row.settings)
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "locale": row.locale,
        "enabled": row.enabled,
        "settings": shown,
        "secret_set": bool(row.secrets),
        "created_at": row.created_at,
    }
