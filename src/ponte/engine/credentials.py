"""The credential store every process shares: OAuth tokens per affiliate, in the database, sealed.

An access token is used until it is about to expire. Refresh tokens are single-use (Mercado Livre's, Bling's):
two processes refreshing at once would each spend the same one and one of them would lose the grant. So a
refresh runs under the credentials row's lock (a row lock on PostgreSQL, the write lock on SQLite), the new pair
is committed before anyone uses it, and a process that waited for the lock finds the pair the winner made and
uses it instead of refreshing again. A grant the marketplace refuses (revoked, expired) is marked revoked:
that affiliate's sends stop, without a call, until the seller connects it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from ponte.clock import now as clock_now
from ponte.connectors.base import Grant, GrantRefused, Identity
from ponte.connectors.context import CredentialsMissing, CredentialsRevoked, Refresh, grant_is_fresh
from ponte.secrets import SecretBox
from ponte.store.credentials import (
    REVOKED,
    CredentialRow,
    lock_credentials,
    read_credentials,
    revoke_credentials,
    save_grant,
)
from ponte.store.db import Database


def seal_grant(box: SecretBox, grant: Grant) -> str:
    return box.seal(
        {"access_token": grant.access_token, "refresh_token": grant.refresh_token, "extra": dict(grant.extra)}
    )


def open_grant(box: SecretBox, row: CredentialRow) -> Grant:
    values = box.open(row.sealed)
    return Grant(values.get("access_token", ""), values.get("refresh_token"), row.expires_at, values.get("extra") or {})


class StoredCredentials:
    """One affiliate's credentials in the database, as a connector sees them (ponte.connectors.context)."""

    def __init__(
        self, db: Database, box: SecretBox, affiliate_id: int, *, clock: Callable[[], datetime] = clock_now
    ) -> None:
        self.db = db
        self.box = box
        self.affiliate_id = affiliate_id
        self.clock = clock
        self._cached: Grant | None = None  # what this instance last read or made
        self._lock = threading.Lock()

    def access_token(self, refresh: Refresh) -> str:
        grant = self._cached
        if grant is not None and grant_is_fresh(grant, self.clock()):
            return grant.access_token
        grant = self._read()
        if grant_is_fresh(grant, self.clock()):
            return grant.access_token
        return self._refresh(refresh, stale=grant.access_token)

    def refused(self, token: str, refresh: Refresh) -> str:
        grant = self._read()
        if grant.access_token != token:  # another process already renewed it
            return grant.access_token
        return self._refresh(refresh, stale=token)

    def current(self) -> Grant | None:
        with self.db.read() as conn:
            row = read_credentials(conn, self.affiliate_id)
        return None if row is None or not row.sealed else open_grant(self.box, row)

    def store(self, grant: Grant, identity: Identity | None = None) -> None:
        with self.db.write() as conn:
            save_grant(
                conn,
                affiliate_id=self.affiliate_id,
                sealed=seal_grant(self.box, grant),
                expires_at=grant.expires_at,
                now=self.clock(),
                identity=None if identity is None else (identity.subject, {"name": identity.name, **identity.details}),
            )
        self._cached = grant

    def _read(self) -> Grant:
        with self.db.read() as conn:
            row = read_credentials(conn, self.affiliate_id)
        grant = self._usable(row)
        self._cached = grant
        return grant

    def _usable(self, row: CredentialRow | None) -> Grant:
        if row is None or not row.sealed:
            raise CredentialsMissing("this affiliate has not been connected yet")
        if row.status == REVOKED:
            raise CredentialsRevoked(row.problem or "the marketplace refused the authorisation")
        return open_grant(self.box, row)

    def _refresh(self, refresh: Refresh, *, stale: str) -> str:
        """Refresh under the row's lock, unless the token in the row is no longer `stale` (someone else did)."""
        with self._lock:  # this process's threads queue here rather than on the database lock
            refused: str | None = None
            with self.db.write() as conn:
                grant = self._usable(lock_credentials(conn, self.affiliate_id))
                if grant.access_token != stale and grant_is_fresh(grant, self.clock()):
                    self._cached = grant
                    return grant.access_token
                try:
                    new = refresh(grant)
                except GrantRefused as exc:
                    refused = str(exc) or "the marketplace refused the refresh token"
                    revoke_credentials(conn, affiliate_id=self.affiliate_id, problem=refused, now=self.clock())
                else:
                    save_grant(
                        conn,
                        affiliate_id=self.affiliate_id,
                        sealed=seal_grant(self.box, new),
                        expires_at=new.expires_at,
                        now=self.clock(),
                        refreshed=True,
                    )
            # Committed: the revocation is kept for every process, or the new pair is there before anyone uses it.
            if refused is not None:
                self._cached = None
                raise CredentialsRevoked(refused)
            self._cached = new
            return new.access_token
