"""The catalog mapping's rules without a database: units converted, value maps, fixed values, and the checks before
sending each stopping what it must (and nothing else)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ponte.connectors.base import Connector, ListingRules, ProductSend
from ponte.engine import mapping
from ponte.i18n import Translator
from ponte.store.mappings import AttributeMapping


def send(**changes: object) -> ProductSend:
    values: dict[str, object] = dict(
        sku="S-1", name="Liquidificador Arno 600W", brand="Arno", category="1580", ean="7891234567895",
        description="d", attributes={"Tensão": "220 volts", "Cor": "Bege"}, images=("https://x/1.jpg",),
        weight_g=2600, height_cm=Decimal("30"), width_cm=Decimal("20"), length_cm=Decimal("20"), active=True,
        price=Decimal("99"), list_price=Decimal("120"), quantity=3,
    )  # fmt: skip
    values.update(changes)
    return ProductSend(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "given", "to", "expected"),
    [
        ("2600", "g", "kg", "2.6 kg"),
        ("0,5 kg", None, "g", "500 g"),
        ("30", "cm", "mm", "300 mm"),
        ("12 mm", None, "cm", "1.2 cm"),
        ("30", None, "cm", "30 cm"),
        ("azul", None, "cm", "azul"),  # not a measure: as it is
        ("3 kg", None, "cm", "3 kg"),  # another kind of unit: as it is
    ],
)
def test_it_converts_measures_to_the_attributes_unit(text: str, given: str | None, to: str, expected: str) -> None:
    assert mapping.convert(text, given, to) == expected


def rule(attribute: str, **values: object) -> AttributeMapping:
    base: dict[str, object] = dict(affiliate_id=1, category="1580", attribute=attribute, source="store",
                                   store_attribute=None, value=None, value_map={})  # fmt: skip
    base.update(values)
    return AttributeMapping(**base)  # type: ignore[arg-type]


def test_it_fills_attributes_from_store_attributes_value_maps_fixed_values_and_fields() -> None:
    m = mapping.AffiliateMapping(
        attributes={
            "1580": [
                rule("VOLTAGE", store_attribute="tensão", value_map={"220 VOLTS": "220V"}),
                rule("COLOR", store_attribute="Cor"),
                rule("CONDITION", source="fixed", value="Novo"),
                rule("PACKAGE_WEIGHT", store_attribute="weight_g"),
            ]
        },
        requirements={"1580": [mapping.Requirement("PACKAGE_WEIGHT", "Peso", True, (), "kg")]},
    )
    mapped = mapping.apply(send(), m, Connector, {})
    assert mapped.marketplace_category == "1580"  # unmapped: as the connector reads the store's
    assert {k: mapped.attributes[k] for k in ("VOLTAGE", "COLOR", "CONDITION", "PACKAGE_WEIGHT")} == {
        "VOLTAGE": "220V", "COLOR": "Bege", "CONDITION": "Novo", "PACKAGE_WEIGHT": "2.6 kg",
    }  # fmt: skip


def test_the_checks_stop_each_certain_refusal_and_let_a_good_product_go() -> None:
    m = mapping.AffiliateMapping(
        tree={"1500": mapping.TaxonomyNode("Casa", False), "1580": mapping.TaxonomyNode("Eletroportáteis", True)},
        requirements={"1580": [mapping.Requirement("VOLTAGE", "Voltagem", True, ("127V", "220V"), None)]},
    )
    rules = ListingRules(title_max=60, pictures_min=1, pictures_max=2, picture_extensions=(".jpg",))

    def verdict(**changes: object) -> str | None:
        s = mapping.apply(send(**changes), m, Connector, {})
        found = mapping.check(s, m, rules, dict(s.attributes))
        return found.code if found else None

    assert verdict(attributes={"VOLTAGE": "220V"}) is None
    assert verdict(attributes={"VOLTAGE": "220V"}, category="1500") == "ponte.check.category"
    assert verdict(attributes={"VOLTAGE": "220V"}, category="9999") == "ponte.check.category"
    assert verdict() == "ponte.check.attribute"
    assert verdict(attributes={"VOLTAGE": "110/220V"}) == "ponte.check.value"
    assert verdict(attributes={"VOLTAGE": "220V"}, name="x" * 61) == "ponte.check.title"
    assert verdict(attributes={"VOLTAGE": "220V"}, images=()) == "ponte.check.images"
    assert verdict(attributes={"VOLTAGE": "220V"}, images=("https://x/1.gif",)) == "ponte.check.images"
    assert verdict(attributes={"VOLTAGE": "220V"}, ean="7891234567890") == "ponte.check.gtin"
    unknown = mapping.AffiliateMapping()  # the tree never read: only what needs no tree is checked
    s = mapping.apply(send(category="1500"), unknown, Connector, {})
    assert mapping.check(s, unknown, ListingRules(), dict(s.attributes)) is None


def test_a_check_says_why_as_a_message_each_reader_reads_in_their_language() -> None:
    m = mapping.AffiliateMapping(tree={"1500": mapping.TaxonomyNode("Casa", False)})
    s = mapping.apply(send(category="1500"), m, Connector, {})
    found = mapping.check(s, m, ListingRules(), dict(s.attributes))
    assert found is not None and found.said is not None and found.said.key == "msg.check.not_sent"
    assert found.message.startswith("Not sent: category 1500 Casa") and "is not a leaf" in found.message
    pt = Translator("pt-BR").message(found.said)
    assert pt.startswith("Não enviado: a categoria 1500 Casa") and pt.endswith(
        "não é uma categoria folha: mapeie-a para uma folha"
    )
    assert "no es una categoría hoja" in Translator("es").message(found.said)
