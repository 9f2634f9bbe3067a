"""The ``rtadvisor`` command: wires the layers together and talks to people.

Each command family lives in its own module with a ``register(app)`` function, so that the areas
(core, bench, deploy, scan, web) can grow independently. Heavy imports happen inside the command
functions to keep ``rtadvisor --help`` fast.
"""

from __future__ import annotations

import os
import sys

# pydantic looks for plugins in every installed distribution's entry points on first use (~0.1 s of
# a CLI start); the command line uses none. A user who wants one can set the variable themselves.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # noqa: E402

from rtadvisor.errors import RtadvisorError  # noqa: E402

from . import bench, deploy, fleet, kb, recommend, scan, serve

app = typer.Typer(
    name="rtadvisor",
    help="Choose the isolation runtime for a workload, explain it, measure it, deploy it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """Choose the isolation runtime for a workload, explain it, measure it, deploy it."""


for _module in (recommend, kb, bench, deploy, scan, serve, fleet):
    _module.register(app)


def _strip_control(text: str) -> str:
    from .common import strip_control

    return strip_control(text)


def _one_line(message: str) -> str:
    """An error message as the one line we promise: controls visible, newlines folded."""
    return _strip_control(" ".join(message.splitlines()))


def main(argv: list[str] | None = None) -> int:
    """Console entry point: our errors become one line on stderr and a non-zero exit code."""
    try:
        # With standalone_mode=False click *returns* the code of a `typer.Exit(code)` instead of
        # raising it, so pass that return value on.
        result = app(args=argv, standalone_mode=False)
        if isinstance(result, int):
            return result
    except RtadvisorError as err:
        print(f"rtadvisor: error: {_one_line(str(err))}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("rtadvisor: interrupted", file=sys.stderr)
        return 130
    except typer.Exit as exc:  # raised by commands that choose their exit code
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception as exc:
        # Usage errors come from the click that typer ships (vendored in recent typer), so
        # recognise them by behaviour rather than by importing a private module.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            # click echoes the offending value; render it into a buffer and print it with its
            # control characters made visible, like everything else we print
            import io

            buffer = io.StringIO()
            show(file=buffer)
            sys.stderr.write(_strip_control(buffer.getvalue()))
            return code
        if type(exc).__name__ == "Abort":
            print("rtadvisor: aborted", file=sys.stderr)
            return 130
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
