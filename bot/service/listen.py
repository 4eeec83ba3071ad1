"""Opening the service's and the embedded simulator's listening sockets, and the one line a
person reads when that fails.

A port that is taken (another egovbot, another program) used to end ``egovbot serve`` in an
``OSError`` traceback. ``listen`` turns a failed bind into ``ListenError``, whose text names the
setting to change; the command prints it as one line and exits 2.
"""

from __future__ import annotations

import errno

from aiohttp import web


class ListenError(Exception):
    """A listening socket could not be opened; the message says which setting to change."""


class PortInUse(ListenError):
    """The port is held by another socket."""


async def listen(runner: web.AppRunner, host: str, port: int, *, host_setting: str,
                 port_setting: str, reuse_port: bool = False) -> web.TCPSite:
    """Start serving ``runner`` on ``host:port`` (port 0: any free port); ListenError naming
    ``port_setting`` (or ``host_setting``) when the address cannot be bound."""
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port)
    try:
        await site.start()
    except OSError as exc:
        await site.stop()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} is in use: set {port_setting} to a free port") from exc
        reason = exc.strerror or str(exc)
        raise ListenError(f"cannot listen on {host}:{port} ({reason}): check {host_setting} "
                          f"and {port_setting}") from exc
    return site


def bound_port(runner: web.AppRunner) -> int:
    """The port ``runner``'s first started site listens on (the real one after port 0)."""
    port: int = runner.addresses[0][1]
    return port
