"""The words of the Bling connector people read, per locale."""

from __future__ import annotations

from collections.abc import Mapping

_HELP_PT = (
    "Do aplicativo criado na Central de Extensões do Bling; cadastre nele o link de redirecionamento "
    "<Ponte>/oauth/callback/bling e os escopos de pedidos de venda, contatos, produtos e notas fiscais."
)
_HELP_EN = (
    "From the app created in Bling's Central de Extensões; register in it the redirect link "
    "<Ponte>/oauth/callback/bling and the scopes for sales orders, contacts, products and invoices."
)
_HELP_ES = (
    "De la aplicación creada en la Central de Extensões de Bling; registre en ella el enlace de redirección "
    "<Ponte>/oauth/callback/bling y los alcances de pedidos de venta, contactos, productos y facturas."
)

LABELS: Mapping[str, Mapping[str, str]] = {
    "pt-BR": {
        "name": "Bling (ERP)",
        "connect": "Conectar com o Bling",
        "setting.client_id": "Client ID do aplicativo",
        "setting.client_secret": "Client Secret do aplicativo",
        "setting.api_url": "URL da API",
        "setting.auth_url": "URL de autorização",
        "setting.payment_method_id": "ID da forma de pagamento dos pedidos",
        "setting.store_ids": "Lojas do Bling por marketplace (JSON: código do marketplace → ID da loja)",
        "setting.cancelled_status_id": "ID da situação Cancelado",
        "setting.requests_per_second": "Requisições por segundo",
        "setting.requests_per_day": "Requisições por dia",
        "setting.invoice_days": "Dias de notas fiscais lidos na primeira leitura",
        "setting.catalog_details": "Ler a ficha completa de cada produto (GTIN, peso, medidas, imagens, categoria, variações)",
        "setting.deposits": "Depósitos cujo saldo conta como estoque (JSON: lista de IDs; vazio: todos)",
        "setting.marketplace_deposits": "Depósitos por marketplace (JSON: código do marketplace → lista de IDs)",
        "setting.ponte_wins": 'Campos em que vale o que foi digitado no Ponte quando ambos mudaram (JSON: lista, ex. ["name", "description"])',
        "help.client_id": _HELP_PT,
        "help.payment_method_id": "Veja os IDs em Bling → Cadastros → Formas de pagamento (GET /formas-pagamentos).",
    },
    "en": {
        "name": "Bling (ERP)",
        "connect": "Connect with Bling",
        "setting.client_id": "App client ID",
        "setting.client_secret": "App client secret",
        "setting.api_url": "API URL",
        "setting.auth_url": "Authorisation URL",
        "setting.payment_method_id": "Payment method ID of the orders",
        "setting.store_ids": "Bling stores per marketplace (JSON: marketplace code → store ID)",
        "setting.cancelled_status_id": "ID of the Cancelled status",
        "setting.requests_per_second": "Requests per second",
        "setting.requests_per_day": "Requests per day",
        "setting.invoice_days": "Days of invoices read the first time",
        "setting.catalog_details": "Read each product's full record (GTIN, weight, dimensions, images, category, variations)",
        "setting.deposits": "Deposits whose balance counts as stock (JSON: list of IDs; empty: all)",
        "setting.marketplace_deposits": "Deposits per marketplace (JSON: marketplace code → list of IDs)",
        "setting.ponte_wins": 'Fields where what was typed in Ponte wins when both changed (JSON: list, e.g. ["name", "description"])',
        "help.client_id": _HELP_EN,
        "help.payment_method_id": "See the IDs in Bling → Cadastros → Formas de pagamento (GET /formas-pagamentos).",
    },
    "es": {
        "name": "Bling (ERP)",
        "connect": "Conectar con Bling",
        "setting.client_id": "Client ID de la aplicación",
        "setting.client_secret": "Client Secret de la aplicación",
        "setting.api_url": "URL de la API",
        "setting.auth_url": "URL de autorización",
        "setting.payment_method_id": "ID de la forma de pago de los pedidos",
        "setting.store_ids": "Tiendas de Bling por marketplace (JSON: código del marketplace → ID de la tienda)",
        "setting.cancelled_status_id": "ID de la situación Cancelado",
        "setting.requests_per_second": "Solicitudes por segundo",
        "setting.requests_per_day": "Solicitudes por día",
        "setting.invoice_days": "Días de facturas leídos la primera vez",
        "setting.catalog_details": "Leer la ficha completa de cada producto (GTIN, peso, medidas, imágenes, categoría, variaciones)",
        "setting.deposits": "Depósitos cuyo saldo cuenta como stock (JSON: lista de IDs; vacío: todos)",
        "setting.marketplace_deposits": "Depósitos por marketplace (JSON: código del marketplace → lista de IDs)",
        "setting.ponte_wins": 'Campos en que vale lo escrito en Ponte cuando ambos cambiaron (JSON: lista, p. ej. ["name", "description"])',
        "help.client_id": _HELP_ES,
        "help.payment_method_id": "Vea los IDs en Bling → Cadastros → Formas de pagamento (GET /formas-pagamentos).",
    },
}
