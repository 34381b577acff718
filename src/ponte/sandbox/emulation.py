"""What a connector's emulation of its marketplace gives the sandbox.

Each real connector (Mercado Livre, Amazon, Mirakl, Bling) brings an emulation of its API at the API's real
paths and shapes: `Connector.emulation()` returns an `Emulation`, and `ponte sandbox` mounts its app at
`/{kind}`. The real connector then runs against it by changing only its base URLs (`{sandbox}/{kind}/…`).

Where the marketplace publishes a machine-readable specification, the emulation checks every request against
it and refuses what the real API would refuse, in the API's own error shape. Test helpers an emulation offers
(registering a seller, playing a buyer, changing a listing behind Ponte's back) live under `/{kind}/_admin/…`,
never at a path the real API has.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp


class Emulation:
    """Base of every marketplace emulation: an ASGI app, and state that can be reset, kept and restored."""

    kind: str = ""

    @property
    def app(self) -> ASGIApp:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget every seller, listing and order; back to the state it started in."""
        raise NotImplementedError

    def snapshot(self) -> Any:
        """Picklable state to keep across restarts (the demo's listings and orders); None keeps nothing."""
        return None

    def restore(self, state: Any) -> None:
        """Take back what `snapshot` gave."""
