"""The error knowledge base: classification of real and paraphrased messages, data validation, articles, causes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ponte.domain import Disposition
from ponte.knowledge import (
    AccountRule,
    KnowledgeError,
    article,
    categories,
    cause_key,
    classify,
    clear_knowledge_cache,
    explain_text,
    explanation_json,
    load_knowledge,
    normalise_message,
    render_article_html,
    validate_account_rule,
)
from ponte.knowledge.loader import DEFAULT_DIR, REQUIRED_CATEGORIES

SHARED_EXAMPLES = Path("/work/shared/knowledge/examples.jsonl")

# Real messages from shared/knowledge/examples.jsonl: (marketplace, flow, message, category, disposition).
EXAMPLES = [
    ("amazon", "order", "No available sla to deliver this order", "sla_unavailable", "fix"),
    ("b2w", "order", "Não há SLA disponível para o item do pedido", "sla_unavailable", "fix"),
    (
        "mercadolivre",
        "order",
        "Pedido não importado pois o SLA de entrega selecionado para o mesmo não está disponível",
        "sla_unavailable",
        "fix",
    ),
    ("amazon", "order", "Order with SKU out of stock", "out_of_stock", "fix"),
    ("magalu", "order", "Os skus não possuem estoque suficiente para integrar o pedido", "out_of_stock", "fix"),
    ("amazon", "order", "Order with SKU inactive or out of sales channel", "sku_not_sellable", "fix"),
    (
        "dafiti",
        "order",
        "O SKU 3301 não possui preço vigente para o canal de vendas configurado",
        "sku_not_sellable",
        "fix",
    ),
    (
        "vtex",
        "price",
        "Verifique se este SKU possui preço cadastrado para esta política ou se o preço não expirou.",
        "sku_not_sellable",
        "fix",
    ),
    ("netshoes", "order", "Este pedido possui Produto(s) que não existe(m) na VTEX", "sku_not_linked", "fix"),
    ("magalu", "inventory", "O produto pai não foi integrado", "sku_not_linked", "fix"),
    (
        "carrefour",
        "inventory",
        "Produto ainda não foi catalogado no Carrefour. Para reprocessar essa oferta, aguarde.",
        "sku_not_linked",
        "wait",
    ),
    (
        "b2w",
        "order",
        "O preço do pedido no marketplace é diferente do seu valor determinado na VTEX",
        "price_divergence",
        "fix",
    ),
    ("mercadolivre", "order", "Taxes are diferents from store desired values", "price_divergence", "fix"),
    (
        "mercadolivre",
        "price",
        "item.price.invalid: price is out of the allowed range for this category",
        "price_rejected",
        "fix",
    ),
    (
        "amazon",
        "product",
        "Specification Cor mapped not found neither in product or sku specifications",
        "missing_attribute",
        "fix",
    ),
    (
        "mercadolivre",
        "product",
        "item.attributes.missing_required: The attributes [BRAND, MODEL] are required for category MLB1055",
        "missing_attribute",
        "fix",
    ),
    ("mercadolivre", "product", "Sku não integrado pois o mesmo não possui descrição", "missing_attribute", "fix"),
    (
        "netshoes",
        "inventory",
        "Este Sku não possui peso cadastrado ou é inferior a 1 grama",
        "missing_attribute",
        "fix",
    ),
    (
        "amazon",
        "product",
        "[Specification Voltagem] specification value not mapped in file to any amazon possible values",
        "invalid_attribute_value",
        "fix",
    ),
    (
        "mercadolivre",
        "product",
        "Variation attribute is duplicated. Allowed unique attributes combinations.",
        "invalid_attribute_value",
        "fix",
    ),
    ("dafiti", "product", "Valor de variação inválido", "invalid_attribute_value", "fix"),
    (
        "amazon",
        "product",
        "Category 169 not found in browse node mapping. Please choose a more specific global category",
        "invalid_category",
        "fix",
    ),
    ("mercadolivre", "product", "item.category_id.invalid", "invalid_category", "fix"),
    ("amazon", "product", "SEM GTIN is not a valid EAN", "invalid_gtin", "fix"),
    ("mercadolivre", "product", "The attributes [GTIN] are required for category MLB1648", "invalid_gtin", "fix"),
    ("mercadolivre", "product", "Items in category MLA3697 cannot exceeds 12 pictures.", "image_problem", "fix"),
    (
        "dafiti",
        "product",
        "Error downloading the following url: https://cdn.loja.com/img/123.jpg. Error: Unknown / unsupported image type extension.",
        "image_problem",
        "fix",
    ),
    (
        "amazon",
        "product",
        "5665: Amazon must approve your brand before you can use it to list products",
        "seller_restricted",
        "marketplace",
    ),
    (
        "amazon",
        "product",
        "We have temporarily removed your ability to submit listings",
        "seller_restricted",
        "marketplace",
    ),
    (
        "mercadolivre",
        "inventory",
        "The caller is not authorized to access this resource. User not active",
        "seller_restricted",
        "marketplace",
    ),
    (
        "mercadolivre",
        "order",
        "Error validating grant. Your authorization code or refresh token may be expired or it was already used",
        "auth_invalid",
        "fix",
    ),
    ("amazon", "inventory", "Access to Feeds.SubmitFeed is denied.", "auth_invalid", "fix"),
    ("via", "inventory", "Acesso Negado - Auth-token inválido ou inexistente", "auth_invalid", "fix"),
    (
        "amazon",
        "price",
        "429 QuotaExceeded: You exceeded your quota for the requested resource.",
        "rate_limited",
        "transient",
    ),
    (
        "mercadolivre",
        "order",
        "Sorry, we couldn't process this request. Please, wait a few minutes and reprocess it",
        "rate_limited",
        "transient",
    ),
    ("b2w", "tracking", '"error":"HttpServerErrorException: 502 Bad Gateway"', "marketplace_unavailable", "transient"),
    (
        "amazon",
        "product",
        "503 Temporary overloading or maintenance of the server.",
        "marketplace_unavailable",
        "transient",
    ),
    (
        "mercadolivre",
        "inventory",
        "Cannot update item MLB123456789 [status:under_review] available quantity is not modifiable",
        "marketplace_side_block",
        "marketplace",
    ),
    (
        "shopee",
        "price",
        "Cannot update price for [item variation] because the product has promotion.",
        "marketplace_side_block",
        "marketplace",
    ),
    (
        "via",
        "order",
        "O pedido com marketplace id 998877 para o afiliado VIA já está cancelado e não pode ser recriado",
        "state_conflict",
        "terminal",
    ),
    ("dafiti", "order", "Pedido não integrado pois o mesmo não está pendente", "state_conflict", "terminal"),
    ("via", "order", "O campo Documento no perfil do cliente é inválido", "buyer_data_invalid", "marketplace"),
    ("shopee", "order", "code: 001 / Invalid Email", "buyer_data_invalid", "terminal"),
    ("b2w", "tracking", "Pedido com chave da nota inválida", "invoice_tracking_rejected", "fix"),
    (
        "erp",
        "order",
        "PEDIDO 3352226239 Interface = 15 Msg = transportadora / servico de entrega (Correios - Correios) nao cadastrados",
        "integration_config",
        "fix",
    ),
    ("amazon", "order", "Acesso não autorizado do seller lojaabc para o sales channel 3", "integration_config", "fix"),
]

# Our own wordings (pt/en/es, other ids, with and without codes), none of them verbatim in the rules:
# (category, expected disposition or None for the category default, connector, message, code).
PARAPHRASES = [
    ("sla_unavailable", None, None, "Nenhuma transportadora atende o CEP 01310-200 para o pedido 88123", None),
    (
        "sla_unavailable",
        None,
        "amazon",
        "No shipping options available for postal code 90210 (order 112-3344556-7788990)",
        None,
    ),
    ("sla_unavailable", None, None, "No hay opciones de envío disponibles para el código postal 28013", None),
    ("sla_unavailable", None, "vtex", "SLA indisponível para o item 4411 no pedido v99887766-01", None),
    ("out_of_stock", None, None, "Estoque insuficiente para o SKU 7781 (solicitado 3, disponível 1)", None),
    ("out_of_stock", None, "mercadolivre", "Sin stock disponible para la publicación MLA991122", None),
    ("out_of_stock", None, "amazon", "Item ZX-9910 is out of stock in fulfillment channel DEFAULT", None),
    ("out_of_stock", None, None, "Insufficient inventory for SKU 55-AB: requested 4, available 0", "STK001"),
    ("sku_not_sellable", None, None, "SKU 4412 está inativo e não pode ser vendido", None),
    ("sku_not_sellable", None, None, "Product 99812 is not available for sale on this sales policy", None),
    ("sku_not_sellable", None, None, "El producto 7781 está inactivo en el canal", None),
    ("sku_not_sellable", None, "vtex", "O SKU 12 não possui preço para a política comercial 3", None),
    ("sku_not_linked", None, None, "SKU 99123 não encontrado no marketplace", None),
    ("sku_not_linked", None, "amazon", "The product with seller SKU AB-778 does not exist in the catalog", None),
    ("sku_not_linked", None, None, "El producto 5521 no existe en el marketplace", None),
    (
        "sku_not_linked",
        "wait",
        None,
        "O produto 3321 ainda está em análise pelo marketplace, aguarde a catalogação",
        None,
    ),
    ("price_divergence", None, None, "Valor total do pedido 55661 diverge do valor calculado pela loja", None),
    ("price_divergence", None, None, "Order 7711 item price does not match the store price (99.90 vs 89.90)", None),
    ("price_divergence", None, None, "El precio del pedido 4432 no coincide con el precio de la tienda", None),
    ("price_rejected", None, None, "Preço de R$ 0,50 abaixo do mínimo permitido para a categoria", None),
    (
        "price_rejected",
        None,
        "mercadolivre",
        "item.price.too_low: the price 1.00 is lower than allowed",
        "item.price.too_low",
    ),
    ("price_rejected", None, None, "El precio 15000 supera el máximo permitido", None),
    ("price_rejected", None, None, "Discount of 85% exceeds the maximum allowed discount", None),
    ("missing_attribute", None, None, "O atributo obrigatório Voltagem não foi informado para o SKU 8812", None),
    (
        "missing_attribute",
        None,
        "amazon",
        "Missing required attribute 'item_package_weight' for product type SHOES",
        None,
    ),
    ("missing_attribute", None, None, "Falta el atributo obligatorio MARCA para la categoría MLA1234", None),
    ("missing_attribute", None, None, "Produto 7712 sem descrição", None),
    ("invalid_attribute_value", None, None, "Valor 'Azul Marinho' não é permitido para o atributo Cor", None),
    (
        "invalid_attribute_value",
        None,
        "mercadolivre",
        "item.attributes.invalid: value 'XXG' for attribute SIZE is not valid",
        "item.attributes.invalid",
    ),
    ("invalid_attribute_value", None, None, "El valor 'Rosa chicle' no es válido para el atributo COLOR", None),
    ("invalid_attribute_value", None, None, "Variações duplicadas: duas variações com a mesma cor e tamanho", None),
    ("invalid_category", None, None, "Categoria 1234 inexistente no marketplace", None),
    ("invalid_category", None, None, "The category MLB5566 is not a leaf category", None),
    ("invalid_category", None, None, "La categoría MLA9988 no existe", None),
    ("invalid_gtin", None, None, "Código de barras 7891234567890 inválido (dígito verificador)", None),
    ("invalid_gtin", None, None, "The EAN 1234567890123 has an invalid check digit", None),
    ("invalid_gtin", None, None, "El código GTIN 0789 no es válido", None),
    ("image_problem", None, None, "A imagem https://img.loja.com.br/p/1.png não pôde ser baixada", None),
    ("image_problem", None, None, "Main picture must be at least 500x500 pixels", None),
    ("image_problem", None, None, "La imagen 3 tiene un formato no soportado", None),
    ("seller_restricted", None, None, "Conta do vendedor suspensa pelo marketplace", None),
    (
        "seller_restricted",
        None,
        "amazon",
        "You are not authorized to list products under brand Acme. Brand approval is required.",
        None,
    ),
    ("seller_restricted", None, None, "La cuenta del vendedor 99812 está suspendida", None),
    ("auth_invalid", None, None, "Token de acesso expirado para o seller 1234", None),
    ("auth_invalid", None, None, "The access token provided has expired", None),
    ("auth_invalid", None, None, "Credenciales inválidas para la tienda 77", None),
    ("auth_invalid", None, "mercadolivre", "invalid_token", "invalid_token"),
    ("rate_limited", None, None, "Limite de requisições atingido, tente novamente em 60 segundos", None),
    ("rate_limited", None, None, "Too Many Requests", None),
    ("rate_limited", None, None, "Demasiadas solicitudes, intente nuevamente más tarde", None),
    ("marketplace_unavailable", None, None, "timeout", None),
    ("marketplace_unavailable", None, None, "connection failed: [Errno 111] Connection refused", None),
    ("marketplace_unavailable", None, None, "connection dropped: peer closed connection", None),
    ("marketplace_unavailable", None, None, "malformed JSON in response", None),
    ("marketplace_unavailable", None, None, "response too large", None),
    ("marketplace_unavailable", None, None, "Serviço temporariamente indisponível, tente mais tarde", None),
    ("marketplace_unavailable", None, None, "Servicio no disponible por mantenimiento programado", None),
    ("marketplace_side_block", None, None, "Anúncio MLB4455 finalizado: não é possível alterar o estoque", None),
    ("marketplace_side_block", None, None, "Listing B07XYZ is under review and cannot be updated", None),
    ("marketplace_side_block", None, None, "La publicación MLA5566 está pausada por el marketplace", None),
    ("marketplace_side_block", None, None, "Preço bloqueado: o produto participa de uma campanha ativa", None),
    ("state_conflict", None, None, "Pedido 4455 cancelado pelo comprador", None),
    ("state_conflict", None, None, "Order 112-9988 was already shipped and cannot be changed", None),
    ("state_conflict", None, None, "El pedido 9981 fue cancelado y no puede ser procesado", None),
    ("buyer_data_invalid", None, None, "CPF do comprador 123.456.789-00 inválido", None),
    ("buyer_data_invalid", None, None, "Customer phone number is invalid", None),
    ("buyer_data_invalid", None, None, "El DNI del cliente no es válido", None),
    (
        "invoice_tracking_rejected",
        None,
        None,
        "NF-e 35230512345678000190550010000123451000123458 rejeitada: chave de acesso inválida",
        None,
    ),
    ("invoice_tracking_rejected", None, None, "Tracking number BR123456789BR is invalid for carrier Correios", None),
    ("invoice_tracking_rejected", None, None, "La factura 0001-000123 es inválida", None),
    ("integration_config", None, None, "Transportadora 'Jadlog Expresso' não mapeada no ERP", None),
    ("integration_config", None, None, "Carrier 'FastShip' is not mapped for this connector", None),
    ("integration_config", None, None, "El canal de venta 4 no está configurado para el afiliado MLB", None),
]


# More wordings, written apart from the patterns to check how far they reach (category, message).
MORE_WORDINGS = [
    ("sla_unavailable", "Frete indisponível para o destino informado (CEP 69900-000)"),
    ("sla_unavailable", "Shipping method not available for destination zip 10001"),
    ("sla_unavailable", "No existe método de envío disponible para la dirección del comprador"),
    ("out_of_stock", "Quantidade solicitada (5) maior que o estoque disponível (2) para o SKU 991"),
    ("out_of_stock", "The requested quantity exceeds available stock for SKU 1231"),
    ("out_of_stock", "Producto agotado: SKU 5512"),
    ("sku_not_sellable", "SKU 8812 desativado no catálogo"),
    ("sku_not_sellable", "Preço não encontrado para o SKU 77 na tabela de preços"),
    ("sku_not_sellable", "SKU 441 has no price for trade policy 2"),
    ("sku_not_linked", "Não foi possível localizar o SKU 4412 no marketplace"),
    ("sku_not_linked", "SKU mapping not found for seller sku ABC-1"),
    ("sku_not_linked", "No se encontró el SKU 881 en el catálogo del marketplace"),
    ("price_divergence", "Divergência de preço no pedido 12345: marketplace R$ 99,90, loja R$ 89,90"),
    ("price_divergence", "Price mismatch between order and catalog for item 55"),
    ("price_rejected", "O preço de venda não pode ser maior que o preço de lista"),
    ("price_rejected", "Sale price must be lower than list price"),
    ("price_rejected", "El precio de oferta no puede ser mayor al precio de lista"),
    ("missing_attribute", "Campo 'marca' é obrigatório"),
    ("missing_attribute", "Dimensões do produto não informadas (altura, largura, comprimento)"),
    ("missing_attribute", "The field 'brand' is mandatory for this category"),
    ("missing_attribute", "Faltan las dimensiones del paquete"),
    ("invalid_attribute_value", "Tamanho 'GGG' não é um valor válido para a grade"),
    ("invalid_attribute_value", "Value 'Multicolor' is not one of the allowed values for COLOR"),
    ("invalid_category", "Categoria não mapeada para o marketplace"),
    ("invalid_category", "Category not found: 998877"),
    ("invalid_category", "Debe seleccionar una categoría hoja"),
    ("invalid_gtin", "EAN já cadastrado para outro produto no marketplace"),
    ("invalid_gtin", "Invalid UPC 0123"),
    ("image_problem", "Não foi possível baixar a URL https://x.com/a.jpg"),
    ("image_problem", "Resolución de la foto inferior a 500 píxeles"),
    ("seller_restricted", "Seller não habilitado para vender nesta categoria"),
    ("seller_restricted", "Your account has been deactivated"),
    ("auth_invalid", "401 Unauthorized"),
    ("auth_invalid", "Chave de API inválida"),
    ("auth_invalid", "El token de acceso ha expirado"),
    ("rate_limited", "Rate limit exceeded. Retry after 30 seconds"),
    ("rate_limited", "Excedido o limite de chamadas por minuto"),
    ("marketplace_unavailable", "Gateway Timeout"),
    ("marketplace_unavailable", "O marketplace está fora do ar"),
    ("marketplace_unavailable", "Error interno del servidor"),
    ("marketplace_side_block", "Não é possível alterar o preço de um anúncio com promoção ativa"),
    ("marketplace_side_block", "Listing is closed and cannot be updated"),
    ("state_conflict", "Pedido já faturado, não é possível alterar"),
    ("state_conflict", "Order is in status 'delivered' and cannot be integrated"),
    ("state_conflict", "La orden ya fue cancelada"),
    ("buyer_data_invalid", "Telefone do cliente em formato inválido"),
    ("buyer_data_invalid", "Buyer document number is invalid"),
    ("invoice_tracking_rejected", "Número de série da nota fiscal inválido"),
    ("invoice_tracking_rejected", "Código de rastreio já utilizado em outro pedido"),
    ("invoice_tracking_rejected", "Invoice key must have 44 digits"),
    ("integration_config", "Afiliado MLB não encontrado na configuração"),
    ("integration_config", "Forma de pagamento não mapeada no ERP"),
]

# Ids and numbers that look like HTTP statuses must not decide the category.
NUMBERS_INSIDE = [
    ("SKU 429 sem estoque", "out_of_stock"),
    ("Pedido 503 cancelado pelo comprador", "state_conflict"),
    ("Produto 500 não encontrado", "sku_not_linked"),
    ("O SKU ABC-500 não possui EAN", "invalid_gtin"),
]


@pytest.mark.parametrize(("marketplace", "flow", "message", "category", "disposition"), EXAMPLES)
def test_it_classifies_every_real_example(marketplace, flow, message, category, disposition):
    explanation = classify(connector=marketplace, flow=flow, message=message)
    assert (explanation.category, explanation.disposition.value) == (category, disposition)


@pytest.mark.parametrize(("marketplace", "flow", "message", "category", "disposition"), EXAMPLES)
def test_it_finds_the_category_of_real_examples_without_knowing_the_marketplace(
    marketplace, flow, message, category, disposition
):
    # Generic patterns alone must carry the category; marketplace rules only sharpen it.
    assert classify(connector=None, flow=flow, message=message).category == category


def test_it_classifies_the_shared_examples_file_when_present():
    if not SHARED_EXAMPLES.exists():
        pytest.skip("shared examples not available")
    for line in SHARED_EXAMPLES.read_text(encoding="utf-8").splitlines():
        example = json.loads(line)
        explanation = classify(connector=example["marketplace"], flow=example["flow"], message=example["message"])
        assert (explanation.category, explanation.disposition.value) == (example["category"], example["disposition"])


@pytest.mark.parametrize(("category", "disposition", "connector", "message", "code"), PARAPHRASES)
def test_it_generalises_to_paraphrases(category, disposition, connector, message, code):
    explanation = classify(connector=connector, flow="product", message=message, code=code)
    assert explanation.category == category, explanation.rule
    if disposition:
        assert explanation.disposition.value == disposition


def test_every_category_has_three_paraphrases():
    counted = {category: 0 for category in REQUIRED_CATEGORIES if category != "unmapped"}
    for category, *_ in PARAPHRASES:
        counted[category] += 1
    assert {category: n for category, n in counted.items() if n < 3} == {}


def test_it_ignores_case_and_accents():
    plain = classify(connector=None, flow="order", message="nao ha sla disponivel para o item do pedido")
    shouting = classify(connector=None, flow="order", message="NÃO HÁ SLA DISPONÍVEL PARA O ITEM DO PEDIDO")
    assert plain.category == shouting.category == "sla_unavailable"


def test_it_uses_a_code_given_apart_from_the_message():
    explanation = classify(
        connector="mercadolivre", flow="product", message="Bad request", code="item.category_id.invalid"
    )
    assert explanation.category == "invalid_category"
    assert explanation.rule == "code:mercadolivre:item.category_id.invalid"
    # A code the table does not list still falls to the marketplace's rule for its family.
    family = classify(connector="mercadolivre", flow="product", message="Bad request", code="item.category_id.unknown")
    assert (family.category, family.rule) == ("invalid_category", "mercadolivre:meli-category")


def test_it_falls_back_to_the_http_status():
    assert classify(connector=None, flow="price", message="???", http_status=429).category == "rate_limited"
    unavailable = classify(connector=None, flow="price", message="", http_status=502)
    assert (unavailable.category, unavailable.disposition) == ("marketplace_unavailable", Disposition.TRANSIENT)
    assert classify(connector=None, flow="price", message="nope", http_status=401).category == "auth_invalid"
    assert classify(connector=None, flow="price", message="nope", http_status=403).category == "auth_invalid"


def test_a_message_it_does_not_know_is_unmapped_and_needs_a_fix():
    explanation = classify(connector="vtex", flow="product", message="Lorem ipsum dolor sit amet", http_status=400)
    assert (explanation.category, explanation.disposition, explanation.rule) == ("unmapped", Disposition.FIX, None)
    assert explanation.help == "/help/unmapped"


def test_the_wording_can_change_the_disposition():
    waiting = classify(connector=None, flow="inventory", message="Produto 88 ainda não foi catalogado. Aguarde.")
    missing = classify(connector=None, flow="inventory", message="Produto 88 não encontrado no marketplace")
    assert (waiting.category, waiting.disposition) == ("sku_not_linked", Disposition.WAIT)
    assert (missing.category, missing.disposition) == ("sku_not_linked", Disposition.FIX)


def test_an_account_rule_wins_over_the_knowledge_base():
    rule = AccountRule(pattern=r"estoque insuficiente", category="integration_config")
    explanation = classify(connector=None, flow="order", message="Estoque insuficiente no SKU 9", account_rules=[rule])
    assert explanation.category == "integration_config"
    assert explanation.rule == "account:estoque insuficiente"


def test_an_account_rule_maps_an_unmapped_message_accent_insensitively():
    rule = AccountRule(pattern=r"fila de integração \d+ travada", category="marketplace_unavailable", id="r1")
    before = classify(connector="magalu", flow="price", message="Fila de integracao 42 travada")
    after = classify(connector="magalu", flow="price", message="Fila de integracao 42 travada", account_rules=[rule])
    # Unknown to every rule: unmapped, or at most the model's guess.
    assert before.category == "unmapped" or before.rule == "model"
    assert (after.category, after.disposition, after.rule) == (
        "marketplace_unavailable",
        Disposition.TRANSIENT,
        "account:r1",
    )


def test_an_account_rule_is_scoped_by_connector_and_flow():
    rule = AccountRule(pattern="lorem ipsum", category="out_of_stock", connector="magalu", flow="inventory")
    message = "Lorem ipsum 123"
    assert (
        classify(connector="magalu", flow="inventory", message=message, account_rules=[rule]).category == "out_of_stock"
    )
    assert classify(connector="amazon", flow="inventory", message=message, account_rules=[rule]).category == "unmapped"
    assert classify(connector="magalu", flow="price", message=message, account_rules=[rule]).category == "unmapped"


def test_an_account_rule_can_set_the_disposition():
    rule = AccountRule(pattern="lorem", category="state_conflict", disposition=Disposition.WAIT)
    assert classify(connector=None, flow="order", message="Lorem", account_rules=[rule]).disposition == Disposition.WAIT


def test_a_broken_account_rule_is_skipped_at_classification_and_refused_at_validation():
    broken = AccountRule(pattern="(unclosed", category="out_of_stock")
    assert classify(connector=None, flow="order", message="(unclosed", account_rules=[broken]).category == "unmapped"
    with pytest.raises(KnowledgeError, match="bad regular expression"):
        validate_account_rule(broken)
    with pytest.raises(KnowledgeError, match="unknown category"):
        validate_account_rule(AccountRule(pattern="x", category="nope"))
    with pytest.raises(KnowledgeError, match="empty message"):
        validate_account_rule(AccountRule(pattern=".*", category="out_of_stock"))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("O SKU 3301 não possui preço vigente", "O SKU 9 não possui preço vigente"),
        ("Cannot update item MLB123456789 [status:under_review]", "Cannot update item MLB42 [status:under_review]"),
        ("Error downloading https://cdn.a.com/1.jpg: bad type", "Error downloading http://b.com/x/2.png?s=1: bad type"),
        ("Valor 'Azul' inválido para o atributo Cor", "Valor 'Verde limão' inválido para o atributo Cor"),
        (
            "Chave 35230512345678000190550010000123451000123458 inválida",
            "Chave 3523 0512 3456 7800 0190 5500 1000 0012 3410 0012 3458 inválida",
        ),
        ("Pedido 112-3344556-7788990 cancelado", "Pedido 998877 cancelado"),
        ("Invalid Email a@b.com", "Invalid Email joao.silva+x@loja.com.br"),
        ("SKU ABC-123-X sem estoque", "SKU 77 sem estoque"),
    ],
)
def test_normalise_message_groups_messages_that_differ_only_in_values(first, second):
    assert normalise_message(first) == normalise_message(second)


def test_normalise_message_keeps_different_causes_apart():
    assert normalise_message("O SKU 1 não possui preço") != normalise_message("O SKU 1 não possui estoque")
    assert normalise_message("  O   SKU 3301 NÃO possui preço. ") == "o sku <n> nao possui preco"
    assert cause_key("sku_not_sellable", "O SKU 3301 não possui preço") == cause_key(
        "sku_not_sellable", "O SKU 12 não possui preço"
    )


def test_every_category_has_titles_fixes_and_both_articles():
    kb = load_knowledge()
    for category in REQUIRED_CATEGORIES:
        entry = kb.categories[category]
        for locale in ("pt-BR", "en"):
            assert entry.title[locale] and entry.fix[locale]
            text = article(category, locale)
            assert text.startswith("# ") and len(text) > 200, (category, locale)
    assert {c["code"] for c in categories()} >= set(REQUIRED_CATEGORIES)


def test_article_falls_back_to_english_and_renders_to_html():
    assert article("out_of_stock", "fr") == article("out_of_stock", "en")
    assert article("out_of_stock", "es") != article("out_of_stock", "en")  # written in Spanish (issue 26)
    html = render_article_html("out_of_stock", "pt-BR")
    assert "<h1>" in html and "<li>" in html
    with pytest.raises(LookupError):
        article("nope", "en")


def test_explain_text_and_json():
    explanation = classify(connector="amazon", flow="product", message="5665: Amazon must approve your brand")
    text = explain_text(explanation, "pt-BR")
    assert "seller_restricted" in text and "marketplace" in text and "/help/seller_restricted" in text
    assert "Vendedor sem permissão" in text
    assert "Seller not allowed" in explain_text(explanation, "en")
    data = explanation_json(explanation)
    assert {k: data[k] for k in ("category", "disposition", "help")} == {
        "category": "seller_restricted",
        "disposition": "marketplace",
        "help": "/help/seller_restricted",
    }
    assert set(data["fix"]) == {"pt-BR", "en", "es"}  # Spanish where the data gives it
    json.dumps(data)


def test_classify_results_carry_fixes_in_both_languages():
    explanation = classify(connector=None, flow="order", message="Order with SKU out of stock")
    assert explanation.fix["pt-BR"] and explanation.fix["en"] and explanation.title["pt-BR"]


# -- data files: a support person edits them; mistakes must be named clearly -------------------------


@pytest.fixture
def data_copy(tmp_path):
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edited_copy_loads_and_classifies(data_copy):
    _edit(
        data_copy / "rules" / "vtex.yaml",
        "rules:\n",
        "rules:\n  - {id: lorem, message: 'lorem ipsum', category: out_of_stock}\n",
    )
    kb = load_knowledge(data_copy)
    assert classify(connector="vtex", flow="inventory", message="Lorem ipsum", knowledge=kb).category == "out_of_stock"


def test_the_env_var_points_to_an_edited_copy(data_copy, monkeypatch):
    monkeypatch.setenv("PONTE_KNOWLEDGE_DIR", str(data_copy))
    clear_knowledge_cache()  # the variable is read on the first load
    try:
        assert load_knowledge().path == data_copy.resolve()
    finally:
        monkeypatch.delenv("PONTE_KNOWLEDGE_DIR")
        clear_knowledge_cache()
    assert load_knowledge().path == DEFAULT_DIR.resolve()


@pytest.mark.parametrize(
    ("file", "old", "new", "error"),
    [
        (
            "rules/amazon.yaml",
            "category: seller_restricted}",
            "category: brand_trouble}",
            r"amazon.yaml: rule amazon-brand-approval: unknown category 'brand_trouble'",
        ),
        (
            "rules/vtex.yaml",
            "message: 'preco cadastrado",
            "message: '(preco cadastrado",
            r"vtex.yaml: rule vtex-price-policy: bad regular expression",
        ),
        (
            "categories.yaml",
            "    pt-BR: Revise a política de envio",
            "    pl: Revise a política de envio",
            r"category 'sla_unavailable': missing pt-BR text in `fix`",
        ),
        (
            "categories.yaml",
            "out_of_stock:\n  disposition: fix",
            "out_of_stock:\n  disposition: later",
            r"category 'out_of_stock': unknown disposition 'later'",
        ),
        ("patterns.yaml", "out_of_stock:\n", "out_of_stok:\n", r"patterns.yaml: out_of_stok: unknown category"),
        (
            "patterns.yaml",
            "  - '\\bsla\\b'",
            "  - '(?:x)?'",
            r"patterns.yaml: sla_unavailable\[0\]: pattern .* matches an empty message",
        ),
        ("http_status.yaml", '"429": rate_limited', '"42": rate_limited', r"http_status.yaml: status '42'"),
        (
            "rules/carrefour.yaml",
            "disposition: wait",
            "disposition: soon",
            r"carrefour.yaml: rule carrefour-not-catalogued: unknown disposition",
        ),
        (
            "categories.yaml",
            "sla_unavailable:\n  disposition: fix\n  title",
            "sla_unavailable:\n  disposition: fix\n  title: [",
            r"categories.yaml: not valid YAML",
        ),
    ],
)
def test_a_bad_data_file_names_the_file_the_entry_and_the_problem(data_copy, file, old, new, error):
    _edit(data_copy / file, old, new)
    with pytest.raises(KnowledgeError, match=error):
        load_knowledge(data_copy)


def test_a_missing_article_is_an_error(data_copy):
    (data_copy / "articles" / "out_of_stock.en.md").unlink()
    with pytest.raises(KnowledgeError, match=r"missing help article out_of_stock\.en\.md"):
        load_knowledge(data_copy)


def test_a_missing_category_is_an_error(data_copy):
    text = (data_copy / "categories.yaml").read_text(encoding="utf-8")
    start = text.index("\nunmapped:")
    (data_copy / "categories.yaml").write_text(text[:start] + "\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="missing required categories: unmapped"):
        load_knowledge(data_copy)


@pytest.mark.parametrize(("category", "message"), MORE_WORDINGS + [(c, m) for m, c in NUMBERS_INSIDE])
def test_it_reads_more_wordings_and_ignores_numbers_inside(category, message):
    explanation = classify(connector=None, flow="product", message=message)
    assert explanation.category == category, explanation.rule
