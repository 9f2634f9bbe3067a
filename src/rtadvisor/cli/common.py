"""Helpers shared by the CLI modules: JSON output, the rich console, and escaping what we print.

Names, paths, refs and messages come from the user's files and options, so they may hold rich
markup (``[/bold]``) or terminal control sequences (ESC). :func:`esc` makes such a value safe to
put inside a markup string; the consoles (:mod:`.console`, made on first use) are a safety net for what a caller forgot: control
characters are shown as visible escapes (``\\x1b``) instead of reaching the terminal, and a string
whose markup does not parse is printed as plain text rather than raising after work was done.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .console import SafeConsole

    console: SafeConsole
    err_console: SafeConsole

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), and
# the Unicode bidirectional overrides/isolates that can reorder what a reader sees ("Trojan Source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def strip_control(text: str) -> str:
    """``text`` with every terminal control character replaced by a visible escape such as ``\\x1b``."""
    return _CONTROL.sub(_visible, text)


def esc(value: object) -> str:
    """``value`` as text that is safe inside a rich markup string: markup escaped, controls visible.

    >>> esc("[/bold]\\x1b[31m")
    '\\\\[/bold]\\\\x1b\\\\[31m'
    """
    from rich.markup import escape

    return escape(strip_control(str(value)))


def __getattr__(name: str) -> Any:
    # rich (~30 ms of imports) is loaded when a command first prints through a console, not for
    # `recommend --json` or `scan -f json`, which print JSON only.
    if name in ("console", "err_console", "SafeConsole"):
        from .console import SafeConsole

        globals().setdefault("SafeConsole", SafeConsole)
        globals().setdefault("console", SafeConsole())
        globals().setdefault("err_console", SafeConsole(stderr=True))
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def print_json(obj: Any) -> None:
    """Print one JSON document on stdout (pydantic models are dumped in JSON mode).

    Strict JSON: a non-finite number (NaN, Infinity) becomes ``null`` instead of a token no JSON
    parser accepts; control characters are escaped by the encoder (``\\u001b``).
    """
    from pydantic import BaseModel

    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    sys.stdout.write(json.dumps(finite(obj), indent=2, sort_keys=False, default=str, allow_nan=False) + "\n")


def finite(obj: Any) -> Any:
    """``obj`` with every float that is NaN or infinite replaced by ``None`` (JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj
