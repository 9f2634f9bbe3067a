"""CLI command: serve (the web page and HTTP API)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", "-H", help="Address to listen on (loopback by default)."),
        port: int = typer.Option(8765, "--port", "-p", help="TCP port to listen on (0: any free port)."),
        db: str | None = typer.Option(None, "--db", help="Result store (path or URL); default: the bench store."),
        allowed_host: Annotated[list[str] | None, typer.Option(
            "--allowed-host", show_default=False,
            help="Another name the Host header may carry (repeatable; '*' turns the check off). Default: the "
                 "bind address, plus the loopback names on loopback and this host's name on 0.0.0.0/::. "
                 "Env: RTADVISOR_ALLOWED_HOSTS (comma-separated).")] = None,
        max_body_bytes: int | None = typer.Option(
            None, "--max-body-bytes", show_default=False,
            help="Largest request body in bytes; larger ones get 413 (default 1048576). "
                 "Env: RTADVISOR_MAX_BODY_BYTES."),
    ) -> None:
        """Serve the web page and the HTTP API (JSON under /api/, schema at /openapi.json)."""
        import sys

        from rtadvisor.app.server import listen, run_server, settings_from_env

        settings = settings_from_env(db, host, max_body_bytes, list(allowed_host or []))
        sock = listen(host, port)
        bound_port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        # plain prints (not rich): scripts read the URL from this line, so it must not be wrapped
        print(f"rtadvisor: serving on http://{shown}:{bound_port}/  (API: /api/, schema: /openapi.json; "
              "Ctrl-C stops)", file=sys.stderr, flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print("rtadvisor: warning: listening beyond loopback; the API has no authentication",
                  file=sys.stderr, flush=True)
        if "*" not in settings.allowed_hosts:
            print(f"rtadvisor: answering Host: {', '.join(settings.allowed_hosts)}", file=sys.stderr, flush=True)
        run_server(sock, settings)
