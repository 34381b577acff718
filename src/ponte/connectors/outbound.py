"""Where Ponte may connect: the outbound address policy that every HttpClient and SMTP channel obeys.

A store admin gives addresses (a webhook, an alert channel, a connector's base URL). Without a check, one of
them pointed at 127.0.0.1, 169.254.169.254 or 10.0.0.5 makes Ponte call inside its own network and read the
answer back to the store (server-side request forgery). So every connection is checked after DNS, on the address
actually about to be connected to, redirects included: loopback, private, link-local, multicast, unspecified and
other non-public addresses are refused, unless the installation's operator allowed that exact address and port
(`PONTE_OUTBOUND_ALLOW`; `ponte run` adds its own sandbox's). A name that resolves inside is refused like the
address itself, whatever spelling it came in (`127.1`, `0x7f000001`, `2130706433`, `[::ffff:127.0.0.1]`,
`[::127.0.0.1]`).

The allowed endpoints are the process's: `allow()` adds to them (the app, the worker and `ponte run` add the
settings' list when they start), so every client made anywhere, by any connector, obeys the same list.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

log = logging.getLogger("ponte.outbound")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Endpoint = tuple[str, int]  # (the address in its compressed form, the port)

# v4 addresses inside v6 ones, judged as the v4 address they carry (besides v4-mapped and 6to4, which
# ipaddress reads itself): NAT64, reached through a translator; v4-translated (SIIT); v4-compatible (deprecated,
# but a stack may still carry it to the v4 address), all of ::/96 but the unspecified and loopback addresses.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_V6_OWN = (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1"))
# IETF protocol assignments: never a server on the Internet, though Python's ipaddress calls some of it global.
_PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
_allowed: frozenset[Endpoint] = frozenset()
_lock = threading.Lock()


class OutboundRefused(OSError):
    """A connection to a non-public address that the installation does not allow. The text says why, for the
    store that gave the address (never the address a name resolved to: that would map the inside network)."""


def allow(endpoints: Iterable[Endpoint]) -> None:
    """Add endpoints (address, port) to those this process may reach whatever their address."""
    global _allowed
    normal = {(_normal(address), int(port)) for address, port in endpoints}
    with _lock:
        _allowed = _allowed | normal


def endpoints_of(url: str) -> list[Endpoint]:
    """Every (address, port) a URL's host resolves to now: for an operator's own choice, as `ponte run` naming
    the sandbox it started, never for an address a store gave."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(parts.hostname or "", port, type=socket.SOCK_STREAM)
    return sorted({(str(info[4][0]), port) for info in infos})


def allowed() -> frozenset[Endpoint]:
    return _allowed


def _normal(address: str) -> str:
    return str(_unwrapped(ipaddress.ip_address(address.strip("[]").split("%")[0])))


def _unwrapped(ip: Address) -> Address:
    """The v4 address a v6 one carries (v4-mapped, 6to4, NAT64, v4-translated, v4-compatible), else the address
    itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64 or ip in _TRANSLATED or (ip in _COMPATIBLE and ip not in _V6_OWN):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def kind_of(address: str) -> str | None:
    """Why an address is not public ("loopback", "private", …), or None for a public address."""
    try:
        ip = _unwrapped(ipaddress.ip_address(address.split("%")[0]))
    except ValueError:
        return "unreadable"
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _PROTOCOL_ASSIGNMENTS:  # before is_private, which holds parts of it, differently by Python version
        return "reserved"
    if ip.is_private or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "private"
    if not ip.is_global:
        return "reserved"  # shared (100.64/10), documentation, benchmarking and other ranges never on the Internet
    return None


def refusal(address: str, port: int) -> str | None:
    """None when Ponte may connect to this address and port; otherwise what kind of address it is."""
    kind = kind_of(address)
    if kind is None:
        return None
    try:
        if (_normal(address), port) in _allowed:
            return None
    except ValueError:
        pass
    return kind


def refused_message(host: str) -> str:
    """What the store reads when its address was refused: the same words whatever was behind it, so that the
    answer maps nothing of the inside network."""
    return (
        f"refused: {host} is not a public Internet address (loopback, private, link-local or reserved); "
        "Ponte does not call inside its own network unless the installation's operator allows that address"
    )


def checked_connection(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to `host`:`port` made only to an address the policy allows (for smtplib and such).

    Each resolved address is checked before connecting; OutboundRefused when every one was refused, the last
    OSError when the allowed ones could not be reached."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc.strerror}") from None
    failure: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        why = refusal(address, port)
        if why is not None:
            log.warning("outbound connection to %s (%s:%s) refused: %s address", host, address, port, why)
            failure = failure or OutboundRefused(refused_message(host))
            continue
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        return sock
    raise failure or OSError(f"cannot resolve {host}")
