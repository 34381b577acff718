"""Who is asking: users with argon2 password hashes, API tokens stored hashed, and roles.

Every edge (web page, API route, CLI command) turns its caller into a Principal and passes
`principal.account_id` to the services: no query is ever made without an account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import Connection

from ponte.clock import now
from ponte.domain import Role
from ponte.store import accounts, users

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    account_id: int
    actor: str  # e-mail of a user, or "token:<name>"
    role: Role

    def can(self, needed: Role) -> bool:
        return self.role.allows(needed)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    # Tokens are long random strings, so a fast hash is enough; argon2 would slow every API call.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "pt_" + secrets.token_urlsafe(32)


def get_or_create_account(conn: Connection, *, slug: str, name: str | None = None) -> int:
    found = accounts.account_id(conn, slug=slug)
    if found is not None:
        return found
    return accounts.create_account(conn, slug=slug, name=name or slug, now=now())


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def create_user(conn: Connection, *, account_id: int, email: str, password: str, role: Role) -> int:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address")
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    if users.find_user(conn, email=email) is not None:
        raise UserError(f"a user with e-mail {email} already exists")
    return users.add_user(
        conn, account_id=account_id, email=email, password_hash=hash_password(password), role=role.value, now=now()
    )


def authenticate(conn: Connection, *, email: str, password: str) -> Principal | None:
    """The user with this e-mail and password, or None. An unknown e-mail costs the same argon2 verification as a
    wrong password, so that the time of the answer does not tell which e-mails have an account."""
    user = users.find_user(conn, email=email.strip().lower())
    if user is None:
        verify_password(_stand_in_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    return Principal(account_id=user.account_id, actor=user.email, role=Role(user.role))


def user_id(conn: Connection, *, email: str) -> int:
    """The id of the user with this e-mail (a principal's `actor`), who must exist."""
    user = users.find_user(conn, email=email)
    if user is None:
        raise LookupError(f"no user has the e-mail {email}")
    return user.id


_stand_ins: dict[int, str] = {}


def _stand_in_hash() -> str:
    """A hash made with the current hasher's cost (tests make it cheap), to verify against when no user exists."""
    key = id(_hasher)
    if key not in _stand_ins:
        _stand_ins[key] = _hasher.hash(secrets.token_urlsafe(16))
    return _stand_ins[key]
