"""The page on a phone (390x844) and a laptop (1440x900): no sideways scrolling at any step, a
collapsed navigation on the phone, and the verdict brought into view after Recommend.

"No sideways scrolling" is checked on the whole document and on every element: none sticks out of
the window and none scrolls sideways inside it (a wide table in an ``overflow: auto`` box counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from webutil import (
    DESKTOP,
    PHONE,
    VIEWPORTS,
    LiveServer,
    PageRun,
    choose_preset,
    horizontal_overflow,
    is_phone,
    page_at,
    submit,
    viewport_name,
)

pytestmark = pytest.mark.slow


@pytest.fixture(params=VIEWPORTS, ids=viewport_name)
def vp_run(request: pytest.FixtureRequest, browser: Any, live_server: LiveServer) -> Iterator[PageRun]:
    with page_at(browser, live_server.url, request.param) as run:
        yield run


def open_all_details(page: Any) -> None:
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")


def steps(run: PageRun) -> list[tuple[str, Callable[[Any], Any]]]:
    """What a person does on the page, in order; each step leaves the page in a state to check."""
    phone = is_phone(run)
    out: list[tuple[str, Callable[[Any], Any]]] = [
        ("loaded", lambda p: None),
        ("preset", lambda p: choose_preset(p, "microservices")),
        ("result", lambda p: (submit(p), p.wait_for_selector("#artifacts .tab"))),
        ("details-open", open_all_details),
        ("sources-rulebook", lambda p: submit(p, click="#switch-rulebook")),
        ("artifacts-each-tab", lambda p: [p.click(f"#artifacts .tab >> nth={i}")
                                          for i in range(p.locator("#artifacts .tab").count())]),
        ("gpu-result", lambda p: (choose_preset(p, "tenant-gpu"), submit(p), p.wait_for_selector("#artifacts .tab"))),
        ("error", lambda p: (p.fill("#f-services", "2.5"), submit(p))),
        ("doctor", lambda p: (p.click("#doctor-run"), p.wait_for_selector("#doctor table, #doctor .unavailable", timeout=60000))),
    ]
    if phone:
        out.insert(1, ("menu-open", lambda p: p.click("#nav-toggle")))
        out.insert(2, ("menu-closed", lambda p: p.click("#site-nav a[href='#profile']")))
    return out


def test_no_sideways_scrolling_at_any_step(vp_run: PageRun) -> None:
    page = vp_run.open()
    page.wait_for_selector("#network svg .gnode")
    seen = []
    for name, act in steps(vp_run):
        act(page)
        page.wait_for_timeout(100)
        problems = horizontal_overflow(page)
        assert problems == [], f"after step {name!r}: {problems}"
        seen.append(name)
        vp_run.screenshot(f"layout-{name}")
    assert "error" in seen and "doctor" in seen
    assert vp_run.errors == []


def test_phone_navigation_is_collapsed_behind_a_menu_button(browser: Any, live_server: LiveServer) -> None:
    with page_at(browser, live_server.url, PHONE) as run:
        page = run.open()
        toggle = page.locator("#nav-toggle")
        assert toggle.is_visible()
        assert toggle.get_attribute("aria-expanded") == "false"
        assert toggle.get_attribute("aria-controls") == "site-nav"
        assert page.locator("#site-nav").is_hidden()
        topbar = page.eval_on_selector(".topbar", "e => e.getBoundingClientRect().height")
        assert topbar < 70  # one line: brand and Menu
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.locator("#site-nav").is_visible()
        assert page.evaluate("document.activeElement.getAttribute('href')") == "#profile"  # focus moves into the menu
        run.screenshot("layout-menu-open", full_page=False)
        # choosing a section closes the menu and goes there
        page.click("#site-nav a[href='#alts-card']")
        assert page.locator("#site-nav").is_hidden()
        assert toggle.get_attribute("aria-expanded") == "false"
        page.wait_for_function("() => Math.abs(document.querySelector('#alts-card').getBoundingClientRect().top - "
                               "document.querySelector('.topbar').getBoundingClientRect().bottom) < 24", timeout=5000)
        # Escape closes it too, and gives the focus back to the button
        toggle.click()
        page.keyboard.press("Escape")
        assert page.locator("#site-nav").is_hidden()
        assert page.evaluate("document.activeElement.id") == "nav-toggle"


def test_desktop_navigation_is_spelled_out(browser: Any, live_server: LiveServer) -> None:
    with page_at(browser, live_server.url, DESKTOP) as run:
        page = run.open()
        assert page.locator("#nav-toggle").is_hidden()
        assert page.locator("#site-nav").is_visible()
        assert page.locator("#site-nav a").count() >= 8


def test_the_verdict_is_brought_into_view_after_recommend(vp_run: PageRun) -> None:
    page = vp_run.open()
    choose_preset(page, "tenant-gpu")
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#submit").scroll_into_view_if_needed()  # where a person's thumb is: the Recommend button
    submit(page)
    page.wait_for_function("""() => { const t = document.querySelector('#verdict-title').getBoundingClientRect().top;
        return t >= document.querySelector('.topbar').getBoundingClientRect().bottom && t < innerHeight * 0.6; }""", timeout=5000)
    assert page.evaluate("document.activeElement.id") == "verdict-title"
    # the first lines of the verdict (name, architecture, SLO or its absence) are all on screen
    for sel in ("#rec-runtime", "#rec-arch", "#rec-slo"):
        box = page.eval_on_selector(sel, "e => e.getBoundingClientRect().toJSON()")
        assert box["bottom"] <= page.viewport_size["height"], sel
    vp_run.screenshot("layout-verdict-in-view", full_page=False)
