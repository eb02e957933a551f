"""Whether a host is this machine: the one rule for plain `http://` endpoints (the client refuses plain http to
anything else), for the emulator's warning when it listens beyond loopback, and for which clients the emulator's
admin endpoints answer. Standard library only: the emulator imports it."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback_host(host: str) -> bool:
    """`localhost`, `127.0.0.0/8`, `::1` (bracketed or not) and IPv4-mapped loopback (`::ffff:127.0.0.1`)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)
