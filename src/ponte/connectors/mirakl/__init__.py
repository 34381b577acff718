"""The Mirakl connector: every marketplace that runs on Mirakl (Carrefour, Leroy Merlin, Decathlon, Fnac/Darty…)
through its seller API, set up per marketplace with the operator's instance and the shop's key. `spec/` holds the
published specification it is held to; `emulation/` the sandbox's emulation of it; `errors.yaml` its error table;
`help/` its troubleshooting article (entry point `ponte.help_articles`)."""

from pathlib import Path

from ponte.connectors.mirakl.connector import MiraklConnector
from ponte.connectors.mirakl.settings import MiraklSettings

__all__ = ["MiraklConnector", "MiraklSettings", "help_articles"]


def help_articles() -> Path:
    """The folder of the Mirakl article in pt-BR, English and Spanish (any operator without its own article)."""
    return Path(__file__).with_name("help")
