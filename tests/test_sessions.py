"""Sessions and logins: logout ends the session on the server, login has CSRF protection and is throttled per
account and per address (a lock that ends), unknown e-mails cost what wrong passwords cost, every page sends the
browser's security headers, and the data folder is its owner's alone."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from factories import ALICE, BOB, PASSWORD, login, login_form_token, two_stores
from ponte import auth
from ponte.app import create_app
from ponte.services import logins
from ponte.settings import load_settings
from ponte.store.db import Database


@pytest.fixture
def stores(db, monkeypatch):
    # Passwords' cost is not what these tests are about: a cheap argon2 keeps them quick.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with db.write() as conn:
        return two_stores(conn)


@pytest.fixture
def client(settings, db):
    with TestClient(create_app(settings, db=db)) as c:
        yield c


class Clock:
    """The login's clock, moved by the test."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("ponte.web.pages.now", clock)
    monkeypatch.setattr("ponte.web.session.now", clock)
    return clock


def _try(client: TestClient, email: str, password: str, address: str | None = None):
    data = {"email": email, "password": password, "csrf": login_form_token(client)}
    return client.post("/login", data=data, follow_redirects=False)


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_stops_working(client, stores):
    csrf = login(client, ALICE)
    copied = client.cookies.get("ponte_session")
    assert client.get("/overview", follow_redirects=False).status_code == 200
    client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    thief = TestClient(client.app, cookies={"ponte_session": copied})
    answer = thief.get("/overview", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_login_posted_without_the_forms_token_is_refused(client, stores):
    # What a page on another site can do: post the form, without the token the login page set in its cookie.
    answer = client.post("/login", data={"email": ALICE, "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 403 and "ponte_session" not in answer.headers.get("set-cookie", "")
    client.get("/login")  # the cookie alone, without the token in the form, is not enough either
    answer = client.post("/login", data={"email": ALICE, "password": PASSWORD, "csrf": "x" * 32})
    assert answer.status_code == 403


def test_five_wrong_passwords_lock_the_account_for_a_while_then_it_recovers(client, stores, clock):
    for _ in range(logins.EMAIL_LIMIT):
        assert _try(client, ALICE, "wrong-password").status_code == 401
    locked = _try(client, ALICE, PASSWORD)  # even the right password waits
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Muitas tentativas" in locked.text
    assert _try(client, BOB, PASSWORD).status_code == 303  # another account is not locked
    clock.at += logins.LOCK_FIRST + timedelta(seconds=1)
    assert _try(client, ALICE, PASSWORD).status_code == 303  # the lock ended by itself


def test_each_further_failure_doubles_the_lock_up_to_its_ceiling(db, stores):
    at = datetime(2026, 12, 10, tzinfo=UTC)
    throttle = logins.Throttle(email=ALICE, address="203.0.113.9")
    ends = []
    with db.write() as conn:
        for _ in range(logins.EMAIL_LIMIT + 12):
            logins.record_failure(conn, throttle=throttle, now=at)
            ends.append(logins.locked_until(conn, throttle=throttle, now=at))
    locks = [end - at for end in ends if end is not None]
    assert locks[:3] == [logins.LOCK_FIRST, 2 * logins.LOCK_FIRST, 4 * logins.LOCK_FIRST]
    assert locks[-1] == logins.LOCK_MAX


def test_one_address_trying_many_accounts_is_throttled(db, stores):
    at = datetime(2026, 12, 10, tzinfo=UTC)
    with db.write() as conn:
        for n in range(logins.ADDRESS_LIMIT):
            logins.record_failure(conn, throttle=logins.Throttle(f"guess{n}@x.com", "203.0.113.9"), now=at)
        assert logins.locked_until(conn, throttle=logins.Throttle("new@x.com", "203.0.113.9"), now=at)
        assert logins.locked_until(conn, throttle=logins.Throttle("new@x.com", "198.51.100.1"), now=at) is None


def test_an_unknown_email_costs_the_same_password_check_as_a_wrong_password(db, stores, monkeypatch):
    checked = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda h, p: checked.append(h) or real(h, p))
    with db.read() as conn:
        assert auth.authenticate(conn, email=ALICE, password="wrong") is None
        assert auth.authenticate(conn, email="nobody@nowhere.com", password="wrong") is None
    assert len(checked) == 2 and checked[1].startswith("$argon2")  # one argon2 verification each


def test_pages_and_the_api_send_the_browsers_security_headers(client, stores):
    login(client, ALICE)
    for path in ("/overview", "/login", "/api/v1/openapi.json"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy


def test_the_data_folder_and_the_database_are_the_owners_alone(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("PONTE_SECRET_KEY_FILE", str(folder / "secret.key"))
    db = Database(load_settings(folder))
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    db.dispose()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "ponte.db").stat().st_mode) == 0o600
