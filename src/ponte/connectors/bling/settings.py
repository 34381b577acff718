"""A Bling affiliate's settings: the app's credentials, Bling's hosts, and how Ponte's orders become Bling's sales
orders (which store, which payment method, which status cancels)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from ponte.connectors.base import ConnectorSettings, http_url
from ponte.domain.messages import SaidError, say

# bling.md § 2: per account, every endpoint together.
REQUESTS_PER_SECOND = 3.0
REQUESTS_PER_DAY = 120_000
# Status ids of the sales-order module commonly seen in Bling accounts (bling.md § 5, [S]); an account may differ,
# read its own with GET /situacoes/modulos.
CANCELLED = 12
# The SKU fields the catalog from Bling fills (bling.md § 3), "stock" for its balances (§ 4).
CATALOG_FIELDS = ("name", "description", "brand", "category", "ean", "images", "weight_g", "height_cm", "width_cm",
                  "length_cm", "active", "price", "stock")  # fmt: skip


class BlingSettings(ConnectorSettings):
    client_id: str = Field(min_length=1, max_length=128)  # the app's client_id (Central de Extensões)
    client_secret: SecretStr
    api_url: str = "https://api.bling.com.br/Api/v3"  # bling.md § 1: the API and its /oauth/token
    auth_url: str = "https://bling.com.br/Api/v3"  # the consent page's host: <auth_url>/oauth/authorize
    # The Bling payment method (forma de pagamento) of the installment a sales order carries; its id from
    # GET /formas-pagamentos. The spec requires `parcelas[].formaPagamento.id`.
    payment_method_id: int = Field(gt=0)
    # The Bling store (loja) each marketplace's orders belong to: marketplace code → loja id (0 or absent: none).
    store_ids: dict[str, int] = Field(default_factory=dict, max_length=100)
    cancelled_status_id: int = Field(default=CANCELLED, gt=0)  # the sales-order status that cancels
    requests_per_second: float = Field(default=REQUESTS_PER_SECOND, gt=0, le=REQUESTS_PER_SECOND)
    requests_per_day: int = Field(default=REQUESTS_PER_DAY, gt=0, le=REQUESTS_PER_DAY)
    invoice_days: int = Field(default=30, ge=1, le=365)  # how far back the first read of NF-e goes
    # -- the catalog from Bling (bling.md § 3–4) --
    # Read each product's full record (GTIN, weight, dimensions, images, category, variations): one more call per
    # product. Without it, only what Bling's product list gives (code, name, price, short description, first image).
    catalog_details: bool = True
    # The deposits (depósitos, GET /depositos) whose balance counts as stock for every marketplace (empty: all), and
    # per marketplace code the deposits that count for it instead.
    deposits: list[int] = Field(default_factory=list, max_length=100)
    marketplace_deposits: dict[str, list[int]] = Field(default_factory=dict, max_length=100)
    # Where a field changed both in Ponte and in Bling since the last read, Bling's value wins, except for these
    # fields, where the value typed in Ponte is kept. Every overwrite is in the audit log.
    ponte_wins: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("api_url", "auth_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return http_url(value)

    @field_validator("ponte_wins")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in CATALOG_FIELDS]
        if unknown:
            raise SaidError(
                say("msg.value.not_bling_field", names=", ".join(unknown), fields=", ".join(CATALOG_FIELDS))
            )
        return value
