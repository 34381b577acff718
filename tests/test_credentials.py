"""The credential store every process shares: one refresh however many processes and threads want one, the
winner's token used by all, and a refused grant kept refused."""

from __future__ import annotations

import multiprocessing
from typing import Any

from meli_fixtures import CLIENT_SECRET, Meli, identity
from ponte.auth import get_or_create_account
from ponte.engine.credentials import StoredCredentials
from ponte.secrets import SecretBox
from ponte.services.affiliates import create_affiliate
from ponte.store.credentials import read_credentials
from ponte.store.db import Database
from refresh_race import race

PROCESSES, THREADS = 2, 8


def _connected(db: Database, meli: Meli, box: SecretBox) -> int:
    with db.write() as conn:
        account = get_or_create_account(conn, slug="loja-corrida")
        affiliate = create_affiliate(
            conn, box=box, account_id=account, code="MLB", name="Mercado Livre", connector="mercadolivre",
            settings={**meli.settings(requests_per_second=500), "client_secret": CLIENT_SECRET},
        )  # fmt: skip
    StoredCredentials(db, box, affiliate).store(meli.grant(), identity())
    return affiliate


def test_two_processes_of_eight_threads_forcing_a_refresh_make_one_refresh_call(
    db: Database, settings: Any, meli: Meli, tmp_path: Any
) -> None:
    key_file = tmp_path / "secret.key"
    box = SecretBox.from_environment(key_file)
    affiliate = _connected(db, meli, box)
    with db.read() as conn:
        before = read_credentials(conn, affiliate)
    meli.admin("POST", "/tokens/expire")  # every access token dies now: the next call of each thread is refused
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES * THREADS)
    results = context.Queue()
    url = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    args = (url, str(settings.data_dir), str(key_file), affiliate, THREADS, barrier, results)
    processes = [context.Process(target=race, args=args) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(PROCESSES * THREADS)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert meli.stats()["refreshes"] == 1  # exactly one refresh call reached Mercado Livre
    assert {(first, second) for first, second, _ in outcomes} == {("success", "success")}
    with db.read() as conn:
        after = read_credentials(conn, affiliate)
    assert before is not None and after is not None and after.version == before.version + 1
    stored = StoredCredentials(db, box, affiliate).current()
    assert stored is not None and {token for _, _, token in outcomes} == {stored.access_token}
