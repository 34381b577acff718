"""Mercado Livre: the connector (its real API) and the sandbox's emulation of that API."""

from ponte.connectors.mercadolivre.connector import MercadoLivreConnector, MercadoLivreSettings

__all__ = ["MercadoLivreConnector", "MercadoLivreSettings"]
