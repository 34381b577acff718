"""Export of every integration of the seller (1,000,000 rows at full size) through the API, .xlsx and .csv.

Seconds until the client has the whole file, and the API server's peak memory (VmHWM, reset first). Baseline =
the fastest writer found (rustpy-xlsxwriter: `write_worksheet` / `write_csv`) writing the same rows, already in
memory, to a file. Targets: xlsx ≤ 1.5 × the baseline; peak ≤ 300 MB whatever the row count.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import rustpy_xlsxwriter as xlsx

from bench.common import Context, bench_line, note, peak_rss_mib, reset_peak_rss, stopwatch
from ponte.exports import _TEXT
from ponte.services.connections import iter_integrations
from ponte.store.filters import IntegrationFilter

MEMORY_LIMIT_MB = 300.0


def rows_in_memory(ctx: Context) -> list[tuple[Any, ...]]:
    """The export's rows (same columns and values) held in memory, for the baseline writer."""
    with ctx.db.read() as conn:
        return [
            (r.entity, f"{r.affiliate_code} · {r.affiliate_name}", r.flow, r.status,
             r.processed_at.replace(tzinfo=None) if r.processed_at else None, r.category or "", r.message or "",
             r.attempt_count)
            for r in iter_integrations(conn, account_id=ctx.data.account_id, filter=IntegrationFilter())
        ]  # fmt: skip


def baseline_seconds(rows: list[tuple[Any, ...]], fmt: str, folder: Path) -> float:
    columns = _TEXT["en"]["columns"]

    def records() -> Iterator[dict[str, Any]]:
        for row in rows:
            yield dict(zip(columns, row, strict=True))

    path = str(folder / f"baseline.{fmt}")
    if fmt == "xlsx":
        seconds, _ = stopwatch(lambda: xlsx.write_worksheet(records(), path, datetime_format="yyyy-mm-dd hh:mm:ss"))
    else:
        seconds, _ = stopwatch(lambda: xlsx.write_csv(records(), path))
    Path(path).unlink()
    return seconds


def through_api(ctx: Context, fmt: str) -> tuple[float, float, int]:
    """(seconds, server peak MiB, bytes) of one export download."""
    with ctx.api() as client:
        assert ctx.server is not None and ctx.server.process is not None
        pid = ctx.server.process.pid
        reset_peak_rss(pid)
        size = 0

        def download() -> None:
            nonlocal size
            with client.stream("GET", "/integrations/export", params={"format": fmt, "locale": "en"}) as answer:
                answer.raise_for_status()
                for chunk in answer.iter_bytes(1 << 20):
                    size += len(chunk)

        seconds, _ = stopwatch(download)
        return seconds, peak_rss_mib(pid), size


def run(ctx: Context) -> list[str]:
    rows = rows_in_memory(ctx)
    lines = []
    with tempfile.TemporaryDirectory(dir=ctx.folder) as folder:
        for fmt in ("xlsx", "csv"):
            base = baseline_seconds(rows, fmt, Path(folder))
            seconds, peak, size = through_api(ctx, fmt)
            note(f"{fmt}: {len(rows):,} rows, {size / 2**20:.0f} MiB in {seconds:.1f} s through the API "
                 f"(baseline writer {base:.1f} s); server peak {peak:.0f} MiB")  # fmt: skip
            limit = 1.5 if fmt == "xlsx" else 3.0
            lines.append(
                bench_line(
                    f"export_{fmt}", ctx.kind, value=seconds, unit="s", baseline=base, target=f"ratio<={limit}",
                    ok=seconds <= limit * base,
                )
            )  # fmt: skip
            lines.append(
                bench_line(
                    f"export_{fmt}_memory", ctx.kind, value=peak, unit="MiB", baseline=MEMORY_LIMIT_MB,
                    target="<=300MiB", ok=peak <= MEMORY_LIMIT_MB,
                )
            )  # fmt: skip
    del rows
    return lines
