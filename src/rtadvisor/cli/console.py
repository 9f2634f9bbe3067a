"""The rich console the CLI prints through (see :mod:`rtadvisor.cli.common` for why it is safe)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.errors import MarkupError
from rich.segment import Segment
from rich.text import Text

from .common import _CONTROL, strip_control


class SafeConsole(Console):
    """A rich Console that never lets a control character of the content reach the terminal and never
    fails on markup it cannot parse (see :mod:`rtadvisor.cli.common`)."""

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
