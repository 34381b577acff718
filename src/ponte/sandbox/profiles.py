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


def _magalu_feed(orders: list[dict[str, Any]], cursor: str) -> dict[str, Any]:
    return {"pedidos": orders, "proximo_cursor": cursor}


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
}
