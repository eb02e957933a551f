"""Loaded by every CLI run of the foundation tests: any attempt to open a network connection aborts the process.

An audit hook sees `socket.connect` and `socket.getaddrinfo` before anything happens, so "no network" is proven for
the whole run, not only for the endpoint we happen to watch.
"""

import os
import sys


def _no_network(event: str, args: tuple) -> None:
    if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto"):
        sys.stderr.write(f"NETWORK ATTEMPT: {event}\n")
        sys.stderr.flush()
        os._exit(99)


sys.addaudithook(_no_network)
