"""Check digits of the codes Ponte handles: GTIN/EAN (mod 10) and the NF-e access key (mod 11)."""

from __future__ import annotations


def gtin_is_valid(code: str) -> bool:
    """True for a GTIN-8, -12, -13 or -14 whose last digit is its mod-10 check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    # Weights 3,1,3,1... from the rightmost digit of the body.
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def nfe_check_digit(first43: str) -> int:
    """The mod-11 check digit of an NF-e access key's first 43 digits (weights 2..9 from the right)."""
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(first43)))
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def nfe_key_is_valid(key: str) -> bool:
    """True for a 44-digit NF-e access key with a valid check digit."""
    return len(key) == 44 and key.isdigit() and nfe_check_digit(key[:43]) == int(key[43])
