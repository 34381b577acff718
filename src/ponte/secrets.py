"""Connector credentials encrypted at rest (Fernet), with a key from PONTE_SECRET_KEY or a key file.

The key file is created on first use in the data folder with owner-only permissions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SecretsError(RuntimeError):
    """The secret key is missing, unreadable, or does not open the stored secrets."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise SecretsError("the secret key is not a valid Fernet key (32 url-safe base64-encoded bytes)")

    @classmethod
    def from_environment(cls, key_file: Path) -> SecretBox:
        """The key from PONTE_SECRET_KEY, else from key_file, which is created (mode 600) if missing."""
        env_key = os.environ.get("PONTE_SECRET_KEY")
        if env_key:
            return cls(env_key.encode())
        if not key_file.exists():
            key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # O_EXCL: two processes starting at once never overwrite each other's key.
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
        try:
            return cls(key_file.read_bytes().strip())
        except OSError as exc:
            raise SecretsError(f"cannot read the secret key file {key_file}: {exc.strerror}")

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            return dict(json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken:
            raise SecretsError("stored connector secrets cannot be opened with this secret key")
