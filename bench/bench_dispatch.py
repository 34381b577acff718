"""Dispatch: attempts per second from pending to done, worker processes against the sandbox over real HTTP.

The sandbox runs in a child process with its rate limit lifted, and is first measured alone: as many client
threads as the workers have send threads, the same product PUTs, for a few seconds. That is the baseline and
the ceiling; the workers (PostgreSQL: `Sizes.workers` processes; SQLite: one, it has one writer) then drain
`Sizes.dispatch` product integrations of a new affiliate. Target: ≥ 1,000 attempts/s.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.common import Context, allow_sandbox, bench_line, child_env, free_port, note, stop_process, wait_until
from bench.generate import sku_code
from ponte.connectors.http import HttpClient
from ponte.connectors.sandbox import product_body
from ponte.engine import payloads
from ponte.engine.queue import mark_changed
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.store.affiliates import affiliates_by_id
from ponte.store.tables import attempts, integrations

PROFILE, CLIENT, SECRET = "magalu", "bench-seller", "bench-secret"
CONCURRENCY = 8  # send threads per worker (PONTE_WORKER_CONCURRENCY)
BATCH = 100  # claims per step (PONTE_WORKER_BATCH)


def start_sandbox(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = f"from ponte.sandbox.server import serve; serve(port={port}, rate=1e9, burst=1e9)"
    log = open(folder / "sandbox.log", "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=log)
    log.close()
    url = f"http://127.0.0.1:{port}"
    allow_sandbox(url)
    wait_until(lambda: _up(url), 30, "the sandbox did not start")
    httpx.post(
        f"{url}/{PROFILE}/_admin/sellers", json={"client_id": CLIENT, "client_secret": SECRET}
    ).raise_for_status()
    return process, url


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_control/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _hammer(url: str, bodies: list[dict[str, Any]], threads: int, seconds: float) -> int:
    """Requests answered by the sandbox in `seconds`, from `threads` threads (run in a child process)."""
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def loop(n: int) -> None:
        # Ponte's own outbound client, so that the client's CPU bounds the baseline no more than the workers'.
        client = HttpClient(f"{url}/{PROFILE}", timeout=10)
        grant = {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET}
        token = client.request("POST", "/oauth/token", json=grant).body["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        i = n
        while time.monotonic() < deadline:
            body = bodies[i % len(bodies)]
            client.request("PUT", f"/items/{body['sku']}", json=body, headers=headers)
            counts[n] += 1
            i += threads
        client.close()

    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts)


def sandbox_alone(ctx: Context, url: str, senders: int, seconds: float) -> float:
    """Requests/s the sandbox answers alone, from two client processes (the client must not be the limit)."""
    codes = [sku_code(n) for n in range(min(200, ctx.data.skus))]
    with ctx.db.read() as conn:
        affiliate = next(iter(affiliates_by_id(conn, ctx.data.affiliates.values()).values()))
        catalog = payloads.Catalog(conn, [(ctx.data.account_id, affiliate.id, code) for code in codes])
        bodies = [product_body(catalog.product(affiliate, code)) for code in codes]
    with ProcessPoolExecutor(2) as pool:
        futures = [pool.submit(_hammer, url, bodies, max(1, senders // 2), seconds) for _ in range(2)]
        return sum(f.result() for f in futures) / seconds


def spawn_workers(ctx: Context, count: int) -> list[subprocess.Popen[bytes]]:
    env = child_env(
        ctx.settings, PONTE_WORKER_BATCH=str(BATCH), PONTE_WORKER_CONCURRENCY=str(CONCURRENCY),
        PONTE_ATTEMPT_RETENTION_DAYS="3650", PONTE_LEASE_SECONDS="60",
    )  # fmt: skip
    processes = []
    for n in range(count):
        log = open(ctx.folder / f"worker-{n}.log", "ab")  # noqa: SIM115 - the child owns it
        command = [sys.executable, "-c", "from ponte.cli import main; main()", "worker"]
        processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ctx.folder))
        log.close()
    return processes


def drain(ctx: Context, affiliate_id: int, count: int, timeout: float) -> tuple[float, int, dict[str, int]]:
    """Queue `count` product sends on the affiliate; (seconds until none is pending, attempts, statuses)."""
    keys = [(affiliate_id, sku_code(n)) for n in range(count)]
    with ctx.db.write() as conn:
        mark_changed(conn, account_id=ctx.data.account_id, flow="product", keys=keys)
    started = time.perf_counter()
    i = integrations.c
    mine = select(func.count()).select_from(integrations).where(i.affiliate_id == affiliate_id)
    wait_until(lambda: _count(ctx, mine.where(i.status == "pending")) == 0, timeout, "dispatch did not drain")
    seconds = time.perf_counter() - started
    ids = select(i.id).where(i.affiliate_id == affiliate_id)
    done = _count(ctx, select(func.count()).select_from(attempts).where(attempts.c.integration_id.in_(ids)))
    with ctx.db.read() as conn:
        query = select(i.status, func.count()).where(i.affiliate_id == affiliate_id).group_by(i.status)
        statuses = {r[0]: int(r[1]) for r in conn.execute(query)}
    return seconds, done, statuses


def _count(ctx: Context, query: Any) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(query).scalar_one())


def run(ctx: Context) -> list[str]:
    workers = ctx.sizes.workers if ctx.kind == "postgres" else 1
    sandbox, url = start_sandbox(ctx.folder)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        alone = sandbox_alone(ctx, url, workers * CONCURRENCY, 3 if ctx.quick else 8)
        note(f"sandbox alone: {alone:.0f} product PUTs/s with {workers * CONCURRENCY} client threads")
        box = SecretBox.from_environment(ctx.settings.secret_key_file)
        with ctx.db.write() as conn:
            affiliate_id = create_affiliate(
                conn, box=box, account_id=ctx.data.account_id, code="SBX", name="Sandbox", connector="sandbox",
                settings={"base_url": url, "profile": PROFILE, "client_id": CLIENT, "client_secret": SECRET},
            )  # fmt: skip
        processes = spawn_workers(ctx, workers)
        time.sleep(3)  # let them import and reach their idle loop
        seconds, done, statuses = drain(ctx, affiliate_id, ctx.sizes.dispatch, timeout=1800)
    finally:
        for process in processes:
            stop_process(process)
        stop_process(sandbox)
    rate = done / seconds
    note(f"{workers} worker(s) sent {done} attempts in {seconds:.1f} s: {rate:.0f}/s; final statuses {statuses}")
    return [
        bench_line(
            f"dispatch_{workers}w", ctx.kind, value=rate, unit="attempts/s", baseline=alone, target=">=1000/s",
            ok=rate >= 1000,
        )
    ]  # fmt: skip
