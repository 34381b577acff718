"""The Bling connector: the store's ERP through Bling's API v3 — orders in as sales orders, their NF-e and tracking
back. `spec/` holds the published specification it is held to; `emulation/` the sandbox's emulation of it;
`errors.yaml` its error table."""

from ponte.connectors.bling.connector import BlingConnector
from ponte.connectors.bling.settings import BlingSettings

__all__ = ["BlingConnector", "BlingSettings"]
