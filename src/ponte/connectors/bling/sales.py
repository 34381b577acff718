"""Ponte's orders as Bling's sales orders (`POST /pedidos/vendas`), their buyers as Bling's contacts (`POST
/contatos`), and Bling's NF-e documents read back (bling.md § 5–7; field names from the spec's VendasDadosDTO,
ContatosDadosDTO and NotasFiscaisDadosDTO)."""

from __future__ import annotations

import base64
import gzip
from datetime import date
from decimal import Decimal
from typing import Any

from ponte.connectors.base import OrderSend

# NF-e `situacao` (bling.md § 6): 5 Autorizada, 6 Emitida DANFE, 7 Registrada — issued, its key final; 1 Pendente,
# 3 Aguardando recibo, 8 Aguardando protocolo, 10 Consulta situação — on the way; the rest never will be.
ISSUED = frozenset({5, 6, 7})
ON_THE_WAY = frozenset({1, 3, 8, 10})
CIF = 0  # transporte.fretePorConta: 0 = contratação do frete por conta do remetente (CIF)


def digits(value: Any) -> str:
    return "".join(c for c in str(value or "") if c.isdigit())


def contact_body(send: OrderSend) -> dict[str, Any]:
    """The buyer as a Bling contact: a CPF makes a person (`F`), a CNPJ a company (`J`)."""
    buyer = send.buyer
    document = digits(buyer.get("document"))
    body: dict[str, Any] = {
        "nome": str(buyer.get("name") or f"Comprador {send.marketplace} {send.order_id}")[:120],
        "tipo": "J" if len(document) == 14 else "F",
        "situacao": "A",
        "numeroDocumento": document,
        "endereco": {"geral": {"cep": send.postal_code}},
    }
    if buyer.get("email"):
        body["email"] = str(buyer["email"])[:254]
    if buyer.get("phone"):
        body["telefone"] = str(buyer["phone"])[:40]
    return body


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def sale_body(
    send: OrderSend,
    *,
    contact_id: int,
    products: dict[str, dict[str, Any]],
    store_id: int | None,
    payment_method_id: int,
) -> dict[str, Any]:
    """The sales order: the marketplace's order number as `numeroLoja` (how a retry finds it), items by code with
    their Bling product, the store, one installment of the total, and the shipping paid by the seller."""
    day = (send.placed_at.date() if send.placed_at else date.today()).isoformat()
    items = []
    for line in send.items:
        product = products[line.sku]
        items.append(
            {
                "codigo": line.sku,
                "descricao": str(product.get("nome") or line.sku),
                "unidade": "UN",
                "quantidade": line.quantity,
                "valor": _money(line.price),
                # Required by the spec's VendasItemDTO though not among its properties (the list price, before the
                # line's `desconto`): Ponte gives no line discount, so it is the price.
                "valorLista": _money(line.price),
                "produto": {"id": int(product["id"])},
            }
        )
    body: dict[str, Any] = {
        "numeroLoja": send.order_id,
        "data": day,
        "dataSaida": day,
        "dataPrevista": day,
        "contato": {"id": contact_id},
        "itens": items,
        "parcelas": [{"dataVencimento": day, "valor": _money(send.total), "formaPagamento": {"id": payment_method_id}}],
        "transporte": {"fretePorConta": CIF, "frete": _money(send.shipping_total)},
        "observacoesInternas": f"Pedido {send.order_id} do marketplace {send.marketplace}, enviado pelo Ponte",
    }
    if store_id:
        body["loja"] = {"id": store_id}
    return body


def document_xml(answer: Any) -> str | None:
    """The XML of `GET /nfe/documento/{chaveAcesso}?formato=xml`: `data[].conteudo`, GZIP then base64 (bling.md § 6)."""
    files = answer.get("data") if isinstance(answer, dict) else None
    for file in files if isinstance(files, list) else []:
        content = file.get("conteudo") if isinstance(file, dict) else None
        if not content:
            continue
        try:
            return gzip.decompress(base64.b64decode(content)).decode("utf-8")
        except (ValueError, OSError, UnicodeDecodeError):
            return None
    return None


def tracking_of(sale: dict[str, Any]) -> tuple[str | None, str | None]:
    """(carrier service, tracking code) of a sales order's first volume that has a code."""
    volumes = (sale.get("transporte") or {}).get("volumes") or []
    for volume in volumes if isinstance(volumes, list) else []:
        if isinstance(volume, dict) and volume.get("codigoRastreamento"):
            return (str(volume.get("servico") or "") or None), str(volume["codigoRastreamento"])
    return None, None
