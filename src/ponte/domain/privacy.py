"""Buyers' personal data (CPF/CNPJ, e-mail, phone) masked in what a viewer reads: request and response bodies,
messages, exports. Operators and admins see them as recorded. No I/O.

Masking keeps enough to tell records apart ("***.***.*89-01", "m***@example.com", "(**) *****-4321") and never
the whole value. Keys that name personal data are masked whatever their value looks like; any other string is
searched for CPF, CNPJ, e-mail and phone shapes.
"""

from __future__ import annotations

import re
from typing import Any

_PERSONAL_KEYS = re.compile(
    r"(^|_|\b)(cpf|cnpj|document|doc_number|doc_type_number|tax_?id|identification|email|e_mail|phone|telefone|"
    r"celular|mobile|whatsapp|area_code)($|_|\b)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# In free text only the written-out shapes: a bare run of 11 digits is as likely an order or listing id.
_CNPJ = re.compile(r"(?<![\w.])\d{2}\.\d{3}\.\d{3}/\d{4}-(\d{2})(?![\w])")
_CPF = re.compile(r"(?<![\w.])\d{3}\.\d{3}\.\d{3}-(\d{2})(?![\w])")
_PHONE = re.compile(
    r"(?<![\w])(?:\+55\s?)?\(\d{2}\)\s?9?\d{4}-?(\d{4})(?![\w])|(?<![\w])\+55\s?\d{2}\s?9?\d{4}-?(\d{4})(?![\w])"
)


def mask_text(text: str) -> str:
    """`text` with every CPF, CNPJ, e-mail address and phone number in it masked."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _CNPJ.sub(lambda m: f"**.***.***/****-{m.group(1)}", text)
    text = _CPF.sub(lambda m: f"***.***.***-{m.group(1)}", text)
    return _PHONE.sub(lambda m: f"(**) *****-{m.group(1) or m.group(2)}", text)


def _mask_value(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (dict, list)):
        return mask_json(value, everything=True)
    text = str(value)
    shaped = mask_text(text)
    if shaped != text:
        return shaped
    return "***" + text[-2:] if len(text) > 4 else "***"


def mask_json(value: Any, *, everything: bool = False) -> Any:
    """A copy of a decoded JSON value with personal data masked (`everything`: all its leaves are personal)."""
    if isinstance(value, dict):
        return {
            k: _mask_value(v) if everything or _PERSONAL_KEYS.search(str(k)) else mask_json(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_json(v, everything=everything) for v in value]
    if everything:
        return _mask_value(value)
    return mask_text(value) if isinstance(value, str) else value
