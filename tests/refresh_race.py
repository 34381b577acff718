"""One process of the refresh race (tests/test_credentials.py): threads that all find their token refused at once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


def race(
    database_url: str, data_dir: str, key_file: str, affiliate_id: int, threads: int, barrier: Any, results: Any
) -> None:
    """Each thread builds the affiliate's connector and calls Mercado Livre once the barrier lets all go: every
    call meets a token the marketplace expired, so every thread wants a refresh; then calls again."""
    from ponte.engine.connectors import connector_for
    from ponte.secrets import SecretBox
    from ponte.settings import load_settings
    from ponte.store.affiliates import affiliates_by_id
    from ponte.store.db import Database

    settings = load_settings(data_dir, database_url)
    db = Database(settings)
    box = SecretBox.from_environment(Path(key_file))
    with db.read() as conn:
        affiliate = affiliates_by_id(conn, [affiliate_id])[affiliate_id]

    def one() -> None:
        connector = connector_for(affiliate, db=db, box=box, settings=settings)
        barrier.wait(timeout=60)
        try:
            first = connector.test_connection()
            second = connector.test_connection()
            results.put((first.status.value, second.status.value, connector.context.credentials.current().access_token))
        except Exception as exc:  # reported to the test, which fails on it
            results.put(("raised", repr(exc), ""))
        finally:
            connector.close()

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    db.dispose()
