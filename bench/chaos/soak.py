"""The soak: steady catalog changes, orders and screen use; memory and latency must stay flat."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.chaos.check import Report
from bench.chaos.rig import PROFILE, SELLER, Rig, free_port, terminate
from bench.chaos.scenarios import _screen


@dataclass
class Samples:
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, KiB over all processes)
    latency: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, ms)
    screen_errors: int = 0


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def run_soak(rig: Rig, db: str, *, minutes: float) -> Report:
    """Steady catalog changes, orders and screen use for `minutes`: memory and latency flat, no errors logged."""
    rig.load(300)
    port = free_port()
    rig.spawn_web(port)
    token = rig.api_token()
    workers = [rig.spawn_worker(lease_seconds=30, http_timeout=5) for _ in range(2)]
    report, samples, stop = Report("soak", db), Samples(), threading.Event()
    pids = [p.pid for p in rig.processes]
    loops = [(_soak_changes, 5.0), (_soak_orders, 0.5), (_soak_screens, 4.0)]
    threads = [
        threading.Thread(target=f, args=(rig, stop, report, samples, port, token, r), daemon=True) for f, r in loops
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while (elapsed := time.monotonic() - started) < minutes * 60:
        samples.rss.append((elapsed, rss_kib(pids)))
        time.sleep(min(5.0, max(0.5, minutes * 60 / 40)))
    stop.set()
    for thread in threads:
        thread.join()
    if not rig.wait_drained(120):
        report.problems.append("the run did not drain")
    if any(terminate(workers)):
        report.problems.append("a worker did not stop cleanly on SIGTERM")
    report.problems += _soak_verdict(samples) + rig.log_errors()[:10]
    return rig.check(report)


def _soak_changes(rig: Rig, stop: threading.Event, report: Report, *_: Any) -> None:
    rng, rate = random.Random(3), _[-1]
    # Orders buy the first 20 SKUs at 899.00: their price must stay what the marketplace shows, or the engine
    # rightly calls each order a price divergence (an error). The changes are load here, not faults.
    others = rig.skus[20:]
    while not stop.wait(1 / rate):
        rig.change(rng, among=others)


def _soak_orders(rig: Rig, stop: threading.Event, report: Report, *_: Any) -> None:
    rng, rate = random.Random(5), _[-1]
    while not stop.wait(1 / rate):
        sku = rng.choice(rig.skus[:20])
        try:
            rig.sandbox.place_order(PROFILE, SELLER, [{"sku": sku, "quantity": 1, "price": 899.0}])
        except httpx.HTTPError as exc:
            report.problems.append(f"the buyer could not place an order: {exc}")


def _soak_screens(
    rig: Rig, stop: threading.Event, report: Report, samples: Samples, port: int, token: str, rate: float
) -> None:
    started = time.monotonic()
    while not stop.wait(1 / rate):
        t0 = time.perf_counter()
        status, _body = _screen(port, token)
        samples.latency.append((time.monotonic() - started, (time.perf_counter() - t0) * 1000))
        samples.screen_errors += status != 200


def _soak_verdict(samples: Samples) -> list[str]:
    """Memory flat (the last fifth within 25% + 20 MiB of the second fifth) and latency flat (median of the last
    fifth within twice the second fifth's + 25 ms)."""
    problems = []
    if samples.screen_errors:
        problems.append(f"{samples.screen_errors} screen requests failed")

    def fifth(values: list[tuple[float, float]], which: int) -> list[float]:
        if not values:
            return [0.0]
        end = values[-1][0]
        chosen = [v for t, v in values if which * end / 5 <= t <= (which + 1) * end / 5]
        return chosen or [values[-1][1]]

    rss = [(t, float(v)) for t, v in samples.rss]
    early, late = max(fifth(rss, 1)), max(fifth(rss, 4))
    if late > early * 1.25 + 20_480:
        problems.append(f"memory grew from {early / 1024:.0f} MiB to {late / 1024:.0f} MiB")
    first, last = _median(fifth(samples.latency, 1)), _median(fifth(samples.latency, 4))
    if last > first * 2 + 25:
        problems.append(f"screen latency grew from {first:.0f} ms to {last:.0f} ms (median)")
    print(
        f"SOAK rss_mib={early / 1024:.0f}->{late / 1024:.0f} p50_ms={first:.0f}->{last:.0f} screens={len(samples.latency)}"
    )
    return problems


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
