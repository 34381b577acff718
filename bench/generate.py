"""A big seller's history, written straight to the tables: SKUs × affiliates × flows, attempts, messages, bodies.

    .venv/bin/python -m bench.generate --skus 1000 --attempts 100000 --db sqlite   # generate, check, print counts

PostgreSQL loads with COPY (triggers and foreign-key checks off for the session, status counters rebuilt from
the rows afterwards); SQLite with batched executemany (its row triggers keep the counters). Secondary indexes
of integrations and attempts are dropped during the load and rebuilt after, as a restore would do.

Messages are the knowledge examples and the marketplaces' wordings of bench_classify, filled with ids, each
classified once by the real classifier, so the causes view groups them as the product does.
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, text

from bench.bench_classify import messages as message_mix
from ponte.auth import get_or_create_account
from ponte.clock import now
from ponte.domain import Role
from ponte.knowledge import classify, normalise_message
from ponte.knowledge.wordsearch import search_text
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.services.tokens import create_token
from ponte.store.counters import fold_status_deltas, read_cause_counts, read_status_counts
from ponte.store.db import Database
from ponte.store.partitions import create_month_partitions
from ponte.store.tables import attempts, integrations

SKU_FLOWS = ("product", "price", "inventory")
MARKETPLACES = (("MLB", "Mercado Livre", "magalu"), ("MGL", "Magalu", "magalu"), ("AMZ", "Amazon", "magalu"))
MARKETPLACES += (("VIA", "Via Varejo", "magalu"), ("SHP", "Shopee", "magalu"), ("CRF", "Carrefour", "magalu"))
HISTORY_DAYS = 80  # attempts spread over the last 80 days: three monthly partitions and a bit
CHUNK = 20_000  # integrations per load step (their attempts go with them)
# Current status of an integration: most succeed, a quarter fail (a big seller with catalog problems).
STATUS_MIX = (("success", 0.64), ("error", 0.25), ("warning", 0.04), ("pending", 0.07))
WARNINGS = {
    "inventory": "Estoque enviado abaixo da disponibilidade mínima configurada ({n} unidades)",
    "price": "Preço aceito com aviso: desconto acima de {n}% em relação ao preço de lista",
    "tracking": "Rastreio aceito; a transportadora ainda não confirmou o código",
}
SUCCESS = {
    "product": "Anúncio atualizado",
    "price": "Preço atualizado",
    "inventory": "Estoque atualizado",
    "order": "Pedido integrado",
    "tracking": "Rastreio enviado",
}
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


@dataclass
class Dataset:
    """What was generated, for the benchmarks to aim at."""

    account_id: int
    affiliates: dict[str, int]  # code -> id
    skus: int
    integrations: int = 0
    attempts: int = 0
    errors: int = 0
    max_attempt_id: int = 0
    started: datetime = field(default_factory=now)

    def sku(self, n: int) -> str:
        return sku_code(n)


def sku_code(n: int) -> str:
    return f"SKU-{n:07d}"


def order_code(n: int) -> str:
    return f"{1300000000 + n * 7}-01"


def ean13(number: int) -> str:
    """A valid, unique EAN-13 for the n-th SKU."""
    digits = f"789{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


# -- messages -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    text: str
    code: str | None
    category: str | None
    disposition: str | None
    cause: str | None
    http_status: int | None


def message_pools(seed: int, size: int = 3000) -> dict[str, list[Message]]:
    """Error messages per flow, classified once each (as the worker would have classified them)."""
    pools: dict[str, list[Message]] = {f: [] for f in (*SKU_FLOWS, "order", "tracking")}
    for connector, flow, body in message_mix(size, seed=seed):
        explained = classify(connector=connector, flow=flow, message=body)
        http = 429 if explained.category == "rate_limit" else 503 if explained.disposition.value == "retry" else 400
        message = Message(
            body[:4000],
            None,
            explained.category,
            explained.disposition.value,
            normalise_message(body)[:200],
            http,
        )
        pools.setdefault(flow, []).append(message)
    for pool in pools.values():
        if not pool:  # a flow the mix never names borrows the product wordings
            pool.extend(pools["product"])
    return pools


# -- the account ----------------------------------------------------------------------------------------------


def prepare_account(db: Database, affiliates: int, slug: str = "loja-grande") -> Dataset:
    """The seller's account and its marketplace connections (pointing nowhere: the sandbox benches add theirs)."""
    box = SecretBox.from_environment(db.settings.secret_key_file)
    with db.write() as conn:
        account_id = get_or_create_account(conn, slug=slug)
        ids = {}
        for code, name, profile in MARKETPLACES[:affiliates]:
            ids[code] = create_affiliate(
                conn, box=box, account_id=account_id, code=code, name=name, connector="sandbox",
                settings={"base_url": "http://127.0.0.1:9", "profile": profile, "client_id": code.lower(),
                          "client_secret": "bench"},
            )  # fmt: skip
    return Dataset(account_id=account_id, affiliates=ids, skus=0)


def api_token(db: Database, data: Dataset, role: Role = Role.OPERATOR) -> str:
    with db.write() as conn:
        return create_token(conn, account_id=data.account_id, name="bench", role=role, actor="bench").token


# -- rows -----------------------------------------------------------------------------------------------------


class Rows:
    """Turns the plan into rows: integrations, their attempts (oldest first) and the last error's bodies."""

    def __init__(self, data: Dataset, seed: int, per_integration: float, kind: str) -> None:
        self.data, self.rng = data, random.Random(seed)
        self.pools = message_pools(seed)
        self.per_integration = per_integration
        self.stamp = (lambda t: t.strftime(SQLITE_TIME)) if kind == "sqlite" else (lambda t: t.isoformat())
        self.codes = {aid: code for code, aid in data.affiliates.items()}
        self.names = {code: name for code, name, _ in MARKETPLACES}
        self.next_attempt = data.max_attempt_id + 1

    def keys(self, skus: int) -> Iterator[tuple[str, int, str]]:
        """(flow, affiliate_id, entity) of every integration: SKU flows on every affiliate, then orders."""
        affiliate_ids = list(self.data.affiliates.values())
        for n in range(skus):
            for affiliate_id in affiliate_ids:
                for flow in SKU_FLOWS:
                    yield flow, affiliate_id, sku_code(n)
        for n in range(skus // 4):
            affiliate_id = affiliate_ids[n % len(affiliate_ids)]
            yield "order", affiliate_id, order_code(n)
            yield "tracking", affiliate_id, order_code(n)

    def status(self, flow: str) -> str:
        pick, total, status = self.rng.random(), 0.0, STATUS_MIX[0][0]
        for name, share in STATUS_MIX:
            total += share
            if pick < total:
                status = name
                break
        if status == "warning" and flow not in WARNINGS:
            return "success"
        return status

    def integration(self, integration_id: int, key: tuple[str, int, str], end: datetime) -> tuple[tuple, list, list]:
        flow, affiliate_id, entity = key
        status = self.status(flow)
        count = self._attempt_count(status)
        times = sorted(end - timedelta(seconds=self.rng.random() * HISTORY_DAYS * 86400) for _ in range(count))
        outcomes = [self.outcome(flow, "error" if self.rng.random() < 0.3 else "success") for _ in times]
        if times:  # the last attempt is the current state (a pending row failed transiently and waits to retry)
            outcomes[-1] = self.outcome(flow, "error" if status == "pending" else status)
        last = outcomes[-1] if outcomes else (None, None)
        shown = last[1] if status != "success" else Message(SUCCESS[flow], None, None, None, None, 200)
        attempt_rows = [self.attempt(integration_id, affiliate_id, t, o) for t, o in zip(times, outcomes, strict=True)]
        bodies = []
        if status == "error" and attempt_rows:
            bodies.append(self._bodies(attempt_rows[-1][0], times[-1], entity, shown))
        pending = status == "pending"
        row = (
            integration_id, self.data.account_id, flow, affiliate_id, entity, status,
            self.stamp(end + timedelta(days=30)) if pending else None,  # retry due later: no worker takes it now
            count + (1 if pending else 0), count, min(count, 3) if pending else 0, count,
            "retry" if pending else None, shown.text if shown else None, shown.code if shown else None,
            shown.category if shown else None, shown.disposition if shown else None, shown.cause if shown else None,
            _search_text(shown.text, shown.category) if shown else None, self.stamp(times[-1]) if times else None, self.stamp((times[0] if times else end) - timedelta(hours=1)),
        )  # fmt: skip
        return row, attempt_rows, bodies

    def _attempt_count(self, status: str) -> int:
        if status == "pending" and self.rng.random() < 0.15:
            return 0  # never sent yet
        mean = self.per_integration - 0.5  # int(X) + 1 of an exponential X averages its mean + 0.5
        return max(1, min(int(self.rng.expovariate(1 / mean)) + 1, int(mean * 6) + 1)) if mean >= 1 else 1

    def outcome(self, flow: str, status: str) -> tuple[str, Message]:
        if status == "error":
            return status, self.rng.choice(self.pools[flow])
        if status == "warning":
            return status, Message(WARNINGS[flow].format(n=self.rng.randint(1, 40)), None, None, None, None, 200)
        return status, Message(SUCCESS[flow], None, None, None, None, 200)

    def attempt(self, integration_id: int, affiliate_id: int, when: datetime, outcome: tuple[str, Message]) -> tuple:
        status, message = outcome
        attempt_id, self.next_attempt = self.next_attempt, self.next_attempt + 1
        code = self.codes[affiliate_id]
        trigger = "change" if self.rng.random() < 0.85 else "retry"
        return (
            attempt_id, self.data.account_id, integration_id, trigger, None, f"{code} · {self.names[code]}", status,
            message.text, message.code, message.category, message.disposition, message.http_status,
            self.stamp(when), self.rng.randint(40, 900),
        )  # fmt: skip

    def _bodies(self, attempt_id: int, when: datetime, entity: str, message: Message | None) -> tuple:
        request = {"sku": entity, "title": f"Produto {entity}", "price": 99.9, "available_quantity": 7}
        response = {"error": message.category if message else None, "message": message.text if message else None}
        return attempt_id, self.stamp(when), orjson.dumps(request).decode(), orjson.dumps(response).decode()


@lru_cache(maxsize=20_000)
def _search_text(message: str, category: str | None) -> str | None:
    """What Ponte writes beside a message for word searches (a pool's few thousand messages, computed once each)."""
    return search_text(message, category=category)


INTEGRATION_COLUMNS = (
    "id", "account_id", "flow", "affiliate_id", "entity", "status", "due_at", "change_seq", "claimed_seq",
    "retry_count", "attempt_count", "next_trigger", "message", "code", "category", "disposition", "cause",
    "search_text", "processed_at", "created_at",
)  # fmt: skip
ATTEMPT_COLUMNS = (
    "id", "account_id", "integration_id", "trigger", "actor", "system", "status", "message", "code", "category",
    "disposition", "http_status", "started_at", "duration_ms",
)  # fmt: skip
BODY_COLUMNS = ("attempt_id", "started_at", "request", "response")


# -- writing --------------------------------------------------------------------------------------------------


def _pg_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


class Loader:
    """Bulk rows into tables on one raw connection: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, db: Database) -> None:
        self.kind = db.dialect
        self.raw = db.engine.raw_connection()
        self.driver: Any = self.raw.driver_connection
        if self.kind == "postgresql":
            # No per-row triggers: neither foreign-key checks nor counters (rebuilt from the rows afterwards).
            self.driver.execute("SET session_replication_role = replica")
        else:
            self.driver.execute("PRAGMA foreign_keys=OFF")
            self.driver.execute("BEGIN")

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in columns)
        if self.kind == "postgresql":
            with self.driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                copy.write("".join("\t".join(map(_pg_value, row)) + "\n" for row in rows))
        else:
            marks = ", ".join("?" * len(columns))
            self.driver.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def commit(self) -> None:
        if self.kind == "postgresql":
            self.driver.commit()
        else:
            self.driver.execute("COMMIT")
            self.driver.execute("BEGIN")

    def close(self) -> None:
        self.commit()
        if self.kind == "sqlite":
            self.driver.execute("COMMIT")
            self.driver.execute("PRAGMA foreign_keys=ON")
        else:
            self.driver.execute("SET session_replication_role = DEFAULT")
            self.driver.commit()
        self.raw.close()


def _secondary_indexes() -> list[Any]:
    return [*integrations.indexes, *attempts.indexes]


def drop_indexes(db: Database) -> None:
    with db.write() as conn:
        for index in _secondary_indexes():
            conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))


def create_indexes(db: Database) -> None:
    with db.write() as conn:
        for index in _secondary_indexes():
            index.create(conn, checkfirst=True)


# -- the load -------------------------------------------------------------------------------------------------


def generate(db: Database, *, skus: int, attempts_total: int, affiliates: int = 5, seed: int = 42) -> Dataset:
    """Generate a seller with `skus` SKUs on `affiliates` marketplaces and about `attempts_total` attempts."""
    data = prepare_account(db, affiliates)
    data.skus = skus
    write_catalog(db, data)
    with db.write() as conn:  # monthly partitions for the whole history (PostgreSQL)
        create_month_partitions(conn, ahead=4, at=data.started - timedelta(days=HISTORY_DAYS + 31))
    planned = len(data.affiliates) * 3 * skus + 2 * (skus // 4)
    rows = Rows(data, seed, attempts_total / max(planned, 1), "sqlite" if db.dialect == "sqlite" else "postgresql")
    drop_indexes(db)
    loader = Loader(db)
    next_id = _max_id(db, "integrations") + 1
    for chunk in _chunks(rows.keys(skus), CHUNK):
        batch = [rows.integration(next_id + n, key, data.started) for n, key in enumerate(chunk)]
        next_id += len(chunk)
        loader.write("integrations", INTEGRATION_COLUMNS, [b[0] for b in batch])
        loader.write("attempts", ATTEMPT_COLUMNS, [a for b in batch for a in b[1]])
        loader.write("attempt_bodies", BODY_COLUMNS, [x for b in batch for x in b[2]])
        loader.commit()
        data.integrations += len(batch)
        data.attempts += sum(len(b[1]) for b in batch)
        data.errors += sum(1 for b in batch if b[0][5] == "error")
    loader.close()
    data.max_attempt_id = rows.next_attempt - 1
    finish_load(db)
    return data


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _max_id(db: Database, table: str) -> int:
    with db.read() as conn:
        return int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())


def finish_load(db: Database) -> None:
    """Rebuild what the load skipped: indexes, id sequences and counters (PostgreSQL), planner statistics."""
    create_indexes(db)
    with db.write() as conn:
        if db.dialect == "postgresql":
            for table in ("integrations", "attempts"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
                )
            rebuild_counters(conn)
    # PostgreSQL: VACUUM too. Growing the log rewrites every integration's attempt count, which left a dead copy
    # of each row for the list to step over until autovacuum came (the list's p95 read 1.6 × slower for it).
    # A store in use is vacuumed as it goes; the benchmarks measure that state, before and after growth alike.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE"))


def rebuild_counters(conn: Connection) -> None:
    """Status and cause counters from the rows themselves (after a load that bypassed the triggers)."""
    for table in ("status_count_deltas", "status_counts", "cause_count_deltas", "cause_counts"):
        conn.execute(text(f"DELETE FROM {table}"))
    conn.execute(
        text(
            "INSERT INTO status_counts(account_id, flow, affiliate_id, status, count) "
            "SELECT account_id, flow, affiliate_id, status, count(*) FROM integrations GROUP BY 1, 2, 3, 4"
        )
    )
    conn.execute(
        text(
            "INSERT INTO cause_counts(account_id, flow, affiliate_id, category, cause, count) "
            "SELECT account_id, flow, affiliate_id, coalesce(category, ''), coalesce(cause, ''), count(*) "
            "FROM integrations WHERE status = 'error' GROUP BY 1, 2, 3, 4, 5"
        )
    )


def write_catalog(db: Database, data: Dataset) -> None:
    """The SKUs themselves (what a product send reads), valid for the sandbox marketplace, with stock."""
    kind = db.dialect
    stamp = data.started.strftime(SQLITE_TIME) if kind == "sqlite" else data.started.isoformat()
    first = _max_id(db, "skus") + 1
    loader = Loader(db)
    for chunk in _chunks(iter(range(data.skus)), CHUNK):
        rows = [_sku_row(first + i, data.account_id, n, stamp, kind) for i, n in enumerate(chunk)]
        loader.write("skus", SKU_COLUMNS, rows)
        stock_rows = [(data.account_id, first + i, "main", 50 + n % 200, 0, stamp) for i, n in enumerate(chunk)]
        loader.write("stock", ("account_id", "sku_id", "warehouse", "quantity", "reserved", "updated_at"), stock_rows)
        loader.commit()
        first += len(chunk)
    loader.close()
    if kind == "postgresql":
        with db.write() as conn:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('skus', 'id'), (SELECT max(id) + 1 FROM skus), false)")
            )


SKU_COLUMNS = (
    "id", "account_id", "sku", "name", "brand", "category", "ean", "description", "attributes", "images",
    "weight_g", "height_cm", "width_cm", "length_cm", "active", "list_price", "price", "handling_days",
    "created_at", "updated_at",
)  # fmt: skip


def _sku_row(sku_id: int, account_id: int, n: int, stamp: str, kind: str) -> tuple:
    attributes = orjson.dumps({"MODEL": f"X{n % 97}", "Cor": ("Preto", "Azul", "Prata")[n % 3]}).decode()
    images = orjson.dumps([f"https://cdn.example.com/{n}.jpg"]).decode()
    price = Decimal(899 + n % 300) + Decimal("0.90")
    return (
        sku_id, account_id, sku_code(n), f"Smartphone Acme X{n % 97} {sku_code(n)}", "Acme", "1055", ean13(n),
        "Tela de 6,1 polegadas, 128 GB.", attributes, images, 180, "15", "7.5", "1",
        1 if kind == "sqlite" else "t", str(price + 100), str(price), 1, stamp, stamp,
    )  # fmt: skip


def grow_attempts(db: Database, data: Dataset, *, to: int, seed: int = 43) -> int:
    """Add older history to the existing integrations until the log holds about `to` attempts; returns added."""
    missing = to - data.attempts
    if missing <= 0:
        return 0
    rng = random.Random(seed)
    rows = Rows(data, seed, 1, "sqlite" if db.dialect == "sqlite" else "postgresql")
    i = integrations.c
    with db.read() as conn:
        query = select(i.id, i.affiliate_id, i.flow).where(i.account_id == data.account_id, i.attempt_count > 0)
        targets = [tuple(r) for r in conn.execute(query)]
    oldest = data.started - timedelta(days=HISTORY_DAYS)
    drop_indexes(db)
    loader = Loader(db)
    added = 0
    while added < missing:
        batch = []
        for _ in range(min(CHUNK * 5, missing - added)):
            integration_id, affiliate_id, flow = rng.choice(targets)
            when = oldest - timedelta(seconds=rng.random() * 28 * 86400)  # older history, before the loaded one
            outcome = rows.outcome(flow, "error" if rng.random() < 0.3 else "success")
            batch.append(rows.attempt(integration_id, affiliate_id, when, outcome))
        loader.write("attempts", ATTEMPT_COLUMNS, batch)
        loader.commit()
        added += len(batch)
    loader.close()
    with db.write() as conn:  # attempt_count follows the rows
        conn.execute(
            text(
                "UPDATE integrations SET attempt_count = attempt_count + g.n, claimed_seq = claimed_seq + g.n, "
                "change_seq = change_seq + g.n FROM (SELECT integration_id, count(*) AS n FROM attempts "
                "WHERE id > :since GROUP BY integration_id) AS g WHERE integrations.id = g.integration_id"
            ),
            {"since": data.max_attempt_id},
        )
    data.max_attempt_id = rows.next_attempt - 1
    data.attempts += added
    finish_load(db)
    return added


# -- checking -------------------------------------------------------------------------------------------------


def check(db: Database, data: Dataset) -> list[str]:
    """Ways the generated data could be inconsistent; empty when it is right."""
    problems = []
    i, a = integrations.c, attempts.c
    with db.write() as conn:  # a short transaction: the fold's advisory lock is shared by every schema
        fold_status_deltas(conn)
    with db.read() as conn:
        kept = read_status_counts(conn, account_id=data.account_id)
        query = select(i.flow, i.affiliate_id, i.status, func.count()).where(i.account_id == data.account_id)
        counted = {
            (r[0], int(r[1]), r[2]): int(r[3]) for r in conn.execute(query.group_by(i.flow, i.affiliate_id, i.status))
        }
        if kept != counted:
            problems.append(f"status counters {kept} differ from the rows {counted}")
        kept_causes = {key: n for key, n in read_cause_counts(conn, account_id=data.account_id).items() if n}
        cause_key = (func.coalesce(i.category, ""), func.coalesce(i.cause, ""), i.flow, i.affiliate_id)
        query = select(*cause_key, func.count()).where(i.account_id == data.account_id, i.status == "error")
        grouped = {(r[0], r[1], r[2], int(r[3])): int(r[4]) for r in conn.execute(query.group_by(*cause_key))}
        if kept_causes != grouped:
            problems.append(f"cause counters ({len(kept_causes)} keys) differ from the rows ({len(grouped)} keys)")
        recorded = conn.execute(select(func.count()).select_from(attempts).where(a.account_id == data.account_id))
        claimed = conn.execute(
            select(func.coalesce(func.sum(i.attempt_count), 0)).where(i.account_id == data.account_id)
        )
        n_attempts, n_claimed = int(recorded.scalar_one()), int(claimed.scalar_one())
        if n_attempts != n_claimed or n_attempts != data.attempts:
            problems.append(f"{n_attempts} attempt rows, {n_claimed} by attempt_count, {data.attempts} generated")
        later = select(func.count()).select_from(attempts.join(integrations, i.id == a.integration_id))
        later = later.where(a.started_at > i.processed_at)
        if n := int(conn.execute(later).scalar_one()):
            problems.append(f"{n} attempts are newer than their integration's processed_at")
        bare = select(func.count()).where(i.status == "error", i.category.is_(None))
        if n := int(conn.execute(bare.select_from(integrations)).scalar_one()):
            problems.append(f"{n} errors without a category")
    return problems


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from bench.common import bench_database, scratch_folder, stopwatch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    with scratch_folder() as folder, bench_database(args.db, Path(folder)) as settings:
        db = Database(settings)
        seconds, data = stopwatch(lambda: generate(db, skus=args.skus, attempts_total=args.attempts))
        print(f"{data.integrations} integrations, {data.attempts} attempts, {data.errors} errors in {seconds:.1f} s")
        problems = check(db, data)
        print("\n".join(problems) or "consistent")
        db.dispose()
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
