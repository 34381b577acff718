"""A Bling affiliate's settings: the app's credentials, Bling's hosts, and how Ponte's orders become Bling's sales
orders (which store, which payment method, which status cancels)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from ponte.connectors.base import ConnectorSettings

# bling.md § 2: per account, every endpoint together.
REQUESTS_PER_SECOND = 3.0
REQUESTS_PER_DAY = 120_000
# Status ids of the sales-order module commonly seen in Bling accounts (bling.md § 5, [S]); an account may differ,
# read its own with GET /situacoes/modulos.
CANCELLED = 12


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


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

    @field_validator("api_url", "auth_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return _http_url(value)
