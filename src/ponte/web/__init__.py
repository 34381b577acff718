"""The Connections pages (server-rendered, pt-BR and English)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the pages and static files on the app."""
