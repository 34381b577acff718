"""Where connector classes come from: the `ponte.connectors` entry-point group.

Built-in connectors (sandbox, webhook) are declared in Ponte's own pyproject.toml and found the same way
as a third-party package's, so the plugin path is the one every connector walks.
"""

from __future__ import annotations

import types
import typing
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import SecretStr, ValidationError

from ponte.connectors.base import Connector, ConnectorSettings
from ponte.connectors.context import ConnectorContext

GROUP = "ponte.connectors"


class UnknownConnector(LookupError):
    """No installed connector has this kind."""


class InvalidConnectorSettings(ValueError):
    """The settings given for a connector do not fit its Settings model."""

    def __init__(self, kind: str, errors: list[dict[str, Any]]) -> None:
        self.kind = kind
        self.errors = errors
        fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        super().__init__(f"invalid settings for connector {kind!r}: {fields}")


@cache
def available_connectors() -> dict[str, type[Connector]]:
    """Every installed connector class by kind (loaded once; call `available_connectors.cache_clear()` to rescan)."""
    found: dict[str, type[Connector]] = {}
    for entry in entry_points(group=GROUP):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise TypeError(f"entry point {entry.name} = {entry.value} is not a Connector subclass")
        found[entry.name] = cls
    return found


def get_connector_class(kind: str) -> type[Connector]:
    """The connector class registered for `kind`; UnknownConnector names the kinds that are installed."""
    connectors = available_connectors()
    try:
        return connectors[kind]
    except KeyError:
        known = ", ".join(sorted(connectors)) or "none"
        raise UnknownConnector(f"no connector of kind {kind!r} is installed (available: {known})")


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    # dict[str, SecretStr] (a webhook's extra headers): the whole mapping is sealed
    if typing.get_origin(annotation) is dict and typing.get_args(annotation)[-1:] == (SecretStr,):
        return True
    # SecretStr | None, Optional[SecretStr]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


def secret_fields(cls: type[Connector] | type[ConnectorSettings]) -> set[str]:
    """Names of the settings fields typed SecretStr: the ones to store encrypted and never show."""
    settings = cls.Settings if isinstance(cls, type) and issubclass(cls, Connector) else cls
    return {name for name, field in settings.model_fields.items() if _is_secret(field.annotation)}


def validate_settings(kind: str, settings: dict[str, Any], secrets: dict[str, Any]) -> ConnectorSettings:
    """The connector's Settings model built from plain settings plus decrypted secrets."""
    cls = get_connector_class(kind)
    # Only the connector's own secrets: others sealed beside them (the marketplace webhook secret) are not its
    # settings, and its Settings model (extra="forbid") would refuse them, stopping its affiliate's work.
    own = {name: value for name, value in secrets.items() if name in secret_fields(cls)}
    try:
        return cls.Settings.model_validate({**settings, **own})
    except ValidationError as exc:
        errors = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise InvalidConnectorSettings(kind, errors)


def build_connector(
    kind: str, settings: dict[str, Any], secrets: dict[str, Any], *, context: ConnectorContext
) -> Connector:
    """A ready connector instance. Raises UnknownConnector or InvalidConnectorSettings."""
    validated = validate_settings(kind, settings, secrets)
    return get_connector_class(kind)(validated, context=context)
