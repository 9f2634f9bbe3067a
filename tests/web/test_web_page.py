"""The page in a real headless Chromium: fill the form, submit, see the recommendation and its path.

Screenshots land in ``test-artifacts/`` (repository root) for a human to look at. The verdict card,
the form's validation, the phone layout and accessibility have their own modules (``test_page_*.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webutil import LiveServer, PageRun, choose_preset, submit

pytestmark = pytest.mark.slow


def api_decision(client: TestClient, profile: dict[str, Any], rulebook: str = "practice") -> dict[str, Any]:
    resp = client.post(f"/api/recommend?rulebook={rulebook}", json=profile)
    assert resp.status_code == 200, resp.text
    return resp.json()


def preset_profile(client: TestClient, preset_id: str) -> dict[str, Any]:
    return next(p["profile"] for p in client.get("/api/presets").json() if p["id"] == preset_id)


def expected_path(client: TestClient, decision: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]]]:
    """The tree nodes and edges the decision's trace went through (computed here, independently)."""
    tree = client.get("/api/tree").json()
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for step in decision["trace"]:
        if step["kind"] != "tree":
            continue
        node_id = step["rule"].split(":", 1)[1] if step["rule"].startswith("tree:") else step["rule"]
        if node_id not in {n["id"] for n in tree["nodes"]}:
            continue
        nodes.add(node_id)
        answer = "yes" if step["answer"].lower().startswith("yes") else "no"
        edge = next(e for e in tree["edges"] if e["source"] == node_id and e["label"] == answer)
        edges.add((edge["source"], edge["target"]))
        nodes.add(edge["target"])
    return nodes, edges


def test_page_loads_nothing_from_outside(page_run: PageRun, live_server: LiveServer) -> None:
    page = page_run.open()
    # let the relation network and charts finish drawing
    page.wait_for_selector("#network svg .gnode")
    page.wait_for_selector("#charts svg")
    assert page_run.requests, "the page made no request at all?"
    outside = [u for u in page_run.requests if not (u.startswith((live_server.url + "/", "data:", "blob:")))]
    assert outside == []
    # and the page's resources really came from us: scripts, style, icon
    assert any(u.endswith("/static/app.js") for u in page_run.requests)
    assert any(u.endswith("/static/app.css") for u in page_run.requests)
    assert page_run.errors == []


def test_recommend_through_the_form(page_run: PageRun, client: TestClient) -> None:
    page = page_run.open()
    choose_preset(page, "edge")
    profile = preset_profile(client, "edge")
    assert page.input_value("#f-name") == profile["name"]
    assert float(page.input_value("#f-memory_mb")) == profile["memory_mb"]
    # change a field by typing, as a user would, and ask the sources' rulebook (it walks the S-select tree)
    page.fill("#f-name", "edge-sensor-hub")
    page.check("input[name=rulebook][value=sources]")
    sent = submit(page)
    assert "rulebook=sources" in sent.url
    decision = api_decision(client, {**profile, "name": "edge-sensor-hub"}, rulebook="sources")
    assert sent.answer == decision
    assert page.inner_text("#rec-runtime") == decision["runtime_name"]
    assert page.inner_text("#rec-arch") == decision["architecture"]
    if decision["route"]:
        assert f"route {decision['route']}" in page.inner_text("#rec-badges")

    # the decision tree: exactly the trace's path is highlighted
    nodes, edges = expected_path(client, decision)
    assert nodes, "the sources' edge profile goes through the S-select tree"
    taken_nodes = set(page.eval_on_selector_all("#tree .node.taken", "els => els.map(e => e.dataset.nodeId)"))
    taken_edges = set(map(tuple, page.eval_on_selector_all(
        "#tree .edge.taken", "els => els.map(e => [e.dataset.source, e.dataset.target])")))
    assert taken_nodes == nodes
    assert taken_edges == edges
    reached = page.eval_on_selector_all("#tree .node.reached", "els => els.map(e => e.textContent)")
    assert len(reached) == 1  # one leaf reached
    # highlighted edges are drawn differently (computed style, not just a class)
    stroke = page.eval_on_selector("#tree .edge.taken path", "e => getComputedStyle(e).strokeWidth")
    plain = page.eval_on_selector("#tree .edge:not(.taken) path", "e => getComputedStyle(e).strokeWidth")
    assert float(stroke.rstrip("px")) > float(plain.rstrip("px"))

    # eligible alternatives as score bars, in rank order, one of them the verdict
    eligible = [a for a in sorted(decision["alternatives"], key=lambda a: a["rank"]) if not a["excluded"]]
    alts = page.eval_on_selector_all("#alternatives .alt", "els => els.map(e => e.dataset.runtime)")
    assert alts == [a["runtime"] for a in eligible]
    assert page.locator("#alternatives .alt.chosen").count() == 1
    assert page.locator("#alternatives rect.seg").count() >= len(alts)

    # constraints, conflicts and trace
    assert page.locator("#constraints .rule").count() == len(decision["constraints"])
    assert page.locator("#conflicts .rule").count() == len(decision["conflicts"])
    assert page.locator("#trace tbody tr").count() == len(decision["trace"])
    page.wait_for_selector("#artifacts .tab")
    page_run.screenshot("page-edge-recommendation")
    assert page_run.errors == []


def test_practice_verdicts_explain_that_the_tree_is_the_sources(page_run: PageRun, client: TestClient) -> None:
    page = page_run.open()
    choose_preset(page, "usb-gateway")
    sent = submit(page)
    assert "rulebook=practice" in sent.url
    tree_steps = [s for s in sent.answer["trace"] if s["kind"] == "tree"]
    assert tree_steps == []  # practice decides by its own rules
    assert page.locator("#tree .node.taken").count() == 0
    assert "practice rulebook decides by its own rules" in page.inner_text("#tree-note")


def test_every_preset_recommends_what_the_api_does(page_run: PageRun, client: TestClient) -> None:
    page = page_run.open()
    ids = page.eval_on_selector_all("#f-preset option[value]:not([value=''])", "els => els.map(e => e.value)")
    presets = client.get("/api/presets").json()
    assert ids == [p["id"] for p in presets if not p["source"].startswith("S-")] + \
        [p["id"] for p in presets if p["source"].startswith("S-")]
    assert len(ids) == len(presets) >= 15
    runtimes: set[str] = set()
    for preset_id in ids:
        choose_preset(page, preset_id)
        profile = preset_profile(client, preset_id)
        # the form holds the preset as given (lists in their order); unknowns (null) are left out of the body
        assert page.evaluate("RT.page.readProfile()") == {k: v for k, v in profile.items() if v is not None}
        sent = submit(page)
        decision = api_decision(client, profile)
        assert sent.answer == decision
        runtimes.add(decision["runtime"])
        assert page.inner_text("#rec-runtime") == decision["runtime_name"]
        assert page.inner_text("#rec-arch") == decision["architecture"]
        # the tree path is highlighted when the decision went through the tree
        nodes, _ = expected_path(client, decision)
        assert page.locator("#tree .node.taken").count() == len(nodes)
        page.wait_for_selector("#artifacts .tab, #artifacts .unavailable")
        if preset_id in ("enterprise", "tenant-gpu", "ci-runner"):
            page_run.screenshot(f"page-{preset_id}", full_page=False)
    # the presets cover the decision families: plain containers, sandboxes, VMs and Wasm engines
    assert {"runc", "gvisor", "vm", "spin"} <= runtimes
    assert runtimes & {"wasmtime", "wasmedge", "wasmer"}
    assert page_run.errors == []


def test_bad_input_is_shown_next_to_the_field(page_run: PageRun, client: TestClient) -> None:
    page = page_run.open()
    page.fill("#f-memory_mb", "-64")
    sent = submit(page)
    assert sent.status == 422
    assert sent.body["memory_mb"] == -64
    expected = client.post("/api/recommend?rulebook=practice", json=sent.body).json()
    assert page.inner_text("#form-error") == expected["error"]
    assert "memory_mb" in expected["error"]
    assert page.get_attribute("#f-memory_mb", "aria-invalid") == "true"
    assert page.inner_text("#f-memory_mb-err") == expected["error"]
    assert page.evaluate("document.activeElement.id") == "f-memory_mb"
    assert page.is_hidden("#result-body")
    # fixing it clears the error
    page.fill("#f-memory_mb", "64")
    submit(page)
    assert page.is_hidden("#form-error")
    assert page.get_attribute("#f-memory_mb", "aria-invalid") is None
    assert page.is_visible("#result-body")


def test_artifacts_copy_and_download(page_run: PageRun, client: TestClient) -> None:
    page = page_run.open()
    choose_preset(page, "serverless")
    submit(page)
    page.wait_for_selector("#artifacts .tab")
    decision = api_decision(client, preset_profile(client, "serverless"))
    files = client.post("/api/generate", json={"decision": decision}).json()["files"]
    tabs = page.eval_on_selector_all("#artifacts .tab", "els => els.map(e => e.dataset.path)")
    assert tabs == [f["path"] for f in files]
    # show the second file, copy it, download it
    page.click(f"#artifacts .tab[data-path='{files[1]['path']}']")
    assert page.inner_text("#artifacts pre.code") == files[1]["content"].rstrip("\n") or \
        page.inner_text("#artifacts pre.code") == files[1]["content"]
    page.click("#artifacts button.copy")
    assert page.evaluate("navigator.clipboard.readText()") == files[1]["content"]
    with page.expect_download() as info:
        page.click("#artifacts button.download")
    download = info.value
    assert download.suggested_filename == files[1]["path"].split("/")[-1]
    assert Path(download.path()).read_text(encoding="utf-8") == files[1]["content"]
    with page.expect_download() as info:
        page.click("#download-zip")
    assert info.value.suggested_filename == f"rtadvisor-{decision['runtime']}.zip"
    page_run.screenshot("page-artifacts", full_page=False)


def test_relation_network_is_interactive(page_run: PageRun, client: TestClient) -> None:
    page = page_run.open()
    net = client.get("/api/network").json()
    page.wait_for_selector("#network svg .gnode")
    assert page.locator("#network .gnode").count() == len(net["nodes"])
    assert page.locator("#network .glink").count() == len(net["links"])
    node = page.locator("#network .gnode[data-id='A5']")
    node.scroll_into_view_if_needed()
    before = node.get_attribute("transform")
    box = node.locator("circle").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 40, steps=5)
    page.mouse.up()
    after = node.get_attribute("transform")
    assert after != before  # dragged
    # a click selects: neighbours stay, the rest is dimmed, the info line names the relations
    box = node.locator("circle").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert "selected" in (node.get_attribute("class") or "")
    neighbours = {link["target"] for link in net["links"] if link["source"] == "A5"} | {
        link["source"] for link in net["links"] if link["target"] == "A5"}
    dimmed = set(page.eval_on_selector_all("#network .gnode.dim", "els => els.map(e => e.dataset.id)"))
    assert dimmed == {n["id"] for n in net["nodes"]} - neighbours - {"A5"}
    assert "A5" in page.inner_text("#network-info")


def test_charts_show_claims_when_nothing_is_measured(page_run: PageRun, client: TestClient) -> None:
    page = page_run.open()
    page.wait_for_selector("#charts svg")
    cmp = client.get("/api/compare").json()
    assert not cmp["measured_available"]
    assert "rtadvisor bench" in page.inner_text("#evidence-status")
    for metric in ("cold_start", "memory"):
        rows = [p for p in cmp["points"] if p["metric"] == metric]
        assert page.locator(f"#charts .chart[data-metric={metric}] .row").count() == len(rows)
        assert page.locator(f"#charts .chart[data-metric={metric}] rect.claim").count() == len(rows)
        assert page.locator(f"#charts .chart[data-metric={metric}] circle.measured").count() == 0


def test_doctor_on_the_page(page_run: PageRun, client: TestClient) -> None:
    page = page_run.open()
    page.click("#doctor-run")
    page.wait_for_selector("#doctor table", timeout=60000)
    report = client.get("/api/doctor").json()
    assert page.locator("#doctor tbody tr").count() == len(report["findings"])
    assert f"worst: {report['worst']}" in page.inner_text("#doctor")
