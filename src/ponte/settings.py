"""Every setting Ponte reads, from environment variables, parsed strictly.

Each setting is documented in docs/settings.md; tests/test_docs.py fails when one is not.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """A setting has a value Ponte cannot use; the message says which and why."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}")
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}")
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _schedule(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated seconds like '5,30,300', got {raw!r}")
    if not values or any(v < 0 for v in values):
        raise SettingsError(f"{name} must list zero or more non-negative delays, got {raw!r}")
    return values


def _timezone(name: str, default: str) -> str:
    raw = os.environ.get(name) or default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name} must be an IANA time zone like America/Sao_Paulo or UTC, got {raw!r}")
    return raw


def _url(name: str) -> str | None:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")) or " " in raw:
        raise SettingsError(f"{name} must be an http(s) URL like https://ponte.example.com, got {raw!r}")
    return raw.rstrip("/")


def _endpoints(name: str) -> tuple[tuple[str, int], ...]:
    """Exact address:port pairs, comma-separated: `127.0.0.1:8765, [::1]:8765, 10.0.0.5:443`. Addresses, not
    names: a name could resolve elsewhere tomorrow, and an allowance is for one machine the operator knows."""
    raw = os.environ.get(name) or ""
    found = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        host, colon, port = part.rpartition(":")
        try:
            address = ipaddress.ip_address(host[1:-1] if host.startswith("[") and host.endswith("]") else host)
            number = int(port) if colon else -1
        except ValueError:
            number, address = -1, None
        if address is None or not 1 <= number <= 65535 or (address.version == 6 and not host.startswith("[")):
            raise SettingsError(
                f"{name} must list address:port pairs like 127.0.0.1:8765 or [::1]:8765 (no names), got {part!r}"
            )
        found.append((str(address), number))
    return tuple(found)


# Delays before retry 1, 2, 3... of a transient error, in seconds. Modelled on public webhook
# schedules (Svix): quick first retries, then hours; ten tries as VTEX's connector guide asks.
DEFAULT_RETRY_SCHEDULE = (5.0, 30.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 18000.0, 36000.0)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key_file: Path
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    wait_delay: float = 1800.0
    lease_seconds: float = 60.0
    worker_batch: int = 50
    worker_concurrency: int = 8
    http_timeout: float = 10.0
    body_limit: int = 16_384
    request_limit: int = 5_000_000
    attempt_retention_days: int = 90
    metrics_token: str | None = None  # when set, /metrics wants `Authorization: Bearer <token>`
    timezone: str = "America/Sao_Paulo"  # how dates are shown in pages and exports
    public_url: str | None = None  # where marketplaces reach Ponte: OAuth callbacks and notifications
    # Internal addresses (loopback, private…) outbound calls may reach anyway: exact (address, port) pairs.
    outbound_allow: tuple[tuple[str, int], ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(data_dir: str | Path | None = None, database_url: str | None = None) -> Settings:
    """Read the settings from the environment; explicit arguments (from CLI flags) win."""
    folder = Path(data_dir or os.environ.get("PONTE_DATA_DIR") or "ponte-data").expanduser().resolve()
    url = database_url or os.environ.get("PONTE_DATABASE_URL") or f"sqlite:///{folder / 'ponte.db'}"
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise SettingsError(f"PONTE_DATABASE_URL must be a sqlite:/// or postgresql:// URL, got {url!r}")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    key_file = Path(os.environ.get("PONTE_SECRET_KEY_FILE") or folder / "secret.key")
    return Settings(
        data_dir=folder,
        database_url=url,
        secret_key_file=key_file,
        retry_schedule=_schedule("PONTE_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE),
        wait_delay=_float("PONTE_WAIT_DELAY", 1800.0),
        lease_seconds=_float("PONTE_LEASE_SECONDS", 60.0, minimum=1.0),
        worker_batch=_int("PONTE_WORKER_BATCH", 50, minimum=1),
        worker_concurrency=_int("PONTE_WORKER_CONCURRENCY", 8, minimum=1),
        http_timeout=_float("PONTE_HTTP_TIMEOUT", 10.0, minimum=0.1),
        body_limit=_int("PONTE_BODY_LIMIT", 16_384, minimum=256),
        request_limit=_int("PONTE_REQUEST_LIMIT", 5_000_000, minimum=1024),
        attempt_retention_days=_int("PONTE_ATTEMPT_RETENTION_DAYS", 90, minimum=1),
        timezone=_timezone("PONTE_TIMEZONE", "America/Sao_Paulo"),
        metrics_token=os.environ.get("PONTE_METRICS_TOKEN") or None,
        public_url=_url("PONTE_PUBLIC_URL"),
        outbound_allow=_endpoints("PONTE_OUTBOUND_ALLOW"),
    )
