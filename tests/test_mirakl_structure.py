"""The Mirakl connector reads the operator's catalog structure for the mapping (issue 21): H11 hierarchies, PM11
attributes and VL11 values lists, over real HTTP against the emulation, every request and answer held to Mirakl's
published spec; each at most once an hour, as the spec says."""

from __future__ import annotations

import pytest

from ponte.connectors.context import Deferred
from ponte.contract import contract


@pytest.fixture
def operator(mirakl):
    mirakl.admin("catalog", categories={"1055": ["MODEL"], "1002": ["VOLTAGE"]})
    return mirakl


def test_it_reads_the_hierarchies_with_their_parents_and_leaves(operator, make_mirakl, contract_recorder):
    tree = {c.id: c for c in make_mirakl().category_tree()}
    assert tree["1000"].leaf is False and tree["1000"].parent_id is None
    assert tree["1055"].leaf and tree["1055"].parent_id == "1000"
    assert tree["1055"].path == ("Eletrônicos, Áudio e Vídeo", "Celulares e Smartphones")
    assert tree["celulares"].leaf  # the operator's own codes, without a parent in the sandbox's tree
    contract_recorder.assert_reached("H11")


def test_it_reads_each_categorys_attributes_with_the_values_its_list_allows(operator, make_mirakl, contract_recorder):
    found = make_mirakl().category_attributes(["1002", "1055"])
    voltage = next(a for a in found["1002"] if a.id == "voltage")
    assert voltage.required and [v.name for v in voltage.values] == ["110V", "127V", "220V", "BIVOLT"]
    assert [(a.id, a.required) for a in found["1055"]] == [("brand", False), ("model", True)]
    contract_recorder.assert_reached("PM11", "VL11")


def test_it_does_not_read_the_structure_twice_within_the_hour(operator, make_mirakl):
    connector = make_mirakl()
    connector.category_tree()
    with pytest.raises(Deferred) as waiting:
        connector.category_tree()
    assert waiting.value.seconds > 3000
    assert len(operator.calls("H11")) == 1  # the second was never sent


def test_the_emulation_answers_h11_in_the_spec_shape_and_a_renamed_field_fails(operator, make_mirakl):
    import httpx

    from mirakl_support import KEY, SHOP

    answer = httpx.get(
        f"{operator.url}/api/hierarchies", params={"shop_id": SHOP}, headers={"Authorization": KEY}, timeout=10
    )
    body = answer.json()
    spec = contract("mirakl")
    target = f"/api/hierarchies?shop_id={SHOP}"
    assert spec.validate_response("GET", target, status=200, json=body, strict=True) == []
    body["hierarchies"][0]["parentCode"] = body["hierarchies"][0].pop("level")
    assert spec.validate_response("GET", target, status=200, json=body, strict=True) != []
