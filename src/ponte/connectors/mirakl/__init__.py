"""The Mirakl connector: every marketplace that runs on Mirakl (Carrefour, Leroy Merlin, Decathlon, Fnac/Darty…)
through its seller API, set up per marketplace with the operator's instance and the shop's key. `spec/` holds the
published specification it is held to; `emulation/` the sandbox's emulation of it; `errors.yaml` its error table."""

from ponte.connectors.mirakl.connector import MiraklConnector
from ponte.connectors.mirakl.settings import MiraklSettings

__all__ = ["MiraklConnector", "MiraklSettings"]
