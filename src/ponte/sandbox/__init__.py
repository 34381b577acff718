"""The sandbox marketplace: a local HTTP server that behaves like Mercado Livre, Magalu and Amazon.

It is what the demo and the end-to-end tests talk to: see `server.create_app`, `SandboxServer` and `serve`.
"""

from ponte.sandbox.server import DEFAULT_PROFILE, SandboxServer, create_app, serve

__all__ = ["DEFAULT_PROFILE", "SandboxServer", "create_app", "serve"]
