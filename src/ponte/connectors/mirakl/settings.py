"""A Mirakl affiliate's settings, and the words people read about them (pt-BR, English, Spanish).

One connector serves every marketplace that runs on Mirakl: each affiliate names its operator (Carrefour, Leroy
Merlin…), the operator's Mirakl instance and the shop's API key. There is no common URL to default to: every
operator has its own instance, `https://<instance>.mirakl.net` (spec `servers`: "URL to be replaced by your
Mirakl instance URL").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr, field_validator

from ponte.connectors.base import ConnectorSettings
from ponte.domain.messages import SaidError, say


class MiraklSettings(ConnectorSettings):
    operator: str = Field(min_length=1, max_length=60)  # the marketplace on Mirakl: Carrefour, Leroy Merlin…
    base_url: str = Field(max_length=300)  # the operator's Mirakl instance
    api_key: SecretStr  # the shop's API key, sent as it is in the Authorization header (spec: Shop-API-Key)
    shop_id: int | None = Field(default=None, ge=1)  # needed when the key's user has several shops
    offer_state: str = Field(default="11", min_length=1, max_length=20)  # offers' state_code (OF61; 11 = new)
    product_id_type: str = Field(default="EAN", min_length=1, max_length=40)  # how offers name a SKU with an EAN
    logistic_class: str | None = Field(default=None, max_length=40)  # sent with every offer, where the operator asks
    file_import_from: int = Field(default=1000, ge=1, le=100_000)  # offers from which a batch goes as an OF01 file
    carriers: dict[str, str] = Field(default_factory=dict)  # the store's carrier → the operator's carrier_code (SH21)

    @field_validator("operator")
    @classmethod
    def _named(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise SaidError(say("msg.value.operator_name"))
        return value

    @field_validator("base_url")
    @classmethod
    def _instance(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise SaidError(say("msg.value.mirakl_url"))
        # People paste the API root they were given: the connector adds /api itself.
        return value.removesuffix("/api")


def operator_code(settings: Mapping[str, Any]) -> str:
    """The operator's name as the knowledge base files it: "Leroy Merlin" → "leroymerlin"."""
    return re.sub(r"[^a-z0-9]", "", str(settings.get("operator") or "").lower()) or "mirakl"


LABELS: Mapping[str, Mapping[str, str]] = {
    "pt-BR": {
        "name": "Mirakl (Carrefour, Leroy Merlin e outros)",
        "setting.operator": "Marketplace",
        "help.operator": "O nome do marketplace que usa a Mirakl, como Carrefour ou Leroy Merlin.",
        "setting.base_url": "Endereço da instância Mirakl",
        "help.base_url": "O endereço que o marketplace lhe deu, como https://marketplace.mirakl.net.",
        "setting.api_key": "Chave de API da loja",
        "help.api_key": "No painel do vendedor: Configurações do usuário → Chave de API. Uma chave nova substitui a anterior.",
        "setting.shop_id": "ID da loja",
        "help.shop_id": "Minha conta → Configurações. Necessário quando o seu usuário tem mais de uma loja.",
        "setting.offer_state": "Condição das ofertas",
        "help.offer_state": "O código de condição (state_code) das ofertas; 11 é 'novo' na maioria dos marketplaces.",
        "setting.product_id_type": "Tipo de identificador do produto",
        "help.product_id_type": "Como as ofertas apontam o produto quando o SKU tem EAN (EAN, UPC…); sem EAN, o SKU da loja.",
        "setting.logistic_class": "Classe logística",
        "help.logistic_class": "Enviada com cada oferta, quando o marketplace pede uma.",
        "setting.file_import_from": "Ofertas por arquivo a partir de",
        "help.file_import_from": "Lotes com esse número de ofertas ou mais vão como arquivo de importação (OF01).",
        "setting.carriers": "Transportadoras",
        "help.carriers": 'Transportadora da loja → código da transportadora no marketplace, em JSON: {"Correios": "CORREIOS"}.',
    },
    "en": {
        "name": "Mirakl (Carrefour, Leroy Merlin and others)",
        "setting.operator": "Marketplace",
        "help.operator": "The name of the marketplace that runs on Mirakl, such as Carrefour or Leroy Merlin.",
        "setting.base_url": "Mirakl instance address",
        "help.base_url": "The address the marketplace gave you, like https://marketplace.mirakl.net.",
        "setting.api_key": "Shop API key",
        "help.api_key": "In the seller back office: User settings → API key. A new key replaces the old one.",
        "setting.shop_id": "Shop ID",
        "help.shop_id": "My account → Settings. Needed when your user has more than one shop.",
        "setting.offer_state": "Offer condition",
        "help.offer_state": "The offers' condition code (state_code); 11 is 'new' on most marketplaces.",
        "setting.product_id_type": "Product identifier type",
        "help.product_id_type": "How offers point at their product when the SKU has an EAN (EAN, UPC…); without one, the shop SKU.",
        "setting.logistic_class": "Logistic class",
        "help.logistic_class": "Sent with every offer, where the marketplace asks for one.",
        "setting.file_import_from": "Offers per file from",
        "help.file_import_from": "Batches of this many offers or more go as an import file (OF01).",
        "setting.carriers": "Carriers",
        "help.carriers": 'The store\'s carrier → the marketplace\'s carrier code, as JSON: {"Correios": "CORREIOS"}.',
    },
    "es": {
        "name": "Mirakl (Carrefour, Leroy Merlin y otros)",
        "setting.operator": "Marketplace",
        "help.operator": "El nombre del marketplace que usa Mirakl, como Carrefour o Leroy Merlin.",
        "setting.base_url": "Dirección de la instancia Mirakl",
        "help.base_url": "La dirección que le dio el marketplace, como https://marketplace.mirakl.net.",
        "setting.api_key": "Clave de API de la tienda",
        "help.api_key": "En el panel del vendedor: Configuración de usuario → Clave de API. Una clave nueva reemplaza la anterior.",
        "setting.shop_id": "ID de la tienda",
        "help.shop_id": "Mi cuenta → Configuración. Necesario cuando su usuario tiene más de una tienda.",
        "setting.offer_state": "Condición de las ofertas",
        "help.offer_state": "El código de condición (state_code) de las ofertas; 11 es 'nuevo' en la mayoría.",
        "setting.product_id_type": "Tipo de identificador del producto",
        "help.product_id_type": "Cómo las ofertas señalan su producto cuando el SKU tiene EAN (EAN, UPC…); sin EAN, el SKU de la tienda.",
        "setting.logistic_class": "Clase logística",
        "help.logistic_class": "Se envía con cada oferta, cuando el marketplace la pide.",
        "setting.file_import_from": "Ofertas por archivo a partir de",
        "help.file_import_from": "Los lotes con este número de ofertas o más van como archivo de importación (OF01).",
        "setting.carriers": "Transportistas",
        "help.carriers": 'Transportista de la tienda → código del transportista en el marketplace, en JSON: {"Correos": "CORREOS"}.',
    },
}
