"""The database connection: one SQLAlchemy engine per process, SQLite tuned for WAL, PostgreSQL for pools."""

from __future__ import annotations

import json
import logging
import os
import re
import select
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import CTE, Connection, Engine, Integer, Table, column, create_engine, event, exc, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from ponte.settings import Settings

log = logging.getLogger("ponte.db")
SQLITE_CACHE_KIB = 64 * 1024
SQLITE_CHECKPOINT_PAGES = 10_000
SQLITE_WAL_LIMIT_BYTES = 64 * 1024 * 1024


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Create the engine for the configured database, making the data folder for SQLite."""
    if settings.is_sqlite:
        keep_private(settings.data_dir, make_url(settings.database_url).database)
        engine = create_engine(
            settings.database_url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_deserializer=_json_loads,
            **kwargs,
        )
        event.listen(engine, "connect", _tune_sqlite)
        # pysqlite's own transaction handling defers BEGIN; take it over so that BEGIN IMMEDIATE
        # can be issued where a writer must hold the lock from the start (claiming work).
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(settings.database_url, **kwargs)
    event.listen(engine, "checkout", _replace_if_closed_by_server)
    event.listen(engine, "checkin", _prepare_again)
    return engine


_LONG_NUMBER = re.compile(r"\d{19}")


def _json_loads(text: str) -> Any:
    """A JSON column's value (SQLite keeps it as text): orjson reads it several times faster than the standard
    library (a batch of 25,000 listings). What it would not read exactly is read by the standard library: NaN,
    which it refuses, and integers past 64 bits, which it would turn into floats."""
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def keep_private(folder: Path, database: str | None) -> None:
    """The data folder (the database, the secret key, the sandbox's state) readable by its owner only: mode 700,
    and the SQLite file (and its WAL and shared-memory files, which SQLite makes with the file's mode) 600."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        folder.chmod(0o700)
    except OSError as exc:  # a folder someone else owns: say so, and go on
        log.warning("cannot make the data folder %s private: %s", folder, exc.strerror)
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # an empty file is a new SQLite database
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                file.chmod(0o600)
    except OSError as exc:  # a file that cannot be made is SQLite's to report, when it is opened
        log.warning("cannot make the database file %s private: %s", path, exc.strerror)


def _replace_if_closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has closed is replaced at checkout, without a round trip.

    When the server ends a session (restart, `pg_terminate_backend`, an idle timeout) it says so and closes the
    socket, so an idle pooled connection with anything to read is one the server has given up. Looking costs a
    zero-timeout poll; `pool_pre_ping` sent a `SELECT 1` and waited for it at every checkout (two per API
    request). A server that vanished without a word is still found out by the first statement, which
    invalidates the pool.
    """
    if dbapi_connection.closed or _has_input(dbapi_connection.fileno()):
        raise exc.DisconnectionError("the server closed this connection")


def _has_input(fd: int) -> bool:
    """Whether a socket has something to read, or was closed, without waiting. poll() where there is one:
    select() refuses descriptors past 1023, which a busy web process reaches."""
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


# psycopg's default: a statement run this many times on a connection is prepared, and its plan kept.
PREPARE_THRESHOLD = 5


def plan_for_values(conn: Connection) -> None:
    """PostgreSQL: until `conn` goes back to the pool, plan each statement for the values it is given.

    A prepared statement gets a generic plan from its sixth run on, made without looking at the values; for a
    word search that plan cannot know whether a word is rare (see `IntegrationFilter.conditions_on`).
    """
    conn.connection.driver_connection.prepare_threshold = None  # type: ignore[union-attr]


def _prepare_again(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None:
        dbapi_connection.prepare_threshold = PREPARE_THRESHOLD


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see _begin_sqlite
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache (SQLite's default is 2 MiB): a bulk reprocess or a batch of reports touches pages of
    # six indexes at random, and with the default cache most of those touches went to the OS (3.6 → 2.0 s per
    # 100,000 reprocessed). Pages are cached as they are read, so a small database costs no more.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    # Checkpoint the WAL every 10,000 pages (40 MiB) rather than SQLite's 1,000: a batch of 1,000 reports
    # dirties more than 1,000 pages of the integrations' indexes, so every commit used to checkpoint (write
    # the pages back and fsync). Pages changed again before the next checkpoint are written back once.
    # Ingest on SQLite +10-19 %; reads look pages up in the WAL's hash index whatever its size.
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
    # A checkpoint leaves the WAL file at its biggest size; past 64 MiB (a big reprocess) it is cut back.
    cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_LIMIT_BYTES}")
    cursor.close()


def _begin_sqlite(conn: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN: two writers never deadlock upgrading read locks,
    # they queue on busy_timeout instead. Readers begin deferred and are never blocked in WAL mode.
    if conn.get_execution_options().get("ponte_read_only"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def upsert(conn: Connection, table: Table) -> Any:
    """The connection's dialect's INSERT for `table`: the one with `on_conflict_do_nothing` / `_do_update`."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert plain rows (every row with the same keys, values as the database takes them) in one go.

    PostgreSQL gets them by COPY: a batched INSERT through psycopg rebuilt its query for each row, most of a
    1,000-attempt report's client time. SQLite takes an executemany.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr] # this transaction's own
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def literal_rows(name: str, columns: tuple[str, ...], rows: Sequence[tuple[int, ...]]) -> CTE:
    """Rows of integers (ids, minutes) as a table to join to, on both databases: `WITH name AS (SELECT column1 AS
    ..., ... FROM (VALUES ...))`; `rows` must not be empty.

    The numbers are written into the statement rather than bound, so that thousands of rows stay within the
    drivers' limits on parameters (PostgreSQL's is 65,535); and written here rather than by `values()`, which
    SQLAlchemy never caches and renders through each value's literal processor (55 ms per 1,000 rows).
    """
    listed = ", ".join("(" + ", ".join(str(int(n)) for n in row) + ")" for row in rows)
    named = ", ".join(f"column{k} AS {c}" for k, c in enumerate(columns, start=1))
    table = text(f"SELECT {named} FROM (VALUES {listed}) AS {name}_values")
    return table.columns(*(column(c, Integer) for c in columns)).cte(name)


def sqlite_path(settings: Settings) -> Path | None:
    return Path(settings.database_url.removeprefix("sqlite:///")) if settings.is_sqlite else None


class Database:
    """The engine plus the two ways to use it: a write transaction and a read-only one.

    Transactions belong to the edge (a request, a job, a CLI command); services take a Connection.
    """

    def __init__(self, settings: Settings, **engine_kwargs: Any) -> None:
        self.settings = settings
        self.engine = make_engine(settings, **engine_kwargs)
        self._reader = self.engine.execution_options(ponte_read_only=True)
        if self.dialect == "postgresql":
            # Under READ COMMITTED each statement of a read sees its own snapshot, in a transaction or not; without
            # BEGIN and COMMIT a read makes two round trips fewer (an API request makes two reads).
            self._reader = self._reader.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read: on SQLite one transaction (one snapshot), on PostgreSQL each statement on its own (autocommit)."""
        with self._reader.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def ping(conn: Connection) -> None:
    """One round trip that touches no table (/healthz): raises OperationalError when the database cannot answer."""
    conn.execute(text("SELECT 1"))
