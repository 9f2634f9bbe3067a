"""WCAG 2.1 AA on every state of the page, at 1440x900 and 390x844.

- axe-core (npm, pinned in package-lock.json, injected from node_modules: no CDN) reports no serious or
  critical violation of the WCAG 2.0/2.1 A/AA rules or axe's best practices in any state: empty,
  filled, each verdict (both rulebooks), each artifact tab, every <details> open, a refusal, an
  unavailable area, the doctor's table, a selected network node, and the phone's open menu; and the
  isolation/overhead view in its states: nothing measured (the page above, on an empty store), the
  claimed orders over a stored bench of the nine backends, each relation list and both tables open,
  each table scrolled into view by keyboard. Every violation found (of any impact) is written to
  ``test-artifacts/axe-WxH.json`` / ``axe-isolation-WxH.json``.
- Focus is visible on every control reached by Tab: a ring at least 2 px wide whose colour has a
  contrast of at least 3:1 with the surface it is drawn on (WCAG 2.4.7, 1.4.11).
- A skip link is the first thing Tab reaches; it is visible when focused and moves focus to the content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from webutil import (
    VIEWPORTS,
    LiveServer,
    PageRun,
    axe_violations,
    choose_preset,
    is_phone,
    page_at,
    save_json,
    submit,
    viewport_name,
)

pytestmark = pytest.mark.slow

BLOCKING = {"serious", "critical"}


@pytest.fixture(params=VIEWPORTS, ids=viewport_name)
def vp_run(request: pytest.FixtureRequest, browser: Any, live_server: LiveServer) -> Iterator[PageRun]:
    with page_at(browser, live_server.url, request.param) as run:
        yield run


def states(run: PageRun) -> list[tuple[str, Callable[[Any], Any]]]:
    def each_tab(p: Any) -> None:
        for i in range(p.locator("#artifacts .tab").count()):
            p.click(f"#artifacts .tab >> nth={i}")

    def select_node(p: Any) -> None:
        p.locator("#network .gnode").first.focus()
        p.keyboard.press("Enter")

    out: list[tuple[str, Callable[[Any], Any]]] = [
        ("empty", lambda p: None),
        ("filled", lambda p: (choose_preset(p, "ci-runner"), p.fill("#f-name", "pr-runner-7"))),
        ("result-practice", lambda p: (submit(p), p.wait_for_selector("#artifacts .tab"))),
        ("artifact-tabs", each_tab),
        ("details-open", lambda p: p.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")),
        ("result-sources", lambda p: (submit(p, click="#switch-rulebook"), p.wait_for_selector("#artifacts .tab"))),
        ("result-slo-missed", lambda p: (choose_preset(p, "microservices"), submit(p), p.wait_for_selector("#artifacts .tab"))),
        ("error-field", lambda p: (p.fill("#f-services", "2.5"), submit(p))),
        ("error-unavailable", lambda p: (p.fill("#f-services", "3"), p.check("#f-evidence"), submit(p), p.uncheck("#f-evidence"))),
        ("doctor", lambda p: (p.click("#doctor-run"), p.wait_for_selector("#doctor table, #doctor .unavailable", timeout=60000))),
        ("network-selected", select_node),
        ("isolation-empty", lambda p: p.locator("#isolation-card").scroll_into_view_if_needed()),
    ]
    if is_phone(run):
        out.insert(1, ("menu-open", lambda p: p.click("#nav-toggle")))
        out.insert(2, ("menu-closed", lambda p: p.keyboard.press("Escape")))
    return out


def test_axe_reports_no_serious_or_critical_violation_in_any_state(vp_run: PageRun) -> None:
    page = vp_run.open()
    page.wait_for_selector("#network svg .gnode")
    report: dict[str, list[dict[str, Any]]] = {}
    for name, act in states(vp_run):
        act(page)
        page.wait_for_timeout(100)
        report[name] = axe_violations(page)
    assert vp_run.viewport is not None
    save_json(f"axe-{viewport_name(vp_run.viewport)}", report)
    blocking = {name: [f"{v['impact']} {v['id']}: {v['help']} {v['nodes'][:3]}" for v in found if v["impact"] in BLOCKING]
                for name, found in report.items()}
    assert {k: v for k, v in blocking.items() if v} == {}
    assert len(report) >= 12
    assert page.locator("#isolation-status .unavailable").count() == 1  # the view's empty state was checked
    # the last states really are what they say (axe ran on a page with a verdict, an error and the doctor)
    assert page.locator("#doctor table, #doctor .unavailable").count() == 1
    assert page.locator("#network .gnode.selected").count() == 1


@pytest.fixture(scope="module")
def measured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The page over a store holding a real bench of the nine backends (tests/data, see test_web_isolation)."""
    import json

    from webutil import REPO_ROOT

    from rtadvisor.store import ResultStore
    from rtadvisor.web import create_app

    path = str(tmp_path_factory.mktemp("a11y-measured") / "results.db")
    ResultStore.open(path).save(json.loads((REPO_ROOT / "tests" / "data" / "bench-run-9-backends.json").read_text()))
    server = LiveServer(create_app(db=path)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=viewport_name)
def test_axe_on_the_isolation_view_with_measurements(browser: Any, measured_server: LiveServer,
                                                     viewport: dict[str, int]) -> None:
    with page_at(browser, measured_server.url, viewport) as run:
        page = run.open()
        page.wait_for_selector("#isolation-orders table")

        def open_relations(p: Any) -> None:
            for i in range(p.locator("#isolation-orders details.relations-box").count()):
                p.click(f"#isolation-orders details.relations-box >> nth={i} >> summary")

        def tables_by_keyboard(p: Any) -> None:
            p.click("#isolation-exposure-box summary")
            p.click("#isolation-overhead-box summary")
            for region in ("#isolation-exposure .scroll-x", "#isolation-overhead .scroll-x"):
                p.focus(region)
                p.keyboard.press("End")

        report: dict[str, list[dict[str, Any]]] = {}
        for name, act in (("orders", lambda p: p.locator("#isolation-card").scroll_into_view_if_needed()),
                          ("relations-open", open_relations), ("tables-open", tables_by_keyboard)):
            act(page)
            page.wait_for_timeout(100)
            report[name] = axe_violations(page)
        save_json(f"axe-isolation-{viewport_name(viewport)}", report)
        blocking = {name: [f"{v['impact']} {v['id']}: {v['help']} {v['nodes'][:3]}" for v in found
                           if v["impact"] in BLOCKING] for name, found in report.items()}
        assert {k: v for k, v in blocking.items() if v} == {}
        # the states were what they say: every relation list and both tables open, nine rows each
        assert page.locator("#isolation-orders details.relations-box[open]").count() >= 4
        assert page.locator("#isolation-exposure tbody tr").count() == 9
        assert page.locator("#isolation-overhead tbody tr").count() == 9
        assert run.errors == []


# The ring of the focused element: its outline (or, for a segmented yes/no/unknown control, the
# control's outline; for an SVG node, its circle's stroke), and the opaque colour it is drawn on.
FOCUS_RING_JS = """() => {
  const el = document.activeElement;
  if (el.hasAttribute('data-walked')) return {repeat: true};
  el.setAttribute('data-walked', '');
  const rgba = (s) => { const m = s.match(/[\\d.]+/g) || []; return m.length >= 3 ? [+m[0], +m[1], +m[2], m.length > 3 ? +m[3] : 1] : null; };
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const surface = (start) => { for (let n = start; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor); if (c && c[3] > 0.5) return c; }
    return [255, 255, 255, 1]; };
  const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : '')
    + (el.dataset && el.dataset.id ? '[data-id=' + el.dataset.id + ']' : '') + (el.getAttribute('href') ? '[href=' + el.getAttribute('href') + ']' : '');
  if (el instanceof SVGElement) {
    const shape = el.querySelector('circle, rect') || el;
    const cs = getComputedStyle(shape);
    const c = rgba(cs.stroke);
    return {name, width: parseFloat(cs.strokeWidth), ratio: c ? ratio(c, surface(el.closest('div'))) : 0, visible: true};
  }
  const ringEl = el.closest('.seg') || el;
  const cs = getComputedStyle(ringEl);
  const r = ringEl.getBoundingClientRect();
  const visible = r.width > 0 && r.height > 0 && cs.visibility !== 'hidden';
  if (cs.outlineStyle === 'none' || parseFloat(cs.outlineWidth) === 0) return {name, width: 0, ratio: 0, visible};
  const c = rgba(cs.outlineColor);
  const under = parseFloat(cs.outlineOffset) < 0 ? surface(ringEl) : surface(ringEl.parentElement);
  return {name, width: parseFloat(cs.outlineWidth), ratio: c ? ratio(c, under) : 0, visible};
}"""


def test_focus_is_visible_on_every_control(vp_run: PageRun) -> None:
    page = vp_run.open()
    page.wait_for_selector("#network svg .gnode")
    choose_preset(page, "microservices")
    submit(page)
    page.wait_for_selector("#artifacts .tab")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    page.evaluate("window.scrollTo(0, 0)")
    # start the keyboard walk at the top: the skip link is the first stop of the page's Tab order
    page.focus("a.skip-link")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    seen: list[str] = []
    bad: list[str] = []
    for _ in range(600):
        if page.evaluate("document.activeElement === document.body"):
            break
        ring = page.evaluate(FOCUS_RING_JS)
        if ring.get("repeat"):
            break  # went round
        seen.append(ring["name"])
        if not ring["visible"] or ring["width"] < 2 or ring["ratio"] < 3:
            bad.append(f"{ring['name']}: width {ring['width']}, contrast {ring['ratio']:.2f}")
        page.keyboard.press("Tab")
    save_json(f"focus-walk-{viewport_name(vp_run.viewport or {})}", {"stops": seen, "failing": bad})
    assert bad == []
    # the walk went through the whole page: menu or links, form, verdict, tabs, code, network, doctor
    assert seen[0] == "a[href=#main]"  # the skip link first
    for expected in ("input#f-name", "button#submit", "button#switch-rulebook", "button#download-zip", "button#doctor-run",
                     "input#f-untrusted_code-", "pre", "summary"):
        assert any(s.startswith(expected) for s in seen), expected
    assert any("data-id=" in s for s in seen)  # the network's nodes are reachable by keyboard
    assert len(seen) > 60


def test_skip_link_comes_first_and_moves_focus_to_the_content(vp_run: PageRun) -> None:
    page = vp_run.open()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    box = page.eval_on_selector(".skip-link", "e => e.getBoundingClientRect().toJSON()")
    assert box["top"] >= 0 and box["left"] >= 0 and box["bottom"] <= page.viewport_size["height"]  # shown when focused
    vp_run.screenshot("a11y-skip-link", full_page=False)
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.id === 'main'")
    assert page.url.endswith("#main")
    # the next Tab goes on into the content, not back to the top bar
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
