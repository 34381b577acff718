"""Marketplace profiles: how each simulated marketplace words its errors and shapes its orders.

Ponte's own test marketplaces (Mercado Livre, Amazon, Mirakl and Bling have emulations of their real APIs, in their
connectors' packages). The wording follows real messages sellers see (shared/knowledge/examples.jsonl), so that the error
classifier is exercised with what it will meet in the field. Every error answer is
`{"code": <machine code>, "message": <human message>, "status": <http status>}`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ponte.sandbox.state import Order

REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

MAGALU = {
    "bad_request": ("requisicao_invalida", "Requisição inválida: {detail}"),
    "not_found": ("nao_encontrado", "Recurso não encontrado: {detail}"),
    "auth_grant": ("credenciais_invalidas", "Acesso Negado - client_id ou client_secret inválido"),
    "auth_token": ("token_invalido", "Acesso Negado - Auth-token inválido ou inexistente"),
    "seller_inactive": ("seller_inativo", "O seller está inativo e não pode publicar ofertas"),
    "rate_limited": ("limite_excedido", "Limite de requisições excedido. Aguarde alguns segundos e tente novamente"),
    "unavailable": ("indisponivel", "Serviço temporariamente indisponível ({status} {reason})"),
    "invalid_category": ("categoria_invalida", "A categoria {category} não existe ou não é uma categoria folha"),
    "missing_attributes": (
        "atributo_obrigatorio",
        "Os atributos obrigatórios [{attrs}] não foram informados para a categoria {category}",
    ),
    "invalid_attribute_value": ("valor_atributo_invalido", "Valor '{value}' inválido para o atributo {attr}"),
    "missing_description": ("descricao_obrigatoria", "O produto não possui descrição"),
    "missing_weight": ("peso_obrigatorio", "Este Sku não possui peso cadastrado ou é inferior a 1 grama"),
    "gtin_required": ("ean_obrigatorio", "O EAN é obrigatório para a categoria {category}"),
    "gtin_invalid": ("ean_invalido", "O EAN {ean} é inválido"),
    "gtin_conflict": ("ean_duplicado", "O EAN {ean} já está cadastrado em outro produto ({other})"),
    "images_missing": ("imagem_obrigatoria", "O produto deve ter ao menos uma imagem"),
    "images_too_many": ("imagens_excedidas", "O produto não pode ter mais de {max} imagens"),
    "image_bad": ("imagem_invalida", "Erro ao baixar a imagem {url}: formato de imagem não suportado"),
    "brand_restricted": ("marca_nao_autorizada", "A marca {brand} não está autorizada para este seller"),
    "under_review_notice": ("produto_em_moderacao", "O produto {item_id} foi recebido e está em moderação"),
    "item_not_found": ("produto_nao_integrado", "O produto pai não foi integrado"),
    "price_invalid": ("preco_invalido", "O preço {price} deve ser positivo e não pode ser maior que o preço de"),
    "price_range": ("preco_fora_da_faixa", "Preço fora da faixa permitida para a categoria ({min} a {max})"),
    "price_discount": (
        "desconto_excedido",
        "O preço de venda {price} é inferior ao desconto máximo de {max_discount}% sobre o preço de {list_price}",
    ),
    "price_discount_notice": ("desconto_alto", "Preço aceito, mas descontos acima de {notice}% podem ser revisados"),
    "blocked_price": (
        "produto_bloqueado",
        "O produto {item_id} está em moderação ({status}) e o preço não pode ser alterado",
    ),
    "blocked_stock": (
        "produto_bloqueado",
        "O produto {item_id} está em moderação ({status}) e o estoque não pode ser alterado",
    ),
    "stock_negative": ("estoque_negativo", "Os skus não possuem estoque suficiente: quantidade negativa ({quantity})"),
    "stock_zero_notice": ("produto_pausado", "O produto {item_id} foi pausado por falta de estoque"),
    "order_not_found": ("pedido_nao_encontrado", "Pedido {order_id} não encontrado"),
    "order_cancelled": ("pedido_cancelado", "O pedido {order_id} já está cancelado e não pode ser alterado"),
    "invoice_invalid": ("chave_nota_invalida", "Pedido com chave da nota inválida"),
    "tracking_missing": ("rastreio_obrigatorio", "O código de rastreio é obrigatório"),
    "shipment_items_mismatch": (
        "itens_divergentes",
        "A quantidade do sku {sku} na nota diverge da quantidade do pedido ({detail})",
    ),
}

AMAZON = {
    "bad_request": ("InvalidInput", "InvalidInput: {detail}"),
    "not_found": ("NotFound", "NotFound: {detail}"),
    "auth_grant": ("invalid_client", "Client authentication failed: Error validating grant for client credentials"),
    "auth_token": ("Unauthorized", "Access to requested resource is denied. The access token you provided is invalid"),
    "seller_inactive": ("5665", "We have temporarily removed your ability to submit listings"),
    "rate_limited": ("QuotaExceeded", "429 QuotaExceeded: You exceeded your quota for the requested resource."),
    "unavailable": ("InternalFailure", "{status} Temporary overloading or maintenance of the server."),
    "invalid_category": (
        "8560",
        "Category {category} not found in browse node mapping. Please choose a more specific global category",
    ),
    "missing_attributes": ("90220", "90220: The attributes [{attrs}] are required but not supplied"),
    "invalid_attribute_value": (
        "8572",
        "[Specification {attr}] specification value not mapped in file to any amazon possible values",
    ),
    "missing_description": ("90220", "90220: 'product_description' is required but not supplied"),
    "missing_weight": ("90220", "90220: 'item_weight' is required but not supplied"),
    "gtin_required": ("8058", "8058: The attributes [GTIN] are required for category {category}"),
    "gtin_invalid": ("8016", "{ean} is not a valid EAN"),
    "gtin_conflict": ("8541", "8541: Your submission conflicts with Amazon catalog data: EAN {ean} belongs to {other}"),
    "images_missing": ("18000", "18000: At least one main image is required"),
    "images_too_many": ("18001", "18001: Listings in category {category} cannot have more than {max} images"),
    "image_bad": (
        "18027",
        "18027: Error downloading the following url: {url}. Unknown / unsupported image type extension.",
    ),
    "brand_restricted": ("5665", "5665: Amazon must approve your brand before you can use it to list products"),
    "under_review_notice": ("8105", "8105: Listing {item_id} is under review and will be active after approval"),
    "item_not_found": ("8541", "8541: SKU {sku} not found for this seller"),
    "price_invalid": ("8026", "8026: price {price} must be positive and at most the list price"),
    "price_range": ("8047", "8047: price {price} is out of the allowed range for this category ({min}-{max})"),
    "price_discount": (
        "8050",
        "8050: sale price {price} exceeds the maximum discount of {max_discount}% over {list_price}",
    ),
    "price_discount_notice": ("8051", "8051: price accepted; discounts above {notice}% may suppress the Buy Box"),
    "blocked_price": ("8105", "Cannot update item {item_id} [status:{status}] price is not modifiable"),
    "blocked_stock": ("8105", "Cannot update item {item_id} [status:{status}] available quantity is not modifiable"),
    "stock_negative": ("8040", "8040: quantity {quantity} is invalid: it must be zero or greater"),
    "stock_zero_notice": ("8090", "8090: listing {item_id} is inactive: out of stock"),
    "order_not_found": ("InvalidOrderId", "InvalidOrderId: order {order_id} not found"),
    "order_cancelled": ("OrderCanceled", "Order {order_id} is canceled and cannot be confirmed"),
    "invoice_invalid": ("InvalidInvoiceKey", "InvalidInvoiceKey: invoice key {key} is not a valid NF-e access key"),
    "tracking_missing": ("MissingTrackingId", "MissingTrackingId: a tracking number is required"),
    "shipment_items_mismatch": (
        "InvalidQuantity",
        "InvalidQuantity: quantity of {sku} does not match the order ({detail})",
    ),
}


def _magalu_order(o: Order) -> dict[str, Any]:
    return {
        "codigo": o.id,
        "situacao": {"new": "novo", "acknowledged": "integrado", "cancelled": "cancelado"}.get(o.status, o.status),
        "criado_em": o.created_at,
        "itens": [{"sku": i["sku"], "quantidade": i["quantity"], "preco": i["price"]} for i in o.items],
        "valor_total": o.total,
        "valor_frete": o.shipping_total,
        "endereco_entrega": {"cep": o.postal_code},
        "cliente": {
            "nome": o.buyer.get("name"),
            "cpf": o.buyer.get("document"),
            "email": o.buyer.get("email"),
            "telefone": o.buyer.get("phone"),
        },
    }


def _money(value: float) -> dict[str, str]:
    return {"Amount": f"{value:.2f}", "CurrencyCode": "BRL"}


def _amazon_order(o: Order) -> dict[str, Any]:
    return {
        "AmazonOrderId": o.id,
        "OrderStatus": {"new": "Unshipped", "acknowledged": "Unshipped", "cancelled": "Canceled"}.get(
            o.status, o.status
        ),
        "PurchaseDate": o.created_at,
        "OrderItems": [
            {"SellerSKU": i["sku"], "QuantityOrdered": i["quantity"], "ItemPrice": _money(i["price"])} for i in o.items
        ],
        "OrderTotal": _money(o.total),
        "ShippingPrice": _money(o.shipping_total),
        "ShippingAddress": {"PostalCode": o.postal_code},
        "BuyerInfo": {
            "BuyerName": o.buyer.get("name"),
            "BuyerTaxInfo": {
                "TaxingRegion": "BR",
                "TaxClassifications": [{"Name": "CPF", "Value": o.buyer.get("document")}],
            },
            "BuyerEmail": o.buyer.get("email"),
            "BuyerPhone": o.buyer.get("phone"),
        },
    }


def _magalu_feed(orders: list[dict[str, Any]], cursor: str) -> dict[str, Any]:
    return {"pedidos": orders, "proximo_cursor": cursor}


def _amazon_feed(orders: list[dict[str, Any]], cursor: str) -> dict[str, Any]:
    return {"payload": {"Orders": orders, "NextToken": cursor}}


@dataclass(frozen=True)
class Profile:
    """One simulated marketplace: its vocabulary, id formats and order shape."""

    name: str
    label: str
    category_prefix: str
    item_prefix: str
    max_images: int
    messages: dict[str, tuple[str, str]]
    order_view: Callable[[Order], dict[str, Any]]
    feed_view: Callable[[list[dict[str, Any]], str], dict[str, Any]]
    order_id: Callable[[int], str]

    def error(self, kind: str, params: dict[str, Any] | None = None) -> tuple[str, str]:
        """The (code, message) this marketplace answers for a kind of problem."""
        code, template = self.messages[kind]
        values = dict(params or {})
        if isinstance(values.get("status"), int):
            values.setdefault("reason", REASONS.get(values["status"], "Server Error"))
        try:
            return code, template.format(**values)
        except (KeyError, IndexError, ValueError):
            return code, template

    def item_id(self, seller_id: str, sku: str) -> str:
        """The marketplace's id for a seller's SKU: stable, so a re-sent product keeps its listing."""
        digest = hashlib.blake2b(f"{self.name}:{seller_id}:{sku}".encode(), digest_size=8).digest()
        number = int.from_bytes(digest, "big")
        return f"{self.item_prefix}{number % 10**10:010d}"


PROFILES: dict[str, Profile] = {
    "magalu": Profile(
        "magalu", "Magalu", "MGLU", "MGLU", 8, MAGALU, _magalu_order, _magalu_feed, lambda n: f"LU-{1_000_000 + n}"
    ),
    "amazon": Profile(
        "amazon", "Amazon", "", "B0", 9, AMAZON, _amazon_order, _amazon_feed,
        lambda n: f"702-{3_000_000 + n:07d}-{(n * 7_919) % 10_000_000:07d}",
    ),
}  # fmt: skip
