"""Helpers shared by the CLI modules: JSON output, the rich console, and escaping what we print.

Names, paths, refs and messages come from the user's files and options, so they may hold rich
markup (``[/bold]``) or terminal control sequences (ESC). :func:`esc` makes such a value safe to
put inside a markup string; the consoles below are a safety net for what a caller forgot: control
characters are shown as visible escapes (``\\x1b``) instead of reaching the terminal, and a string
whose markup does not parse is printed as plain text rather than raising after work was done.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape as _escape_markup
from rich.segment import Segment
from rich.text import Text

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
    return _escape_markup(strip_control(str(value)))


class SafeConsole(Console):
    """A rich Console that never lets a control character of the content reach the terminal and never
    fails on markup it cannot parse (see the module docstring)."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        text = strip_control(text)
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return super().render_str(text, **{**kwargs, "markup": False})

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        # Last line of defence for Text objects built by other layers (they bypass render_str):
        # the content of a segment is sanitised; rich's own control segments (cursor moves) are not.
        clean = (seg if seg.control or not _CONTROL.search(seg.text)
                 else Segment(strip_control(seg.text), seg.style, seg.control) for seg in buffer)
        return super()._render_buffer(clean)


console = SafeConsole()
err_console = SafeConsole(stderr=True)


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
