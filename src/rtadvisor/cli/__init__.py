"""The ``rtadvisor`` command: wires the layers together and talks to people.

Each command family lives in its own module with a ``register(app)`` function, so that the areas
(core, bench, deploy, scan, web, fleet) can grow independently. A command's module is imported only
when that command runs (:data:`COMMANDS`), and heavy imports happen inside the command functions:
start-up is part of every answer.
"""

from __future__ import annotations

import os
import re
import sys

# pydantic looks for plugins in every installed distribution's entry points on first use (~0.1 s of
# a CLI start); the command line uses none. A user who wants one can set the variable themselves.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
import typer.core
import typer.main

from rtadvisor.errors import RtadvisorError

#: Every top-level command and the module (under rtadvisor.cli) whose ``register(app)`` defines it,
#: in the order ``rtadvisor --help`` lists them. A command's module is imported when the command runs
#: (or when the help lists them all): ``rtadvisor recommend`` does not import the bench, the web server
#: or the fleet. tests/test_cli_lazy.py checks this table against what the modules register.
COMMANDS: dict[str, str] = {
    "recommend": "recommend",
    "scan": "scan",
    "generate": "deploy",
    "doctor": "deploy",
    "image": "deploy",
    "bench": "bench",
    "prepare": "bench",
    "report": "bench",
    "claims": "bench",
    "kb": "kb",
    "serve": "serve",
    "agent": "fleet",
    "fleet": "fleet",
}

_loaded: dict[str, dict[str, Any]] = {}


def load_commands(module_name: str) -> dict[str, Any]:
    """The click commands one CLI module registers (imported and converted once per process)."""
    if module_name not in _loaded:
        module = importlib.import_module(f".{module_name}", __name__)
        sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        module.register(sub)
        group = typer.main.get_group(sub)
        _loaded[module_name] = dict(group.commands)  # type: ignore[attr-defined]
    return _loaded[module_name]


class _LazyCommands(MutableMapping[str, Any]):
    """The root group's command table: names known up front, each command built on first access."""

    def __init__(self) -> None:
        self._added: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name in self._added:
            return self._added[name]
        if name not in COMMANDS:
            raise KeyError(name)
        return load_commands(COMMANDS[name])[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._added[name] = command

    def __delitem__(self, name: str) -> None:
        del self._added[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (n for n in self._added if n not in COMMANDS)

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._added))


class LazyGroup(typer.core.TyperGroup):
    """typer's group whose commands are imported when used (typer's own suggestions, help and
    parsing read ``self.commands``, a mapping that loads on access)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        lazy = _LazyCommands()
        for name, command in self.commands.items():  # commands registered on ``app`` directly
            lazy[name] = command
        self.commands = lazy


app = typer.Typer(
    name="rtadvisor",
    help="Choose the isolation runtime for a workload, explain it, measure it, deploy it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    """Choose the isolation runtime for a workload, explain it, measure it, deploy it."""


def _strip_control(text: str) -> str:
    from .common import strip_control

    return strip_control(text)


#: An error line longer than this is cut (a 100 kB option value echoed back helps nobody); a path of
#: PATH_MAX (4096) bytes still fits.
MAX_ERROR_CHARS = 5000


def _one_line(message: str) -> str:
    """An error message as the one line we promise: controls visible, newlines folded, length bounded."""
    line = _strip_control(" ".join(message.splitlines()))
    if len(line) > MAX_ERROR_CHARS:
        line = f"{line[:MAX_ERROR_CHARS - 60]}... (message cut: {len(line)} characters)"
    return line


def _is_usage_error(exc: BaseException) -> bool:
    """click's UsageError (or a subclass), whichever click it is: typer >= 0.20 ships its own copy
    (``typer._click``), older typers use click itself; both name the class the same."""
    return any(c.__name__ == "UsageError" for c in type(exc).__mro__) and isinstance(getattr(exc, "exit_code", None), int)


def _shown_value(value: object) -> str:
    """A value the user typed, quoted and shortened (a 5000-digit number is not worth echoing)."""
    text = str(value)
    if len(text) > 40:
        text = f"{text[:20]}...{text[-8:]} ({len(text)} characters)"
    return repr(text)


def _param_name(param: object) -> str | None:
    """``--runs`` for an option (its long name), ``argument PATH`` for an argument."""
    opts = [o for o in (getattr(param, "opts", None) or []) if isinstance(o, str)]
    if getattr(param, "param_type_name", None) == "argument":
        name = getattr(param, "name", None) or (opts[0] if opts else "?")
        return f"argument {str(name).upper()}"
    longs = [o for o in opts if o.startswith("--")]
    return (longs or opts)[0] if opts else None


def _expected(param: object) -> str | None:
    """What the option takes, from its declaration: ``an integer from 1 to 1000000``, ``a number``."""
    descriptor = getattr(param, "type_descriptor", None)  # typer >= 0.20
    annotation = getattr(descriptor, "annotation", None)
    click_type = getattr(param, "type", None)  # click's ParamType (older typer)
    type_name = getattr(click_type, "name", "") or ""
    lo = getattr(param, "min", None)
    hi = getattr(param, "max", None)
    if lo is None and hi is None:
        lo, hi = getattr(click_type, "min", None), getattr(click_type, "max", None)
    if annotation is int or type_name.startswith("integer"):
        what = "an integer"
    elif annotation is float or type_name.startswith("float"):
        what = "a finite number"
    else:
        return None
    if lo is not None and hi is not None:
        return f"{what} from {lo} to {hi}"
    if lo is not None:
        return f"{what} >= {lo}"
    if hi is not None:
        return f"{what} <= {hi}"
    return what


def _given(exc: BaseException) -> object | None:
    """The value that was refused, when the parser kept it (typer's pydantic coercion does)."""
    errors = getattr(exc.__cause__, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
        except (IndexError, TypeError):  # pragma: no cover - not pydantic's shape
            return None
        return first.get("input") if isinstance(first, dict) else None
    return None


def _message(exc: BaseException) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message()) if callable(format_message) else str(exc)


_INVALID_PREFIX = re.compile(r"^Invalid value for [^:]*: ")
#: click's (and typer's pydantic) messages for a value that is not a number of the option's type/range
_CONVERSION = re.compile(r"is not a valid (integer|float)|is not in the range|Input should be|unable to parse")


def usage_line(exc: BaseException) -> str:
    """click's usage error as one line naming the option and what it expected.

    click prints three (``Usage: ...``, ``Try ... --help``, ``Error: ...``) with the offending value
    echoed as typed; the contract of every rtadvisor command is one line, controls made visible:

    ``--runs: expected an integer from 1 to 1000000, got '0'``
    """
    param = getattr(exc, "param", None)
    name = _param_name(param) if param is not None else None
    name = name or getattr(exc, "option_name", None)
    kind = type(exc).__name__
    if kind == "MissingParameter" and name:
        return f"{name}: required, not given"
    if kind == "NoSuchOption" and name:
        maybe = sorted(getattr(exc, "possibilities", None) or ())
        return f"{name}: no such option" + (f" (did you mean {' or '.join(maybe)}?)" if maybe else "")
    message = _message(exc)
    if param is not None and any(c.__name__ == "BadParameter" for c in type(exc).__mro__):
        message = _INVALID_PREFIX.sub("", message).removeprefix("Value error, ")
        expected = _expected(param)
        value = _given(exc)
        # the parser's own conversion failed (not a callback's message, which is kept as it is)
        if expected is not None and (value is not None or _CONVERSION.search(message)):
            got = f", got {_shown_value(value)}" if value is not None else ""
            return f"{name}: expected {expected}{got}"
    if name and not message.startswith(name) and name not in message:
        return f"{name}: {message}"
    return message


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
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `rtadvisor image` alone: the help is the answer, on stdout like `--help`
            sys.stdout.write(_strip_control(_message(exc)) + "\n")
            return 2
        if _is_usage_error(exc):
            print(f"rtadvisor: error: {_one_line(usage_line(exc))}", file=sys.stderr)
            return int(exc.exit_code)  # type: ignore[attr-defined]
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            # another click exception (FileError, ClickException): its message, on one line
            print(f"rtadvisor: error: {_one_line(_message(exc))}", file=sys.stderr)
            return code
        if type(exc).__name__ == "Abort":
            print("rtadvisor: aborted", file=sys.stderr)
            return 130
        raise
    return 0


def run() -> None:
    """The ``rtadvisor`` console script: :func:`main`, then a quick exit.

    Tearing the interpreter down object by object (modules, the knowledge base, pydantic's validators)
    took ~70 ms of a ~340 ms ``recommend --json`` here, a fifth of the answer, for memory the process
    hands back anyway. So, once the command has returned (its own cleanup ran in its ``finally``
    blocks): flush stdout/stderr, run the ``atexit`` handlers (temporary directories registered with
    ``weakref.finalize`` included) and leave with ``os._exit``. With a thread still running, the
    interpreter's normal exit joins it instead.
    """
    import atexit
    import threading

    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away (`| head`), or the stream is closed
            pass
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
