/* The rtadvisor page: profile form -> POST /api/recommend -> tree, alternatives, rules, artifacts. */
"use strict";

(function (RT) {
  const $ = (sel) => document.querySelector(sel);
  const state = { tree: null, decision: null, presets: [], runtimes: new Map(), schema: null };
  const ENUM_FIELDS = { scenario: "Scenario", stage: "Stage", isolation: "Isolation", gpu: "Gpu", artifact: "Artifact" };
  const LIST_FIELDS = { devices: "Device", kernel_features: "KernelFeature" };
  const NUM_FIELDS = ["memory_mb", "cpu_cores", "cold_start_slo_ms", "services"];
  const BOOL_FIELDS = ["untrusted_code", "multi_os", "offline"];

  function enumValues(name) {
    const s = state.schema && state.schema.components.schemas[name];
    return (s && s.enum) || [];
  }

  /** Build the form's choices from the API's own schema, so the page never drifts from the model. */
  function buildForm() {
    for (const [field, schemaName] of Object.entries(ENUM_FIELDS)) {
      const sel = $("#f-" + field);
      RT.clear(sel);
      if (field === "artifact") sel.appendChild(RT.h("option", { value: "" }, "(unspecified)"));
      for (const v of enumValues(schemaName)) sel.appendChild(RT.h("option", { value: v }, v));
    }
    $("#f-stage").value = "production";
    for (const [field, schemaName] of Object.entries(LIST_FIELDS)) {
      const box = RT.clear($("#f-" + field));
      for (const v of enumValues(schemaName)) {
        box.appendChild(RT.h("label", { class: "check" },
          RT.h("input", { type: "checkbox", name: field, value: v, id: `f-${field}-${v}` }), " " + v));
      }
    }
  }

  function setProfile(profile) {
    $("#f-name").value = profile.name || "";
    for (const field of Object.keys(ENUM_FIELDS)) {
      const sel = $("#f-" + field);
      sel.value = profile[field] !== undefined && profile[field] !== null ? profile[field] :
        (field === "stage" ? "production" : field === "artifact" ? "" : (sel.options[0] || {}).value);
    }
    if (profile.scenario === undefined) $("#f-scenario").value = "general";
    if (profile.isolation === undefined) $("#f-isolation").value = "standard";
    if (profile.gpu === undefined) $("#f-gpu").value = "none";
    for (const field of NUM_FIELDS) $("#f-" + field).value = profile[field] ?? "";
    for (const field of BOOL_FIELDS) $("#f-" + field).checked = !!profile[field];
    for (const field of Object.keys(LIST_FIELDS)) {
      for (const cb of document.querySelectorAll(`input[name=${field}]`)) cb.checked = (profile[field] || []).includes(cb.value);
    }
  }

  function readProfile() {
    const p = { name: $("#f-name").value.trim() };
    for (const field of Object.keys(ENUM_FIELDS)) {
      const v = $("#f-" + field).value;
      if (v) p[field] = v;
    }
    for (const field of NUM_FIELDS) {
      const raw = $("#f-" + field).value.trim();
      if (raw !== "") p[field] = field === "services" ? parseInt(raw, 10) : Number(raw);
    }
    for (const field of BOOL_FIELDS) p[field] = $("#f-" + field).checked;
    for (const field of Object.keys(LIST_FIELDS)) {
      p[field] = [...document.querySelectorAll(`input[name=${field}]:checked`)].map((cb) => cb.value);
    }
    return p;
  }

  function showPresets() {
    const box = RT.clear($("#presets"));
    for (const preset of state.presets) {
      box.appendChild(RT.h("button", { type: "button", class: "preset", "data-preset": preset.id, title: preset.source,
        onclick: () => {
          setProfile(preset.profile);
          for (const b of box.querySelectorAll(".preset")) b.classList.toggle("active", b.dataset.preset === preset.id);
        } }, preset.label));
    }
  }

  function clearFieldErrors() {
    $("#form-error").hidden = true;
    for (const el of document.querySelectorAll(".invalid")) el.classList.remove("invalid");
  }

  function showError(err) {
    const box = $("#form-error");
    box.textContent = err.message;
    box.hidden = false;
    const field = err.field && String(err.field).split(".").pop();
    const input = field && ($("#f-" + field) || $(`input[name=${field}]`));
    if (input) { input.classList.add("invalid"); input.focus(); }
  }

  async function submit(evt) {
    if (evt) evt.preventDefault();
    clearFieldErrors();
    const btn = $("#submit");
    btn.disabled = true;
    btn.classList.add("busy");
    const useEvidence = $("#f-evidence").checked;
    try {
      const decision = await RT.api("/api/recommend" + (useEvidence ? "?evidence=true" : ""), {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(readProfile()),
      });
      state.decision = decision;
      showDecision(decision);
      loadArtifacts(decision);
    } catch (err) {
      showError(err);
    } finally {
      btn.disabled = false;
      btn.classList.remove("busy");
    }
  }

  function badge(text, cls, title) {
    return RT.h("span", { class: "badge " + (cls || ""), title: title || null }, text);
  }

  function showDecision(d) {
    $("#result-empty").hidden = true;
    $("#result-body").hidden = false;
    $("#rec-runtime").textContent = d.runtime;
    const badges = RT.clear($("#rec-badges"));
    if (d.route) badges.appendChild(badge("route " + d.route, "route", "Wasm integration route (S-wasm)"));
    if (d.evidence_used) badges.appendChild(badge("scored with this node's measurements", "evidence"));
    else badges.appendChild(badge("scored with the sources' claims", "claims"));
    $("#rec-arch").textContent = d.architecture;
    const facts = RT.clear($("#rec-facts"));
    const top = (d.alternatives || []).find((a) => a.runtime === d.runtime);
    const add = (k, v, cls) => facts.appendChild(RT.h("div", { class: "fact " + (cls || "") }, RT.h("span", { class: "k" }, k), RT.h("span", { class: "v" }, v)));
    add("workload", d.workload.name + " · " + d.workload.scenario + " · " + d.workload.stage, "wide");
    if (top) add("score", RT.fmt(top.score) + " (rank " + top.rank + ")");
    if (d.service_mesh && d.service_mesh.length) add("service mesh", d.service_mesh.join(" / "));
    add("hard constraints", String((d.constraints || []).length));
    add("source conflicts", String((d.conflicts || []).length));
    add("trace steps", String((d.trace || []).length));
    const info = RT.clear($("#rec-runtime-info"));
    const rt = state.runtimes.get(d.runtime);
    if (rt) {
      const bits = [rt.name || rt.title, rt.what || rt.description, rt.isolation_layer || rt.layer].filter((x) => typeof x === "string");
      if (bits.length) info.appendChild(RT.h("p", {}, bits.join(" — ")));
    }

    if (state.tree) {
      const taken = RT.drawTree($("#tree"), state.tree, d);
      const leaf = state.tree.nodes.find((n) => n.leaf && taken.nodes.has(n.id));
      const note = RT.clear($("#tree-note"));
      if (leaf && leaf.runtime && leaf.runtime !== d.runtime) {
        note.appendChild(RT.h("span", {}, `The tree alone leads to ${leaf.runtime}; the final choice is ${d.runtime} ` +
          "because of the hard constraints, case table and scoring listed below."));
      } else if (!taken.nodes.size) {
        note.textContent = "The decision did not go through the tree (a hard constraint decided it first).";
      }
    }
    RT.drawAlternatives($("#alternatives"), d);
    showRules(d);
    showTrace(d);
    document.body.classList.add("has-decision");
  }

  function showRules(d) {
    const cbox = RT.clear($("#constraints"));
    cbox.appendChild(RT.h("h3", {}, "Hard constraints that fired"));
    if (!(d.constraints || []).length) cbox.appendChild(RT.h("div", { class: "empty" }, "None: scoring decided."));
    for (const c of d.constraints || []) {
      cbox.appendChild(RT.h("div", { class: "rule constraint", "data-rule": c.id },
        RT.h("div", { class: "rule-head" }, RT.h("b", {}, c.rule), badge(c.source, "tag")),
        RT.h("div", {}, "requires ", RT.h("b", {}, c.requires), " — ", c.because)));
    }
    const fbox = RT.clear($("#conflicts"));
    fbox.appendChild(RT.h("h3", {}, "Where the sources disagree"));
    if (!(d.conflicts || []).length) fbox.appendChild(RT.h("div", { class: "empty" }, "No source conflict touched this decision."));
    for (const c of d.conflicts || []) {
      fbox.appendChild(RT.h("div", { class: "rule conflict", "data-conflict": c.id },
        RT.h("div", { class: "rule-head" }, RT.h("b", {}, c.topic), badge("winner: " + c.winner, "winner")),
        RT.h("ul", {}, Object.entries(c.positions || {}).map(([src, says]) =>
          RT.h("li", { class: src === c.winner ? "won" : "" }, badge(src, "tag"), " ", says))),
        RT.h("div", { class: "why" }, c.why)));
    }
  }

  function showTrace(d) {
    const box = RT.clear($("#trace"));
    const table = RT.h("table", { class: "trace" },
      RT.h("thead", {}, RT.h("tr", {}, ["#", "kind", "rule", "question", "answer", "threshold", "source"].map((t) => RT.h("th", {}, t)))),
      RT.h("tbody", {}, (d.trace || []).map((s) => RT.h("tr", { class: "k-" + s.kind },
        RT.h("td", {}, s.step), RT.h("td", {}, badge(s.kind, "kind")), RT.h("td", { class: "mono" }, s.rule),
        RT.h("td", {}, s.question), RT.h("td", {}, RT.h("b", {}, s.answer)), RT.h("td", {}, s.threshold || ""),
        RT.h("td", {}, s.source ? badge(s.source, "tag") : "")))));
    box.appendChild(table);
    const claims = RT.clear($("#claims-list"));
    if (!(d.claims || []).length) claims.appendChild(RT.h("div", { class: "empty" }, "No claim was used."));
    else claims.appendChild(RT.h("ul", { class: "claims" }, d.claims.map((c) => RT.h("li", {}, badge(c.source, "tag"), " ",
      RT.h("b", {}, c.subject), ` ${c.metric}: `, claimValue(c), c.conditions ? ` (${c.conditions})` : "", c.text ? ` — “${c.text}”` : ""))));
  }

  function claimValue(c) {
    if (c.value !== null && c.value !== undefined) return `${c.value} ${c.unit}`;
    return `${c.low ?? "?"}–${c.high ?? "?"} ${c.unit}`;
  }

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      const ta = RT.h("textarea", {}, text);
      document.body.appendChild(ta);
      ta.select();
      document.execCommand("copy");
      ta.remove();
    }
    const old = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = old; }, 1200);
  }

  function download(name, blob) {
    const url = URL.createObjectURL(blob);
    const a = RT.h("a", { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function loadArtifacts(decision) {
    const box = RT.clear($("#artifacts"));
    box.appendChild(RT.h("div", { class: "empty" }, "Generating…"));
    let result;
    try {
      result = await RT.api("/api/generate", { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ decision }) });
    } catch (err) {
      RT.clear(box).appendChild(RT.h("div", { class: "unavailable" }, err.message));
      return;
    }
    RT.clear(box);
    const bar = RT.h("div", { class: "artifact-bar" },
      RT.h("span", {}, `${result.files.length} files for ${result.runtime}${result.route ? " (route " + result.route + ")" : ""}`),
      RT.h("button", { type: "button", id: "download-zip", onclick: async () => {
        const resp = await fetch("/api/generate?format=zip", { method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ decision }) });
        if (resp.ok) download(`rtadvisor-${decision.runtime}.zip`, await resp.blob());
      } }, "Download all (.zip)"));
    box.appendChild(bar);
    const tabs = RT.h("div", { class: "tabs", role: "tablist" });
    const pane = RT.h("div", { class: "tabpane" });
    function show(i) {
      const f = result.files[i];
      for (const [j, t] of [...tabs.children].entries()) t.classList.toggle("active", i === j);
      RT.clear(pane).appendChild(RT.h("div", { class: "file-head" },
        RT.h("span", { class: "mono" }, f.path),
        RT.h("span", {},
          RT.h("button", { type: "button", class: "copy", onclick: (e) => copyText(f.content, e.target) }, "Copy"),
          RT.h("button", { type: "button", class: "download", onclick: () =>
            download(f.path.split("/").pop(), new Blob([f.content], { type: "text/plain" })) }, "Download"))));
      pane.appendChild(RT.h("pre", { class: "code" }, f.content));
    }
    result.files.forEach((f, i) => tabs.appendChild(RT.h("button", { type: "button", role: "tab", class: "tab", "data-path": f.path,
      onclick: () => show(i) }, f.path)));
    box.appendChild(tabs);
    box.appendChild(pane);
    if (result.files.length) show(0);
  }

  async function loadTree() {
    try {
      state.tree = await RT.api("/api/tree");
      RT.drawTree($("#tree"), state.tree, state.decision);
    } catch (err) {
      RT.clear($("#tree")).appendChild(RT.h("div", { class: "unavailable" }, err.message));
    }
  }

  async function loadComparison() {
    try {
      const cmp = await RT.api("/api/compare");
      const status = RT.clear($("#evidence-status"));
      if (cmp.measured_available) {
        const h = cmp.host || {};
        status.textContent = "Measured on " + [h.hostname || h.host, h.kernel, h.cpu].filter(Boolean).join(" · ") +
          ". Hover a dot for n, date and method.";
      } else {
        status.appendChild(RT.h("span", { class: "unavailable" }, (cmp.reason || "No measurements stored yet") +
          ". Run `rtadvisor bench` to measure this node; claims are shown alone."));
      }
      RT.drawComparison($("#charts"), cmp);
    } catch (err) {
      RT.clear($("#charts")).appendChild(RT.h("div", { class: "unavailable" }, err.message));
    }
  }

  async function loadVerdicts() {
    const box = RT.clear($("#verdicts"));
    const counts = RT.clear($("#verdict-counts"));
    let verdicts;
    try {
      verdicts = await RT.api("/api/verdicts");
    } catch (err) {
      box.appendChild(RT.h("div", { class: "unavailable" }, err.message));
      return;
    }
    const tally = {};
    for (const v of verdicts) tally[v.verdict] = (tally[v.verdict] || 0) + 1;
    counts.textContent = "— " + Object.entries(tally).map(([k, n]) => `${n} ${k}`).join(" · ");
    box.appendChild(RT.h("table", { class: "trace verdicts" },
      RT.h("thead", {}, RT.h("tr", {}, ["claim", "source", "verdict", "measured", "why"].map((t) => RT.h("th", {}, t)))),
      RT.h("tbody", {}, verdicts.map((v) => RT.h("tr", { "data-verdict": v.verdict },
        RT.h("td", {}, RT.h("b", {}, v.claim.subject), ` ${v.claim.metric}: ${claimValue(v.claim)}`),
        RT.h("td", {}, badge(v.claim.source, "tag")),
        RT.h("td", {}, badge(v.verdict, "verdict v-" + v.verdict.replace(/\s+/g, "-"))),
        RT.h("td", { class: "mono" }, v.measurement ? `${RT.fmt(v.measurement.value, v.measurement.unit)} (${v.measurement.runtime}, n=${v.measurement.n})` : "–"),
        RT.h("td", { class: "why" }, v.why))))));
  }

  async function loadNetwork() {
    try {
      const net = await RT.api("/api/network");
      const groups = [...new Set(net.nodes.map((n) => n.group))];
      const legend = RT.clear($("#network-legend"));
      for (const g of groups) legend.appendChild(RT.h("span", { class: "legend-item" }, RT.h("i", { style: `background:${RT.color("group:" + g)}` }), g));
      RT.forceGraph($("#network"), net, {
        width: 980, height: 600,
        onSelect: (node, links) => {
          const info = RT.clear($("#network-info"));
          info.appendChild(RT.h("b", {}, node.label));
          info.appendChild(RT.h("span", {}, ` (${node.group}) — ${links.length} relation(s): ` + links.map((l) =>
            `${l.source} → ${l.target}${l.kind ? " [" + l.kind + "]" : ""}`).join("; ")));
        },
      });
    } catch (err) {
      RT.clear($("#network")).appendChild(RT.h("div", { class: "unavailable" }, err.message));
    }
  }

  async function runDoctor() {
    const box = RT.clear($("#doctor"));
    box.appendChild(RT.h("div", { class: "empty" }, "Inspecting this node…"));
    try {
      const report = await RT.api("/api/doctor");
      RT.clear(box);
      const checks = Array.isArray(report) ? report : (report.checks || report.findings || []);
      if (report.counts) {
        box.appendChild(RT.h("p", { class: "note" }, "worst: ", badge(report.worst, "st " + report.worst),
          ` ${report.counts.fail} fail, ${report.counts.warn} warn, ${report.counts.ok} ok, ${report.counts.info || 0} info` +
          (report.sources ? ` · containerd: ${report.sources.containerd}` : "")));
      }
      if (!checks.length) { box.appendChild(RT.h("pre", { class: "code" }, JSON.stringify(report, null, 2))); return; }
      box.appendChild(RT.h("table", { class: "trace doctor" }, RT.h("tbody", {}, checks.map((c) =>
        RT.h("tr", { class: "st-" + (c.status || c.level || "") },
          RT.h("td", {}, badge(c.status || c.level || "?", "st " + (c.status || c.level || ""))),
          RT.h("td", {}, RT.h("b", {}, c.title || c.name || c.id || "")),
          RT.h("td", {}, c.detail || c.message || ""),
          RT.h("td", { class: "mono" }, c.fix || ""))))));
    } catch (err) {
      RT.clear(box).appendChild(RT.h("div", { class: "unavailable" }, err.message));
    }
  }

  async function init() {
    try {
      state.schema = await RT.api("/openapi.json");
    } catch (err) {
      showError(err);
    }
    buildForm();
    $("#profile-form").addEventListener("submit", submit);
    $("#doctor-run").addEventListener("click", runDoctor);
    try {
      state.presets = await RT.api("/api/presets");
      showPresets();
      if (state.presets.length) setProfile(state.presets[0].profile);
      const first = document.querySelector(".preset");
      if (first) first.classList.add("active");
    } catch (err) {
      showError(err);
    }
    RT.api("/api/runtimes").then((rts) => { for (const r of rts) state.runtimes.set(r.id, r); }).catch(() => {});
    await Promise.all([loadTree(), loadComparison(), loadNetwork(), loadVerdicts()]);
    document.body.setAttribute("data-ready", "true");
  }

  RT.page = { state, submit, setProfile, readProfile };
  document.addEventListener("DOMContentLoaded", init);
})(window.RT);
