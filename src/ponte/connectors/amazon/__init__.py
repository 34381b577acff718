"""The Amazon connector: the Selling Partner API for a Brazilian seller (amazon-sp-api.md). `spec/` holds the
published models it is held to; `emulation/` the sandbox's emulation of them; `errors.yaml` its error table."""

from ponte.connectors.amazon.connector import AmazonConnector
from ponte.connectors.amazon.settings import AmazonSettings

__all__ = ["AmazonConnector", "AmazonSettings"]
