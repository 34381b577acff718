"""The `ponte` command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="Ponte: marketplace integration hub.", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """Ponte: marketplace integration hub."""


def main() -> None:
    app()
