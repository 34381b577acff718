"""Browser fixtures: a seeded SQLite store served by uvicorn in a thread, and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from needs import missing
from ponte.app import create_app
from ponte.settings import Settings, load_settings
from ponte.store.db import Database

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Server:
    url: str
    db: Database
    settings: Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The app on a fresh migrated SQLite database (seeded by the test through server.db), on a free port."""
    monkeypatch.setenv("PONTE_SECRET_KEY_FILE", str(tmp_path / "secret.key"))
    shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "ponte.db")
    settings = load_settings(tmp_path)
    db = Database(settings)
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, db=db), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield Server(f"http://127.0.0.1:{port}", db, settings)
    uv.should_exit = True
    thread.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        missing(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="pt-BR")  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(8000)
    yield tab
    context.close()
