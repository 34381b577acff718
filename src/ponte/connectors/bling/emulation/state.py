"""What the emulated Bling holds: the apps registered in its Central de Extensões, the companies (accounts) that
authorised them and their tokens, and each company's products, contacts, sales orders and NF-e.

Time is the emulation's own clock (`now()`): the real time plus what `_admin/clock` added, so that a test can make
an authorisation code expire, an access token die or an NF-e be issued without waiting.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ponte.domain.checks import nfe_check_digit

CODE_LIFE = 60.0  # an authorisation code expires in 1 minute (bling.md § 1)
ACCESS_LIFE = 21_600.0  # 6 h, Bling's example `expires_in`
REFRESH_LIFE = 30 * 86_400.0  # 30 days
NFE_SECONDS = 120.0  # a sales order's NF-e is issued this long after it was created (emulation's clock)
CNPJ = "12345678000195"
DEPOSIT = 14_888_000_001  # the company's "Geral" deposit
WINDOW = 0.75  # seconds in which `rate` calls are counted (see spend)


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass
class Company:
    id: str  # Bling's company id is a hex string (EmpresasDadosBasicosDTO)
    nome: str
    cnpj: str
    payment_methods: set[int] = field(default_factory=lambda: {1})
    stores: set[int] = field(default_factory=set)
    deposits: list[int] = field(default_factory=lambda: [DEPOSIT])  # depósitos (GET /depositos)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    sales: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, dict[str, Any]] = field(default_factory=dict)
    issued_at: dict[int, float] = field(default_factory=dict)  # sale id → when its NF-e is due (clock)
    tracked_at: dict[int, float] = field(default_factory=dict)  # sale id → when its carrier's code comes (clock)
    calls: list[float] = field(default_factory=list)  # when each recent API call came (rate limit)
    day_calls: dict[str, int] = field(default_factory=dict)  # calls per day


@dataclass
class Token:
    client_id: str
    company_id: str
    expires: float


@dataclass
class Config:
    rate: float = 3.0  # requests a second per company (bling.md § 2)
    daily: int = 120_000
    nfe_seconds: float = NFE_SECONDS
    carrier: str = "Correios"
    tracking_seconds: float = 0.0  # the carrier's code comes this long after the NF-e (0: with it)


class BlingState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.offset = 0.0
            self.apps: dict[str, App] = {}
            self.companies: dict[str, Company] = {}
            self.codes: dict[str, Token] = {}
            self.access: dict[str, Token] = {}
            self.refresh: dict[str, Token] = {}
            self.config = Config()
            self.sequence = 16_000_000
            self.throttled = 0
            self.refreshes = 0
            self.webhooks: dict[str, str] = {}  # app client_id → the URL its webhooks go to
            self.webhooks_sent = 0
            self.webhooks_failed = 0

    def snapshot(self) -> dict[str, Any]:
        """What outlives a restart of the sandbox: the apps, the companies and what they hold, and the grants (a
        company's authorisation outlives a restart, as on the real Bling)."""
        with self.lock:
            return {
                "apps": self.apps,
                "companies": self.companies,
                "access": self.access,
                "refresh": self.refresh,
                "sequence": self.sequence,
                "webhooks": self.webhooks,
            }

    def restore(self, kept: dict[str, Any]) -> None:
        with self.lock:
            for name in ("apps", "companies", "access", "refresh", "webhooks"):
                getattr(self, name).update(kept.get(name) or {})
            self.sequence = max(self.sequence, int(kept.get("sequence") or 0))

    # -- time -----------------------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.offset

    def today(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def next_id(self) -> int:
        with self.lock:
            self.sequence += 1
            return self.sequence

    # -- tokens ---------------------------------------------------------------------------------------------
    def issue(self, client_id: str, company_id: str) -> dict[str, Any]:
        """A new access and refresh token pair, in the token endpoint's shape (bling.md § 1)."""
        access, refresh = secrets.token_hex(20), secrets.token_hex(20)
        now = self.now()
        with self.lock:
            self.access[access] = Token(client_id, company_id, now + ACCESS_LIFE)
            self.refresh[refresh] = Token(client_id, company_id, now + REFRESH_LIFE)
        return {
            "access_token": access,
            "expires_in": int(ACCESS_LIFE),
            "token_type": "Bearer",
            "scope": "98309 318257570 5862218180",
            "refresh_token": refresh,
        }

    def revoke(self, client_id: str, company_id: str) -> None:
        with self.lock:
            for table in (self.access, self.refresh):
                for key in [k for k, t in table.items() if (t.client_id, t.company_id) == (client_id, company_id)]:
                    del table[key]

    def holder(self, access: str) -> Token | None:
        token = self.access.get(access)
        return token if token is not None and token.expires > self.now() else None

    # -- limits ---------------------------------------------------------------------------------------------
    def spend(self, company: Company) -> tuple[int, str] | None:
        """Count one call; (limit, period) when it is over Bling's limits (bling.md § 2)."""
        now = self.now()
        day = self.today().date().isoformat()
        with self.lock:
            # The second of the limit, less what a client's pacing may be off by: a client takes its token before
            # the request leaves, and the time between (a database write, a connection) varies by tens of ms.
            company.calls = [t for t in company.calls if t > now - WINDOW]
            if company.day_calls.get(day, 0) >= self.config.daily:
                return self.config.daily, "day"
            if len(company.calls) >= self.config.rate:
                self.throttled += 1
                return int(self.config.rate), "second"
            company.calls.append(now)
            company.day_calls[day] = company.day_calls.get(day, 0) + 1
        return None

    # -- NF-e -----------------------------------------------------------------------------------------------
    def issue_due_notes(self, company: Company) -> None:
        """Issue the NF-e of every sales order whose time has come (authorised by SEFAZ at once, as the emulation
        has no SEFAZ), with a tracking code on the order's volume."""
        now = self.now()
        with self.lock:
            for sale_id, due in list(company.issued_at.items()):
                sale = company.sales.get(sale_id)
                if sale is None or due > now:
                    continue
                del company.issued_at[sale_id]
                if (sale.get("situacao") or {}).get("id") == 12:
                    continue  # cancelled before it was invoiced
                self._note_for(company, sale)
            for sale_id, due in list(company.tracked_at.items()):
                if due <= now:
                    del company.tracked_at[sale_id]
                    self._tracking_for(company.sales[sale_id])

    def _tracking_for(self, sale: dict[str, Any]) -> None:
        for volume in (sale.get("transporte") or {}).get("volumes") or []:
            volume["codigoRastreamento"] = f"BL{volume['id'] % 10**9:09d}BR"

    def _note_for(self, company: Company, sale: dict[str, Any]) -> None:
        note_id = self.next_id()
        number = len(company.notes) + 1
        emitted = self.today()
        body = (
            "35"
            + emitted.strftime("%y%m")
            + company.cnpj
            + "55"
            + "001"
            + f"{number:09d}"
            + "1"
            + f"{note_id % 10**8:08d}"
        )
        key = body + str(nfe_check_digit(body))
        tracking = f"BL{number:09d}BR"
        late = self.config.tracking_seconds > 0
        if late:  # the volume's code comes later (tracked_at), as a carrier's does
            company.tracked_at[sale["id"]] = self.now() + self.config.tracking_seconds
        sale["notaFiscal"] = {"id": note_id}
        sale["transporte"] = {**sale.get("transporte", {}), "volumes": [
            {"id": self.next_id(), "servico": self.config.carrier, "codigoRastreamento": "" if late else tracking}
        ]}  # fmt: skip
        company.notes[note_id] = {
            "id": note_id,
            "tipo": 1,
            "situacao": 5,
            "numero": f"{number:06d}",
            "serie": 1,
            "dataEmissao": emitted.strftime("%Y-%m-%d %H:%M:%S"),
            "dataOperacao": emitted.strftime("%Y-%m-%d %H:%M:%S"),
            "chaveAcesso": key,
            "contato": dict(
                company.contacts.get(sale["contato"]["id"], {"nome": "Consumidor"}), id=sale["contato"]["id"]
            ),
            "naturezaOperacao": {"id": 1},
            "loja": {"id": (sale.get("loja") or {}).get("id", 0)},
            "numeroPedidoLoja": sale.get("numeroLoja") or "",
            "valorNota": sale.get("total", 0.0),
            "transporte": {"transportador": {"nome": self.config.carrier}},
            "xml": nfe_xml(key),
        }


def nfe_xml(key: str) -> str:
    """A minimal NF-e document carrying its access key."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="http://www.portalfiscal.inf.br/nfe" versao="4.00">'
        f'<NFe><infNFe Id="NFe{key}" versao="4.00"><ide><cUF>35</cUF><mod>55</mod></ide></infNFe></NFe>'
        f"<protNFe><infProt><chNFe>{key}</chNFe><cStat>100</cStat></infProt></protNFe></nfeProc>"
    )
