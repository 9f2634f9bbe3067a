"""CLI command: serve (the web page and HTTP API)."""

from __future__ import annotations

import typer

from rtadvisor.errors import InputError


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", "-H", help="Address to listen on (loopback by default)."),
        port: int = typer.Option(8765, "--port", "-p", help="TCP port to listen on (0: any free port)."),
        db: str | None = typer.Option(None, "--db", help="Result store (path or URL); default: the bench store."),
    ) -> None:
        """Serve the web page and the HTTP API (JSON under /api/, schema at /openapi.json)."""
        import socket
        import sys

        import uvicorn

        from rtadvisor.web import create_app

        if not 0 <= port <= 65535:
            raise InputError(f"--port: {port} is not a TCP port (0-65535)")
        # Bind ourselves first so an address in use is one clear line, not a uvicorn traceback.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)  # connections queue from now on, so the URL below works at once
        except OSError as exc:
            sock.close()
            raise InputError(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        bound_port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        # plain prints (not rich): scripts read the URL from this line, so it must not be wrapped
        print(f"rtadvisor: serving on http://{shown}:{bound_port}/  (API: /api/, schema: /openapi.json; "
              "Ctrl-C stops)", file=sys.stderr, flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print("rtadvisor: warning: listening beyond loopback; the API has no authentication",
                  file=sys.stderr, flush=True)
        config = uvicorn.Config(create_app(db), log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
