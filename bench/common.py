"""What every benchmark shares: sizes, the databases, timing, the BENCH line, and an API server to talk to.

Every figure is printed next to a baseline measured in the same run on the same data, so that a slow or busy
machine moves both and their ratio stays put. Servers bind 127.0.0.1 on free ports and are always stopped.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, text

from ponte.connectors import outbound
from ponte.settings import Settings, load_settings
from ponte.store.db import Database
from ponte.store.migrate import migrate

PG_URL = os.environ.get("PONTE_BENCH_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
PG_SCHEMA = f"ponte_bench_{os.getpid()}"  # its own schema: two runs on one server never meet
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sizes:
    """How big a run is. `quick` finishes in minutes on two cores; the full run is the issue's scale."""

    skus: int  # SKUs in the catalog; integrations = skus × affiliates × SKU flows + order integrations
    attempts: int  # attempts in the log once the data has grown
    ingest: int  # attempts posted to the API by the ingest benchmark
    dispatch: int  # integrations the workers send to the sandbox
    workers: int  # worker processes for dispatch
    requests: int  # HTTP requests per latency figure
    affiliates: int = 5

    @property
    def integrations(self) -> int:
        return integrations_for(self.skus, self.affiliates)


def integrations_for(skus: int, affiliates: int) -> int:
    """Three SKU flows per SKU and affiliate, plus an order and a tracking integration per 4 SKUs."""
    return skus * affiliates * 3 + 2 * (skus // 4)


QUICK = Sizes(skus=4_000, attempts=620_000, ingest=20_000, dispatch=3_000, workers=2, requests=200)
FULL = Sizes(skus=64_520, attempts=10_000_000, ingest=200_000, dispatch=20_000, workers=2, requests=500)
TINY = Sizes(skus=40, attempts=3_000, ingest=200, dispatch=30, workers=1, requests=10, affiliates=5)


# -- the BENCH line -----------------------------------------------------------------------------------------


def bench_line(
    name: str, db: str, *, value: float, unit: str, baseline: float, target: str, ok: bool, ratio: float | None = None
) -> str:
    """`BENCH <name> <db> value=<v> unit=<u> baseline=<b> ratio=<r> target=<t> ok|MISS`; ratio = value/baseline."""
    if ratio is None:
        ratio = value / baseline if baseline else float("inf")
    line = (
        f"BENCH {name} {db} value={_num(value)} unit={unit} baseline={_num(baseline)} ratio={ratio:.3f} "
        f"target={target} {'ok' if ok else 'MISS'}"
    )
    print(line, flush=True)
    return line


def _num(value: float) -> str:
    if value >= 1000:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def note(message: str) -> None:
    print(f"  · {message}", flush=True)


# -- timing -------------------------------------------------------------------------------------------------


@dataclass
class Latencies:
    """Wall-clock samples in milliseconds."""

    samples: list[float] = field(default_factory=list)

    def time(self, function: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = function()
        self.samples.append((time.perf_counter() - started) * 1000)
        return result

    @property
    def p50(self) -> float:
        return statistics.median(self.samples) if self.samples else 0.0

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)


def percentile(samples: list[float], pct: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def stopwatch(function: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def peak_rss_mib(pid: int) -> float:
    """A process's peak resident memory (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM afresh (Linux: writing 5 to clear_refs), so one benchmark's peak is not an earlier one's."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


# -- databases ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def bench_database(kind: str, folder: Path) -> Iterator[Settings]:
    """A migrated, empty database: a SQLite file in `folder`, or the `ponte_bench` schema (dropped afterwards)."""
    with scratch_database(kind, folder, sqlite_dir=folder / "sqlite", pg_url=PG_URL, schema=PG_SCHEMA) as settings:
        yield settings


@contextlib.contextmanager
def scratch_database(kind: str, folder: Path, *, sqlite_dir: Path, pg_url: str, schema: str) -> Iterator[Settings]:
    """A migrated, empty database for one run — a SQLite file in `sqlite_dir`, or PostgreSQL schema `schema`
    (made afresh and dropped afterwards) — with its secret key in `folder`. Benchmarks and chaos runs share it."""
    os.environ["PONTE_SECRET_KEY_FILE"] = str(folder / "secret.key")
    if kind == "sqlite":
        settings = load_settings(sqlite_dir)
        _migrate(settings)
        yield settings
        return
    admin = Database(load_settings(folder, pg_url))
    with admin.write() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    settings = load_settings(folder, f"{pg_url}{sep}options=-csearch_path%3D{schema}")
    try:
        _migrate(settings)
        yield settings
    finally:
        with admin.write() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _migrate(settings: Settings) -> None:
    db = Database(settings)
    migrate(db)
    db.dispose()


def raw_sql(db: Database) -> Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A bare DBAPI query function on one held connection: the baseline for what the API does."""
    raw = db.engine.raw_connection()
    driver = raw.driver_connection
    paramstyle = "%s" if db.dialect == "postgresql" else "?"

    def query(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        cursor = driver.cursor()  # type: ignore[union-attr]
        cursor.execute(sql.replace("?", paramstyle), params)
        rows = list(cursor.fetchall())
        cursor.close()
        if db.dialect == "postgresql":
            driver.rollback()  # type: ignore[union-attr]
        return rows

    return query


# -- servers ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def allow_sandbox(url: str) -> None:
    """Let this process and the workers it starts call the bench's own sandbox, as an operator would allow it:
    its address and port in PONTE_OUTBOUND_ALLOW (children inherit it), given to the outbound policy here."""
    parts = urlsplit(url)
    listed = [p for p in os.environ.get("PONTE_OUTBOUND_ALLOW", "").split(",") if p]
    os.environ["PONTE_OUTBOUND_ALLOW"] = ",".join([*listed, f"{parts.hostname}:{parts.port}"])
    outbound.allow(load_settings().outbound_allow)


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    values = {
        "PONTE_DATA_DIR": str(settings.data_dir),
        "PONTE_DATABASE_URL": settings.database_url,
        "PONTE_SECRET_KEY_FILE": str(settings.secret_key_file),
        **extra,
    }
    return {**os.environ, **values}


class ApiServer:
    """Ponte's web app under uvicorn in a child process on a free 127.0.0.1 port."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings, self.log_dir = settings, log_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        code = (
            "import uvicorn; from ponte.app import create_app; from ponte.settings import load_settings; "
            f"uvicorn.run(create_app(load_settings()), host='127.0.0.1', port={self.port}, log_level='warning')"
        )
        log = open(self.log_dir / f"api-{self.port}.log", "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], env=child_env(self.settings), stdout=log, stderr=log
        )
        log.close()
        wait_until(lambda: answers(f"{self.url}/healthz"), 60, "the API server did not start")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def worker_process(settings: Settings, folder: Path, name: str, **env: str) -> subprocess.Popen[bytes]:
    """`ponte worker` in a child process on the bench's database, its output in `folder/<name>.log`."""
    log = open(folder / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
    command = [sys.executable, "-c", "from ponte.cli import main; main()", "worker"]
    try:
        return subprocess.Popen(command, env=child_env(settings, **env), stdout=log, stderr=log, cwd=folder)
    finally:
        log.close()


def worker_running(db: Database) -> bool:
    """A worker's loop has begun (the first thing it does is to evaluate the alerts, once per minute)."""
    from ponte.store.tables import job_runs

    with db.read() as conn:
        return conn.execute(select(job_runs.c.name).where(job_runs.c.name == "alerts")).first() is not None


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> int:
    """SIGTERM, then SIGKILL after `grace` seconds; returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, failure: str, *, every: float = 0.05) -> None:
    """Wait for `condition`, asking it every `every` seconds (a costly check takes the GIL from what is measured:
    ask it seldom, and read when things happened from the timestamps the emulation keeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise RuntimeError(failure)


def scratch_folder() -> tempfile.TemporaryDirectory[str]:
    """Where a run keeps its SQLite file and logs; PONTE_BENCH_DIR picks a disk with room for the full sizes."""
    base = os.environ.get("PONTE_BENCH_DIR")
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="ponte-bench-", dir=base)


# -- a run's shared state -----------------------------------------------------------------------------------


@dataclass
class Context:
    """One database's run: the generated data, and an API server started on first use and reused."""

    kind: str  # "sqlite" | "postgres"
    settings: Settings
    db: Database
    data: Any  # bench.generate.Dataset
    sizes: Sizes
    folder: Path
    quick: bool
    server: ApiServer | None = None
    token: str = ""

    def api(self) -> httpx.Client:
        """An HTTP client (keep-alive) on the running API server, with an operator's token."""
        if self.server is None:
            from bench.generate import api_token

            self.token = api_token(self.db, self.data)
            self.server = ApiServer(self.settings, self.folder).start()
        return httpx.Client(
            base_url=f"{self.server.url}/api/v1", headers={"Authorization": f"Bearer {self.token}"}, timeout=600
        )

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def post_batches(
    ctx: Context,
    path: str,
    work: list[list[dict[str, Any]]],
    *,
    clients: int,
    counted: str,
    wrap: Callable[[list[dict[str, Any]]], Any] = lambda batch: batch,
    headers: Callable[[], dict[str, str]] = dict,
) -> float:
    """Items per second that `clients` concurrent API clients get through POSTing `work`'s batches to `path`
    (after one small warm-up batch). `wrap` makes a batch's body, `headers` each request's headers, and
    `counted` names the answer's field that says how many items it took; all must be taken."""

    def post(part: list[list[dict[str, Any]]]) -> int:
        taken = 0
        with ctx.api() as client:
            for batch in part:
                answer = client.post(path, json=wrap(batch), headers=headers())
                answer.raise_for_status()
                taken += answer.json()[counted]
        return taken

    with ctx.api() as client:  # warm up: start the server, one small batch
        client.post(path, json=wrap(work[0][:10]), headers=headers()).raise_for_status()
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        taken = sum(pool.map(post, [work[i::clients] for i in range(clients)]))
    seconds = time.perf_counter() - started
    sent = sum(len(batch) for batch in work)
    if taken != sent:
        raise RuntimeError(f"{path}: only {taken} of {sent} items were taken")
    return taken / seconds
