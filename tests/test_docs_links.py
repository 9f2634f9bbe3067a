"""Every relative link in README.md and docs/*.md points at a file that exists, and every ``#anchor``
at a heading (or an explicit ``id``/``name``) of the target, with GitHub's slug rules.

Why: docs are read on GitHub and in a checkout; a moved or removed page (docs/measure.md was folded
into docs/bench.md) must not leave readers at a dead link. Links inside code (fenced blocks, inline
``code``) are text, not links, and are not checked; absolute URLs (``http:``, ``mailto:``) are out of
scope (no network in tests).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target); the target ends at whitespace (an optional "title" follows) or ")".
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ID = re.compile(r"""<[^>]+\s(?:id|name)\s*=\s*["']([^"']+)["']""")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, with their 1-based numbers."""
    out: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence = marker
                continue
            if marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip()[len(marker):].strip():
                fence = None
                continue
        if fence is None:
            out.append((number, line))
    return out


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup reduced to its text, lower case, every character
    that is not a letter, digit, space, hyphen or underscore dropped, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", text)  # emphasis underscores, not snake_case
    text = text.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a markdown file offers: heading slugs (duplicates get -1, -2, ... as on GitHub)
    and explicit HTML ``id``/``name`` attributes."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if m:
            slug = github_slug(m.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
        found.update(_HTML_ID.findall(line))
    return found


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every link in the file's prose that is not an absolute URL."""
    links: list[tuple[int, str]] = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        prose = _INLINE_CODE.sub("", line)
        targets = _LINK.findall(prose)
        ref = _REF_DEF.match(prose)
        if ref:
            targets.append(ref.group(1))
        for target in targets:
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
                continue
            links.append((number, target))
    return links


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """One line per dead link: the file and line, the target, and what is missing."""
    problems: list[str] = []
    for number, target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        where = f"{path.relative_to(root)}:{number}: {target}"
        if not dest.exists():
            problems.append(f"{where}: no such file")
            continue
        if anchor:
            if dest.suffix != ".md" or dest.is_dir():
                problems.append(f"{where}: an anchor into a file that is not markdown")
            elif unquote(anchor).lower() not in anchors(dest):
                problems.append(f"{where}: no heading or id '{anchor}' in {dest.relative_to(root)}")
    return problems


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_relative_links_resolve(path: Path) -> None:
    assert broken_links(path) == []


def test_the_docs_have_links_to_check() -> None:
    """The checker finds the links it is meant to check (a parser that finds none passes vacuously)."""
    readme_links = [t for _, t in relative_links(ROOT / "README.md")]
    assert any(t.startswith("docs/") for t in readme_links)
    assert any("#" in t for t in readme_links)


@pytest.mark.parametrize(("heading", "slug"), [
    ("Measuring runtimes on this node: `rtadvisor bench`, `report`, `claims`, `prepare`",
     "measuring-runtimes-on-this-node-rtadvisor-bench-report-claims-prepare"),
    ("Evidence: what `--evidence` gets", "evidence-what---evidence-gets"),
    ("The result: `BenchRun`, schema version 3", "the-result-benchrun-schema-version-3"),
    ("Re-measured on an idle machine (2026-11-22 07:45-08:00 UTC)",
     "re-measured-on-an-idle-machine-2026-11-22-0745-0800-utc"),
    ("Scale: 1,000 nodes x 9 runtimes", "scale-1000-nodes-x-9-runtimes"),
    ("The [registry](x.md): `max_pods` *and* _more_", "the-registry-max_pods-and-more"),
])
def test_github_slug(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_checker_reports_a_dead_file_and_a_dead_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Real heading\n\n```\n# not a heading\n```\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#real-heading) [gone](missing.md) [bad](other.md#not-a-heading)\n"
        "`[in code](missing2.md)` [web](https://example.org/x) [self](#top)\n\n## Top\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 2
    assert "missing.md: no such file" in problems[0]
    assert "no heading or id 'not-a-heading'" in problems[1]
