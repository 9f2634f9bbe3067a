"""The profile form at 1440x900 and 390x844: yes / no / unknown facts, what the page sends, and how it
shows a refusal.

The page validates nothing itself and repairs nothing: it sends what was typed (2.5 services stay
2.5, "abc" stays "abc") and shows the API's own message for the field, which is the CLI's message
for the same profile. A refusal clears the previous verdict everywhere on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webutil import VIEWPORTS, LiveServer, PageRun, choose_preset, page_at, submit, viewport_name

pytestmark = pytest.mark.slow

FACTS = ["untrusted_code", "multi_tenant", "host_access", "multi_os", "offline", "governance", "hardware_virtualization"]


@pytest.fixture(params=VIEWPORTS, ids=viewport_name)
def vp_run(request: pytest.FixtureRequest, browser: Any, live_server: LiveServer) -> Iterator[PageRun]:
    with page_at(browser, live_server.url, request.param) as run:
        yield run


def test_every_boolean_fact_is_yes_no_or_unknown(vp_run: PageRun, client: TestClient) -> None:
    page = vp_run.open()
    schema = client.get("/openapi.json").json()["components"]["schemas"]["Workload"]["properties"]
    booleans = [f for f, s in schema.items() if {"type": "boolean"} in s.get("anyOf", [])]
    assert sorted(booleans) == sorted(FACTS)  # every boolean of the model is on the form
    for fact in FACTS:
        group = page.locator(f"fieldset#f-{fact}")
        assert group.locator("legend").inner_text().strip()
        labels = group.locator("label").all_inner_texts()
        assert labels == ["yes", "no", "unknown"]
        # a person clicks the visible labels (the radios themselves are styled away)
        group.get_by_text("yes", exact=True).click()
        assert page.evaluate("RT.page.readProfile()")[fact] is True
        group.get_by_text("no", exact=True).click()
        assert page.evaluate("RT.page.readProfile()")[fact] is False
        group.get_by_text("unknown", exact=True).click()
        assert fact not in page.evaluate("RT.page.readProfile()")


def test_the_body_says_what_was_given_and_nothing_else(vp_run: PageRun, client: TestClient) -> None:
    page = vp_run.open()
    choose_preset(page, "trusted-api")
    page.click("label[for=f-untrusted_code-yes]")
    page.click("label[for=f-multi_tenant-no]")
    page.click("label[for=f-host_access-unknown]")
    page.select_option("#f-gpu", "")  # unknown
    page.fill("#f-services", "")  # unknown
    page.check("#f-devices-serial")
    page.check("#f-devices-usb")  # ticking order is kept
    page.check("#f-kernel_features-none")
    sent = submit(page)
    body = sent.body
    assert body["untrusted_code"] is True and body["multi_tenant"] is False
    assert "host_access" not in body and "gpu" not in body and "services" not in body
    assert body["devices"] == ["serial", "usb"]
    assert body["kernel_features"] == []
    assert None not in body.values()
    assert sent.answer == client.post("/api/recommend?rulebook=practice", json=body).json()
    # "none" and a device exclude each other
    page.check("#f-devices-none")
    assert not page.is_checked("#f-devices-usb") and not page.is_checked("#f-devices-serial")
    assert page.evaluate("RT.page.readProfile()")["devices"] == []
    page.check("#f-devices-fpga")
    assert not page.is_checked("#f-devices-none")
    page.uncheck("#f-devices-fpga")
    assert "devices" not in page.evaluate("RT.page.readProfile()")  # nothing ticked: unknown


# the focused control lies within the window, below the sticky top bar and above the sticky Recommend bar
FOCUS_IN_VIEW = """() => { const r = document.activeElement.getBoundingClientRect();
  return r.top >= document.querySelector('.topbar').getBoundingClientRect().bottom
    && r.bottom <= document.querySelector('.actions').getBoundingClientRect().top; }"""


# (field, what a person types, what the page must send for it)
BAD_INPUT = [
    ("services", "2.5", 2.5),          # not truncated to 2
    ("memory_mb", "abc", "abc"),       # not dropped as "unknown"
    ("memory_mb", "64MB", "64MB"),     # not parsed as 64
    ("memory_mb", "0x40", "0x40"),     # not read as hex
    ("memory_mb", "-64", -64),
    ("cpu_cores", "0", 0),
    ("name", "", ""),
]


def test_numbers_are_sent_as_typed(vp_run: PageRun) -> None:
    """A plain decimal number is sent as a number; anything else as the text typed, for the API to refuse."""
    page = vp_run.open()
    for typed, sent in [("64", 64), ("0.5", 0.5), ("1.5e3", 1500), ("-1", -1), ("1e999", "1e999"), ("Infinity", "Infinity"),
                        ("1,5", "1,5"), (" 32 ", 32), ("2.5", 2.5), ("0x40", "0x40"), ("", None)]:
        page.fill("#f-cold_start_slo_ms", typed)
        assert page.evaluate("RT.page.readProfile()").get("cold_start_slo_ms") == sent, typed


def test_a_refusal_names_the_field_and_clears_the_old_verdict(vp_run: PageRun, client: TestClient) -> None:
    page = vp_run.open()
    for field, typed, sent_value in BAD_INPUT:
        choose_preset(page, "trusted-api")
        good = submit(page)
        assert good.status == 200
        page.wait_for_selector("#artifacts .tab")
        page.fill(f"#f-{field}", typed)
        bad = submit(page)
        assert bad.status == 422, (field, typed)
        assert bad.body[field] == sent_value, (field, typed)
        assert {k: v for k, v in bad.body.items() if k != field} == {k: v for k, v in good.body.items() if k != field}
        # the API's message, as the API gives it for the same body (the CLI's message for a profile file)
        expected = client.post("/api/recommend?rulebook=practice", json=bad.body).json()
        assert expected["field"] and expected["field"].split(".")[0] == field
        assert page.inner_text("#form-error") == expected["error"]
        assert field in expected["error"]
        assert page.get_attribute(f"#f-{field}", "aria-invalid") == "true"
        assert page.inner_text(f"#f-{field}-err") == expected["error"]
        assert page.evaluate("document.activeElement.id") == f"f-{field}"
        page.wait_for_function(FOCUS_IN_VIEW, timeout=5000)  # the field at fault is on screen (scrolling may be smooth)
        # nothing of the previous verdict is left anywhere
        assert page.is_hidden("#result-body")
        assert "No verdict" in page.inner_text("#result")
        assert page.evaluate("RT.page.state.decision") is None
        for box in ("#alternatives", "#constraints", "#trace", "#artifacts"):
            assert (page.text_content(box) or "").strip() == "No decision yet.", box
        assert page.locator("#tree .node.taken").count() == 0
        if (field, typed) == ("services", "2.5"):
            vp_run.screenshot("page-error-services", full_page=False)
    assert vp_run.errors == []


def test_list_errors_mark_the_group(vp_run: PageRun, client: TestClient) -> None:
    """An API error about an item of a list (``devices.1``) marks the whole group of checkboxes."""
    page = vp_run.open()
    # a value the form cannot produce, sent as the page would send it (what a stale schema would cause)
    page.evaluate("""() => { const cb = document.querySelector('#f-devices-usb'); cb.value = 'floppy'; cb.checked = true;
                             RT.page.state.listOrder.devices = ['floppy']; }""")
    bad = submit(page)
    assert bad.status == 422 and bad.body["devices"] == ["floppy"]
    expected = client.post("/api/recommend?rulebook=practice", json=bad.body).json()
    assert page.inner_text("#form-error") == expected["error"]
    assert "invalid" in (page.get_attribute("#f-devices", "class") or "")
    assert page.get_attribute("#f-devices-usb", "aria-invalid") == "true"
    assert page.inner_text("#f-devices-err") == expected["error"]


def test_an_unavailable_area_is_said_and_the_old_verdict_cleared(vp_run: PageRun) -> None:
    page = vp_run.open()
    choose_preset(page, "wasm-function")
    submit(page)
    page.check("#f-evidence")  # the test store is empty: no measurements to score with
    sent = submit(page)
    assert "evidence=true" in sent.url
    assert sent.status == 503
    assert page.inner_text("#form-error") == sent.answer["error"]
    assert "no stored bench results" in sent.answer["error"] and "rtadvisor bench" in sent.answer["error"]
    assert page.is_hidden("#result-body")
    assert page.locator("[aria-invalid=true]").count() == 0  # no field is to blame
