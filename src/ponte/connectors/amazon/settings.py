"""An Amazon affiliate's settings, and the words people read about them (pt-BR, English, Spanish).

The defaults are a Brazilian seller's (amazon-sp-api.md § 1): the North America endpoint (Canada, US, Mexico and
Brazil), Login with Amazon's token host, Seller Central Brazil's consent page and Brazil's marketplace id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ponte.connectors.base import ConnectorSettings, http_url

BRAZIL = "A2Q3Y263D00KWC"
NORTH_AMERICA = "https://sellingpartnerapi-na.amazon.com"
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
SELLER_CENTRAL_BR = "https://sellercentral.amazon.com.br"


class AmazonSettings(ConnectorSettings):
    client_id: str = Field(
        min_length=1, max_length=200
    )  # the app's LWA client identifier (amzn1.application-oa2-client…)
    client_secret: SecretStr
    application_id: str | None = Field(default=None, max_length=200)  # amzn1.sp.solution…: the consent page names it
    # A private app authorises itself in Seller Central and the seller pastes the refresh token it shows; a public
    # app gets one through the consent page ("Conectar com a Amazon").
    refresh_token: SecretStr | None = None
    seller_id: str | None = Field(default=None, max_length=40)  # the merchant token; the consent page tells it
    api_url: str = NORTH_AMERICA
    token_url: str = LWA_TOKEN_URL
    consent_url: str = SELLER_CENTRAL_BR
    draft_app: bool = False  # an app still in DRAFT is authorised with version=beta
    marketplace_id: str = Field(default=BRAZIL, min_length=1, max_length=20)
    product_type: str = Field(default="PRODUCT", min_length=1, max_length=80)  # when the category maps to none
    language_tag: str = Field(default="pt_BR", min_length=2, max_length=10)
    currency: str = Field(default="BRL", min_length=3, max_length=3)
    condition_type: str = Field(default="new_new", min_length=1, max_length=40)
    fulfillment_channel: Literal["DEFAULT"] = "DEFAULT"  # seller-fulfilled (MFN); FBA stock is Amazon's to count
    carriers: dict[str, str] = Field(default_factory=dict, max_length=100)  # store carrier → Amazon carrierCode

    @field_validator("api_url", "token_url", "consent_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return http_url(value)


LABELS: Mapping[str, Mapping[str, str]] = {
    "pt-BR": {
        "name": "Amazon",
        "connect": "Conectar com a Amazon",
        "setting.client_id": "Identificador do cliente LWA",
        "help.client_id": "Do app registrado no Solution Provider Portal (Login with Amazon). Cadastre nele a URL de "
        "retorno <Ponte>/oauth/callback/amazon.",
        "setting.client_secret": "Segredo do cliente LWA",
        "setting.application_id": "ID do aplicativo (amzn1.sp.solution…)",
        "help.application_id": "Necessário para conectar pela página de consentimento da Seller Central.",
        "setting.refresh_token": "Refresh token (app privado)",
        "help.refresh_token": "Para um app privado autorizado na própria Seller Central: cole aqui o token "
        "que ela mostra, com o ID do vendedor.",
        "setting.seller_id": "ID do vendedor (merchant token)",
        "setting.api_url": "Endpoint da SP-API",
        "setting.token_url": "URL de token LWA",
        "setting.consent_url": "Seller Central (página de consentimento)",
        "setting.draft_app": "App em rascunho (version=beta)",
        "setting.marketplace_id": "ID do marketplace",
        "setting.product_type": "Tipo de produto padrão",
        "help.product_type": "Usado quando a categoria da loja não está mapeada a um tipo de produto da Amazon.",
        "setting.language_tag": "Idioma dos textos",
        "setting.currency": "Moeda",
        "setting.condition_type": "Condição (new_new = novo)",
        "setting.fulfillment_channel": "Canal de atendimento (DEFAULT = pelo vendedor)",
        "setting.carriers": "Transportadoras",
        "help.carriers": 'Transportadora da loja → código da transportadora na Amazon, em JSON: {"Correios": "Correios"}.',
    },
    "en": {
        "name": "Amazon",
        "connect": "Connect with Amazon",
        "setting.client_id": "LWA client identifier",
        "help.client_id": "From the app registered in the Solution Provider Portal (Login with Amazon). Register "
        "in it the redirect URI <Ponte>/oauth/callback/amazon.",
        "setting.client_secret": "LWA client secret",
        "setting.application_id": "Application ID (amzn1.sp.solution…)",
        "help.application_id": "Needed to connect through Seller Central's consent page.",
        "setting.refresh_token": "Refresh token (private app)",
        "help.refresh_token": "For a private app authorised in Seller Central itself: paste the token it shows, "
        "with the seller ID.",
        "setting.seller_id": "Seller ID (merchant token)",
        "setting.api_url": "SP-API endpoint",
        "setting.token_url": "LWA token URL",
        "setting.consent_url": "Seller Central (consent page)",
        "setting.draft_app": "Draft app (version=beta)",
        "setting.marketplace_id": "Marketplace ID",
        "setting.product_type": "Default product type",
        "help.product_type": "Used when the store's category is not mapped to an Amazon product type.",
        "setting.language_tag": "Language of the texts",
        "setting.currency": "Currency",
        "setting.condition_type": "Condition (new_new = new)",
        "setting.fulfillment_channel": "Fulfilment channel (DEFAULT = by the seller)",
        "setting.carriers": "Carriers",
        "help.carriers": 'The store\'s carrier → Amazon\'s carrier code, as JSON: {"Correios": "Correios"}.',
    },
    "es": {
        "name": "Amazon",
        "connect": "Conectar con Amazon",
        "setting.client_id": "Identificador de cliente LWA",
        "help.client_id": "De la app registrada en el Solution Provider Portal (Login with Amazon). Registre en ella "
        "la URL de retorno <Ponte>/oauth/callback/amazon.",
        "setting.client_secret": "Secreto de cliente LWA",
        "setting.application_id": "ID de la aplicación (amzn1.sp.solution…)",
        "help.application_id": "Necesario para conectar por la página de consentimiento de Seller Central.",
        "setting.refresh_token": "Refresh token (app privada)",
        "help.refresh_token": "Para una app privada autorizada en la propia Seller Central: pegue el token que "
        "muestra, con el ID del vendedor.",
        "setting.seller_id": "ID del vendedor (merchant token)",
        "setting.api_url": "Endpoint de la SP-API",
        "setting.token_url": "URL de token LWA",
        "setting.consent_url": "Seller Central (página de consentimiento)",
        "setting.draft_app": "App en borrador (version=beta)",
        "setting.marketplace_id": "ID del marketplace",
        "setting.product_type": "Tipo de producto predeterminado",
        "help.product_type": "Se usa cuando la categoría de la tienda no está asignada a un tipo de producto de Amazon.",
        "setting.language_tag": "Idioma de los textos",
        "setting.currency": "Moneda",
        "setting.condition_type": "Condición (new_new = nuevo)",
        "setting.fulfillment_channel": "Canal de cumplimiento (DEFAULT = por el vendedor)",
        "setting.carriers": "Transportistas",
        "help.carriers": 'Transportista de la tienda → código del transportista en Amazon, en JSON: {"Correos": "Correos"}.',
    },
}
