"""Assemble the sandbox app, and serve it over real HTTP with uvicorn (blocking, or in a background thread)."""

from __future__ import annotations

import contextlib
import pickle
import socket
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount, Route

from ponte.sandbox import control, orders
from ponte.sandbox.answers import ApiError
from ponte.sandbox.app import Sandbox
from ponte.sandbox.emulation import Emulation
from ponte.sandbox.erp import Erp
from ponte.sandbox.faults import FaultMiddleware
from ponte.sandbox.profiles import PROFILES
from ponte.sandbox.state import Config

DEFAULT_PROFILE = "magalu"


def _profile_routes(sb: Sandbox) -> list[tuple[str, Callable[..., Any], list[str]]]:
    """(path, handler, methods) of everything served under a profile."""
    return [
        ("/oauth/token", sb.token, ["POST"]),
        ("/me", sb.me, ["GET"]),
        ("/categories", sb.categories, ["GET"]),
        ("/items/{sku}", sb.put_item, ["PUT"]),
        ("/items/{sku}", sb.get_item, ["GET"]),
        ("/items/{sku}/price", sb.put_price, ["PUT"]),
        ("/items/{sku}/stock", sb.put_stock, ["PUT"]),
        ("/orders", partial(orders.feed, sb), ["GET"]),
        ("/orders/{order_id}/ack", partial(orders.acknowledge, sb), ["POST"]),
        ("/orders/{order_id}/shipment", partial(orders.ship, sb), ["POST"]),
        ("/_buyer/orders", partial(orders.place_order, sb), ["POST"]),
        ("/_buyer/orders/{order_id}/cancel", partial(orders.cancel_order, sb), ["POST"]),
        ("/_admin/sellers", partial(control.register_seller, sb), ["POST"]),
        ("/_admin/items/{sku}", partial(control.admin_item, sb), ["GET"]),
        ("/_admin/items/{sku}/status", partial(control.set_item_status, sb), ["POST"]),
        ("/_admin/orders/{order_id}", partial(orders.admin_order, sb), ["GET"]),
    ]


def create_app(
    profile: str = DEFAULT_PROFILE,
    *,
    seed: int | None = None,
    profiles: Iterable[str] | None = None,
    token_ttl: float = 3600.0,
    rate: float = 100.0,
    burst: float = 200.0,
) -> FaultMiddleware:
    """The sandbox marketplace as an ASGI app, serving `profiles` (default: all) under `/{profile}/…`.

    `profile` is also served without a prefix. `seed` makes injected faults repeat run after run.
    The `Sandbox` (state, faults, stats) is reachable as `app.sandbox`.
    """
    names = list(profiles) if profiles is not None else list(PROFILES)
    if profile not in names:
        names.append(profile)
    sb = Sandbox(names, profile, seed, Config(token_ttl=token_ttl, rate=rate, burst=burst))
    table = _profile_routes(sb)
    erp = Erp()
    # Literal first segments first (the switchboard, the ERP, unprefixed routes), so that
    # `/{profile}/…` never swallows them (`/_erp/orders` would read as the feed of a profile "_erp").
    routes: list[BaseRoute] = [
        Route("/_control/health", partial(control.health, sb), methods=["GET"]),
        Route("/_control/faults", partial(control.faults, sb), methods=["GET", "POST"]),
        Route("/_control/stats", partial(control.stats, sb), methods=["GET"]),
        Route("/_control/reset", partial(control.reset, sb), methods=["POST"]),
        Route("/_control/config", partial(control.config, sb), methods=["GET", "POST"]),
        Route("/_erp/orders", erp.receive, methods=["POST"]),
        Route("/_erp/orders", erp.list_orders, methods=["GET"]),
        Route("/_erp/config", erp.configure, methods=["POST"]),
    ]
    emulations = connector_emulations()
    # Each real connector's emulation at its kind's prefix, before `/{profile}/…` could read it as a profile.
    routes += [Mount(f"/{kind}", app=emulation.app) for kind, emulation in emulations.items()]
    routes += [Route(path, handler, methods=methods) for path, handler, methods in table]
    routes += [Route("/{profile}" + path, handler, methods=methods) for path, handler, methods in table]
    app = Starlette(routes=routes, exception_handlers={ApiError: sb.on_api_error, HTTPException: sb.on_http_error})
    sb.emulations = emulations
    wrapped = FaultMiddleware(app, sb.faults, sb.stats, sb.rng, sb.error_body, default_profile=profile)
    wrapped.sandbox = sb
    return wrapped


def connector_emulations() -> dict[str, Emulation]:
    """A fresh emulation of every installed connector's marketplace that brings one, by kind."""
    from ponte.connectors.registry import available_connectors

    found = {}
    for kind, cls in sorted(available_connectors().items()):
        emulation = cls.emulation()
        if emulation is not None:
            found[kind] = emulation
    return found


def serve(host: str = "127.0.0.1", port: int = 8765, profile: str = DEFAULT_PROFILE, **options: Any) -> None:
    """Serve the sandbox until interrupted (the `ponte sandbox` command). Options go to `create_app`."""
    uvicorn.run(create_app(profile, **options), host=host, port=port, log_level="warning", access_log=False)


class SandboxServer:
    """A sandbox on a free port in a background thread, for tests and `ponte run`.

    >>> with SandboxServer() as server:
    ...     httpx.get(f"{server.url}/_control/health")
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        profiles: Iterable[str] | None = None,
        *,
        profile: str = DEFAULT_PROFILE,
        seed: int | None = None,
        token_ttl: float = 3600.0,
        rate: float = 100.0,
        burst: float = 200.0,
        log_level: str = "critical",
        state_file: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.app = create_app(profile, seed=seed, profiles=profiles, token_ttl=token_ttl, rate=rate, burst=burst)
        self.sandbox: Sandbox = self.app.sandbox
        self.log_level = log_level
        self.state_file = state_file  # where listings and orders are kept between runs, if anywhere
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321 (profiles live under it: `{url}/magalu`)."""
        return f"http://{self.host}:{self.port}"

    def profile_url(self, profile: str) -> str:
        return f"{self.url}/{profile}"

    def start(self, wait: float = 10.0) -> SandboxServer:
        """Bind (a free port when port is 0), serve in a daemon thread, and return once it answers."""
        if self.state_file is not None:
            self.sandbox.state.load(self.state_file)
            for kind, emulation in self.sandbox.emulations.items():
                kept = self._emulation_file(kind)
                if kept.is_file():
                    # A file from another version is left alone: the emulation starts empty.
                    with contextlib.suppress(pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError):
                        emulation.restore(pickle.loads(kept.read_bytes()))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level=self.log_level, access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"sandbox:{self.port}", daemon=True
        )
        self._thread.start()
        self._wait_until_up(wait)
        return self

    def _wait_until_up(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self._thread is not None and not self._thread.is_alive():
                raise RuntimeError("the sandbox server stopped while starting")
            try:
                if httpx.get(f"{self.url}/_control/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"the sandbox server did not answer within {wait} s")

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
        if self.state_file is not None:
            self.sandbox.state.save(self.state_file)
            for kind, emulation in self.sandbox.emulations.items():
                state = emulation.snapshot()
                if state is not None:
                    tmp = self._emulation_file(kind).with_suffix(".tmp")
                    tmp.write_bytes(pickle.dumps(state))
                    tmp.replace(self._emulation_file(kind))

    def _emulation_file(self, kind: str) -> Path:
        assert self.state_file is not None
        return self.state_file.with_name(f"{self.state_file.stem}-{kind}.pickle")

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- conveniences for tests and the demo ------------------------------------------------------------

    def control(self, what: str, **body: Any) -> dict[str, Any]:
        """POST to /_control/<what> (faults, config, reset) and return the answer."""
        return httpx.post(f"{self.url}/_control/{what}", json=body, timeout=5.0).raise_for_status().json()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_control/stats", timeout=5.0).raise_for_status().json()

    def register_seller(self, profile: str, client_id: str, client_secret: str, **extra: Any) -> dict[str, Any]:
        body = {"client_id": client_id, "client_secret": client_secret, **extra}
        url = f"{self.url}/{profile}/_admin/sellers"
        return httpx.post(url, json=body, timeout=5.0).raise_for_status().json()

    def place_order(self, profile: str, seller: str, items: list[dict[str, Any]], **extra: Any) -> str:
        """Place a buyer order for a seller; returns the marketplace's order id."""
        body = {"seller": seller, "items": items, "postal_code": "01310-100", "buyer": DEMO_BUYER, **extra}
        url = f"{self.url}/{profile}/_buyer/orders"
        return str(httpx.post(url, json=body, timeout=5.0).raise_for_status().json()["id"])


DEMO_BUYER = {"name": "Ana Souza", "document": "52998224725", "email": "ana@example.com", "phone": "+5511988887777"}
