"""``rtadvisor serve``: the web page and HTTP API on a socket, with the API's limits.

Serving the web front end is a use case like the others, so the CLI reaches the web package only
through here (the CLI imports nothing but ``app``, ``model`` and ``errors``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass

from rtadvisor.errors import InputError

#: Default request body limit of the API: a decision document is ~40 KB, a profile < 1 KB.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ENV_MAX_BODY = "RTADVISOR_MAX_BODY_BYTES"
ENV_ALLOWED_HOSTS = "RTADVISOR_ALLOWED_HOSTS"


@dataclass(frozen=True)
class WebSettings:
    """What the web app needs besides its code.

    ``allowed_hosts``: the names a request's ``Host`` header may carry (without port; ``*`` allows
    any). A browser sends the name it connected to, so a page of another site that resolves its own
    name to this address (DNS rebinding) is refused. ``max_body_bytes``: larger request bodies get 413.
    """

    db: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    bind: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1:
            raise InputError(f"--max-body-bytes: expected a positive number of bytes, got {self.max_body_bytes}",
                             field="max_body_bytes")


def allowed_hosts_for(bind: str, extra: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The Host names a server bound to ``bind`` answers by default, plus ``extra``.

    Loopback: the loopback names. A specific address: that address. A wildcard (``0.0.0.0``, ``::``):
    the loopback names and this machine's host name; any other name must be given with
    ``--allowed-host``.
    """
    names: list[str] = [bind.strip("[]").lower()]
    try:
        ip = ipaddress.ip_address(bind.strip("[]"))
    except ValueError:
        ip = None
    if bind.lower() == "localhost" or (ip is not None and ip.is_loopback):
        names += LOOPBACK_NAMES
    elif ip is not None and ip.is_unspecified:
        names += LOOPBACK_NAMES
        names += [socket.gethostname().lower(), socket.getfqdn().lower()]
    names += [h.strip().lower() for h in extra if h.strip()]
    return tuple(dict.fromkeys(n for n in names if n))


def settings_from_env(db: str | None, bind: str, max_body_bytes: int | None = None,
                      allowed_hosts: list[str] | None = None) -> WebSettings:
    """Options win over the environment (``RTADVISOR_MAX_BODY_BYTES``, ``RTADVISOR_ALLOWED_HOSTS``
    as a comma-separated list), which wins over the defaults."""
    if max_body_bytes is None and os.environ.get(ENV_MAX_BODY):
        raw = os.environ[ENV_MAX_BODY]
        try:
            max_body_bytes = int(raw)
        except ValueError:
            raise InputError(f"{ENV_MAX_BODY}: expected a positive number of bytes, got {raw!r}") from None
    extra = list(allowed_hosts or [])
    if not extra and os.environ.get(ENV_ALLOWED_HOSTS):
        extra = [h for h in os.environ[ENV_ALLOWED_HOSTS].split(",") if h.strip()]
    return WebSettings(db=db, max_body_bytes=DEFAULT_MAX_BODY_BYTES if max_body_bytes is None else max_body_bytes,
                       allowed_hosts=allowed_hosts_for(bind, extra), bind=bind)


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen now, so an address in use is one clear line (not a server traceback) and
    connections queue from the moment the URL is printed."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port: {port} is not a TCP port (0-65535)", field="port")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise InputError(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def run_server(sock: socket.socket, settings: WebSettings) -> None:
    """Serve the page and the API on ``sock`` until Ctrl-C / SIGTERM."""
    import uvicorn

    from rtadvisor.web import create_app

    config = uvicorn.Config(create_app(settings=settings), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
