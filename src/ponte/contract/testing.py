"""Contract tests: a pytest fixture that records what the connectors send to the emulations and fails on departures.

List this module in a conftest's `pytest_plugins` (tests/conftest.py does), then::

    def test_it_lists_a_product_on_amazon(contract_recorder, make_connector):
        connector.send_product(...)                       # over real HTTP to the emulation
        contract_recorder.assert_reached("putListingsItem")  # the test did send something

At the end of the test the fixture fails it, listing every request (and every emulation answer) that departs from
the published specification — undeclared fields included (strict mode).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ponte.contract.asgi import ContractRecorder, recording


@pytest.fixture(name="contract_recorder")
def contract_recorder_fixture() -> Iterator[ContractRecorder]:
    """Records every exchange any ContractMiddleware of this process sees during the test; fails it on departures."""
    with recording(ContractRecorder(strict=True, responses=True)) as recorder:
        yield recorder
    recorder.assert_clean()
