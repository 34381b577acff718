"""The scenarios: workers SIGKILLed mid-attempt, each marketplace fault, many workers on one queue, and
PostgreSQL stopped and started under the workers and the web server."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import func, select, text

from bench.chaos.check import Report
from bench.chaos.rig import (
    PG_URL,
    PROFILE,
    SECRET,
    SELLER,
    Rig,
    free_port,
    largest_response,
    owners_holding_leases,
    sandbox_faults,
    terminate,
    wait_for,
)
from ponte.settings import load_settings
from ponte.store.db import Database
from ponte.store.tables import attempts


def run_kill(
    rig: Rig, db: str, *, skus: int, kills: int = 10, workers: int = 3, timeout: float = 300, seed: int = 7
) -> Report:
    """`kills` times, a worker is SIGKILLed mid-attempt (while it holds leases, the marketplace slow) and replaced;
    then the run drains and is checked."""
    rng = random.Random(seed)
    rig.load(skus)
    rig.sandbox.control("faults", slow_ms=150)
    alive = [rig.spawn_worker() for _ in range(workers)]
    done, deadline = 0, time.monotonic() + timeout
    while done < kills and rig.due() and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.2, 1.0))
        busy = owners_holding_leases(rig)
        victims = [n for n, p in enumerate(alive) if p.pid in busy]
        if victims:
            victim = rng.choice(victims)
            alive[victim].kill()
            alive[victim].wait()
            done += 1
            alive[victim] = rig.spawn_worker()
    report = Report("kill", db, faults=done)
    if not rig.wait_drained(timeout):
        report.problems.append("the run did not drain in time")
    rig.sandbox.control("faults", slow_ms=0)
    codes = terminate(alive)
    if any(codes):
        report.problems.append(f"workers stopped by SIGTERM exited with {codes}")
    return rig.check(report)


FAULTS: dict[str, dict[str, Any]] = {
    "5xx": {"faults": {"error_rate": 1.0, "status": 503}, "category": "marketplace_unavailable"},
    "429": {"config": {"rate": 20, "burst": 5}, "category": "rate_limited"},
    "timeout": {"faults": {"slow_ms": 1500}, "category": "marketplace_unavailable"},
    "drop": {"faults": {"drop_rate": 1.0}, "category": "marketplace_unavailable"},
    "malformed": {"faults": {"malformed_rate": 1.0}, "category": "marketplace_unavailable"},
    "huge": {"faults": {"huge_rate": 1.0}, "category": "marketplace_unavailable"},
    "token": {"faults": {"expire_tokens": True}, "category": None},
}


def fault_worker(rig: Rig, *, http_timeout: float = 5.0) -> Any:
    """A worker in this process that retries at once. The timeout is short only where the fault is slowness:
    elsewhere a busy machine (CI, tests in parallel) answering in over half a second read as a marketplace
    fault that was not there."""
    import dataclasses

    from ponte.engine.worker import Worker

    settings = dataclasses.replace(
        rig.settings, retry_schedule=(0.0,) * 8, http_timeout=http_timeout, worker_batch=200, lease_seconds=30
    )
    return Worker(rig.db, settings, owner=f"chaos-{os.getpid()}", box=rig.box)


def drain_in_process(rig: Rig, worker: Any, timeout: float) -> bool:
    """Run the worker's step until nothing is due (sleeping through Retry-After pauses)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.run_once() and not rig.pending():
            return True
        time.sleep(0.05)
    return False


def run_fault(rig: Rig, db: str, kind: str, *, skus: int = 10, rounds: int = 2) -> Report:
    """One fault kind switched on for `rounds` worker steps, then off: every error is transient and of its
    category, responses are stored bounded, and everything ends a success once the marketplace behaves."""
    spec = FAULTS[kind]
    worker = fault_worker(rig, http_timeout=0.5 if kind == "timeout" else 5.0)
    rig.load(skus)
    rig.sandbox.control("reset")
    rig.sandbox.register_seller(PROFILE, SELLER, SECRET)
    report, expired = Report(f"faults-{kind}", db), 0
    try:
        if kind == "token":
            worker.run_once()  # tokens issued; the next calls find them revoked mid-run
            rig.load(skus)
        if "config" in spec:
            rig.sandbox.control("config", **spec["config"])
        if "faults" in spec:
            expired = rig.sandbox.control("faults", **spec["faults"])["expired_tokens"]
        for _ in range(rounds):
            worker.run_once()
        report.faults = sandbox_faults(rig.sandbox) + _errors_of(rig, "timeout") + expired
        rig.sandbox.control("faults", error_rate=0, slow_ms=0, drop_rate=0, malformed_rate=0, huge_rate=0)
        if not drain_in_process(rig, worker, 60):
            report.problems.append("the run did not drain in time")
    finally:
        worker.close()
    _check_classified(rig, report, spec["category"])
    return rig.check(report)


def _errors_of(rig: Rig, message: str) -> int:
    with rig.db.read() as conn:
        return int(conn.execute(select(func.count()).where(attempts.c.message == message)).scalar_one())


def _check_classified(rig: Rig, report: Report, category: str | None) -> None:
    with rig.db.read() as conn:
        failed = conn.execute(select(attempts.c.category, attempts.c.disposition).where(attempts.c.status == "error"))
        kinds = {(r.category, r.disposition) for r in failed}
    expected = set() if category is None else {(category, "transient")}
    if kinds - expected:
        report.problems.append(f"errors classified as {sorted(kinds - expected)}, expected {sorted(expected)}")
    if category is not None and not kinds:
        report.problems.append("the fault was never seen by the worker")
    limit = rig.settings.body_limit + 100
    if (largest := largest_response(rig.db)) > limit:
        report.problems.append(f"a stored response has {largest} characters, over {limit}")


def run_concurrency(
    rig: Rig, db: str, *, skus: int, workers: int = 4, busy: float = 20, timeout: float = 900
) -> Report:
    """`workers` workers on one queue while catalog changes and reprocess clicks (double clicks) arrive."""
    rig.load(skus)
    procs = [rig.spawn_worker(worker_batch=100, lease_seconds=30, http_timeout=5) for _ in range(workers)]
    report = Report("concurrency", db)
    stop = threading.Event()
    changer = threading.Thread(target=_keep_changing, args=(rig, stop, report), daemon=True)
    changer.start()
    time.sleep(busy)
    stop.set()
    changer.join()
    if not rig.wait_drained(timeout):
        report.problems.append("the run did not drain in time")
    if any(terminate(procs)):
        report.problems.append("a worker did not stop cleanly on SIGTERM")
    return rig.check(report)


def _keep_changing(rig: Rig, stop: threading.Event, report: Report, rate: float = 40.0) -> None:
    """Catalog changes at `rate` a second, and every second a reprocess clicked twice over a slice of SKUs."""
    from ponte.engine.queue import reprocess_integrations
    from ponte.store.filters import IntegrationFilter

    rng = random.Random(11)
    last_click = time.monotonic()
    while not stop.is_set():
        rig.change(rng)
        report.faults += 1  # here: changes made while the workers ran
        if time.monotonic() - last_click >= 1.0:
            last_click = time.monotonic()
            prefix = rng.choice(rig.skus)[:-2]
            filt = IntegrationFilter(statuses=("success", "warning", "error"), entity_prefix=prefix)
            for _ in range(2):
                with rig.db.write() as conn:
                    reprocess_integrations(conn, account_id=rig.account, actor="chaos", filter=filt)
        stop.wait(1 / rate)


@contextlib.contextmanager
def postgres_stopped() -> Iterator[None]:
    """Stop the real PostgreSQL cluster; always start it again, even when the body fails."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    subprocess.run([*command, "stop", "-m", "fast"], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run([*command, "start"], check=True, capture_output=True)
        wait_for(_postgres_answers, 60, "PostgreSQL did not come back")


def _postgres_answers() -> bool:
    try:
        db = Database(load_settings("/tmp", PG_URL))
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
        db.dispose()
        return True
    except Exception:
        return False


def run_dbrestart(rig: Rig, db: str, *, skus: int, down: float = 6.0, timeout: float = 300) -> Report:
    """PostgreSQL stopped and started under two workers and the web server: they reconnect by themselves,
    nothing is lost, and meanwhile the API answers 503 "temporarily unavailable"."""
    rig.load(skus)
    rig.sandbox.control("faults", slow_ms=50)
    port = free_port()
    rig.spawn_web(port)
    token = rig.api_token()
    workers = [rig.spawn_worker() for _ in range(2)]
    wait_for(lambda: _attempt_count(rig) > 0, 60, "the workers did not start working")
    report = Report("dbrestart", db, faults=1)
    answers: list[tuple[int, str]] = []
    with postgres_stopped():
        until = time.monotonic() + down
        while time.monotonic() < until:
            answers.append(_screen(port, token))
            time.sleep(0.5)
    if not any(status == 503 and "temporarily unavailable" in body for status, body in answers):
        report.problems.append(f"no clear 503 while the database was down: {answers[:3]}")
    with contextlib.suppress(RuntimeError):
        wait_for(lambda: _screen(port, token)[0] == 200, 30, "")
    if _screen(port, token)[0] != 200:
        report.problems.append("the web server did not reconnect by itself")
    if not rig.wait_drained(timeout):
        report.problems.append("the run did not drain after the restart")
    rig.sandbox.control("faults", slow_ms=0)
    if any(terminate(workers)):
        report.problems.append("a worker did not survive the restart or stop cleanly")
    return rig.check(report)


def _attempt_count(rig: Rig) -> int:
    with rig.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(attempts)).scalar_one())


def _screen(port: int, token: str) -> tuple[int, str]:
    """One look at the Connections list through the API: (status, body)."""
    try:
        answer = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/integrations",
            params={"status": "error", "limit": 50},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        return answer.status_code, answer.text
    except httpx.HTTPError as exc:
        return 0, str(exc)
