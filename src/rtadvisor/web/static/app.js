/* The rtadvisor page: profile form -> POST /api/recommend -> verdict, alternatives, tree, rules, artifacts.
 *
 * The form sends what the person typed, not a repaired version of it: numbers that are not plain
 * decimal numbers go to the API as the text typed, so the API (which validates exactly as a profile
 * file is validated by the CLI) answers with the CLI's message for that field. A field left blank or
 * "unknown" is left out of the body: unknown, never false. */
"use strict";

(function (RT) {
  const $ = (sel) => document.querySelector(sel);
  const state = { tree: null, decision: null, presets: [], runtimes: new Map(), schema: null, seq: 0, listOrder: {} };
  // enum fields with an "unknown" choice (left out of the body), except scenario (always sent)
  const ENUM_FIELDS = ["scenario", "stage", "isolation", "gpu", "artifact"];
  const LIST_FIELDS = ["devices", "kernel_features"];
  const NUM_FIELDS = ["memory_mb", "cpu_cores", "cold_start_slo_ms", "services"];
  // yes / no / unknown facts, in the order a person thinks of them; a fact the API's schema does not
  // have is not shown
  const FACTS = [
    ["untrusted_code", "Runs untrusted code", "user uploads, pull requests, plugins"],
    ["multi_tenant", "Tenants that must not reach each other share the nodes", ""],
    ["host_access", "Needs the host", "privileged, host namespaces, kubelet socket"],
    ["multi_os", "Needs another operating system", "Windows, a different kernel"],
    ["offline", "Must keep working offline", ""],
    ["governance", "Needs inter-service governance", "a service mesh"],
    ["hardware_virtualization", "The nodes offer hardware virtualization", "/dev/kvm"],
  ];
  const UNKNOWN_LABEL = { stage: "unknown", isolation: "unknown", gpu: "unknown", artifact: "unknown (a Linux image is assumed)" };
  const STEP_KIND = { runtimeclass: "RuntimeClass", node: "Nodes", workload: "Workload", migration: "Migration",
    requirement: "Requirement", slo: "Start time" };
  // a JSON number as a person types it; anything else is sent as text for the API to refuse
  const PLAIN_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

  // ------------------------------------------------------------------ schema -> form

  function resolveRef(schema) {
    if (schema && schema.$ref) return state.schema.components.schemas[schema.$ref.split("/").pop()] || {};
    return schema || {};
  }

  /** The enum values of a Workload property, whatever the schema wraps them in ($ref, anyOf, items). */
  function enumOf(schema) {
    const s = resolveRef(schema);
    if (Array.isArray(s.enum)) return s.enum;
    for (const sub of [...(s.anyOf || []), ...(s.oneOf || []), ...(s.allOf || []), s.items].filter(Boolean)) {
      const found = enumOf(sub);
      if (found.length) return found;
    }
    return [];
  }

  function workloadProps() {
    const w = state.schema && state.schema.components && state.schema.components.schemas.Workload;
    return (w && w.properties) || {};
  }

  function errorSlot(id) {
    return RT.h("p", { class: "field-error", id: `f-${id}-err`, hidden: true });
  }

  /** Build the form's choices from the API's own schema, so the page never drifts from the model. */
  function buildForm() {
    const props = workloadProps();
    for (const field of ["name", ...ENUM_FIELDS, ...NUM_FIELDS]) {
      const el = $("#f-" + field);
      if (!document.getElementById(`f-${field}-err`)) el.closest(".field").appendChild(errorSlot(field));
    }
    for (const field of ENUM_FIELDS) {
      const sel = RT.clear($("#f-" + field));
      if (field !== "scenario") sel.appendChild(RT.h("option", { value: "" }, UNKNOWN_LABEL[field]));
      for (const v of enumOf(props[field])) sel.appendChild(RT.h("option", { value: v }, v));
    }
    for (const field of LIST_FIELDS) {
      const box = RT.clear($(`#f-${field}-checks`));
      const values = ["", ...enumOf(props[field])];
      for (const v of values) {
        const id = `f-${field}-${v || "none"}`;
        const cb = RT.h("input", { type: "checkbox", name: field, value: v, id, "data-none": v === "" ? "true" : null,
          onchange: (evt) => exclusiveNone(field, evt.target) });
        box.appendChild(RT.h("label", { class: "check", for: id }, cb, " " + (v || "none")));
      }
    }
    const facts = RT.clear($("#f-facts"));
    for (const [field, label, hint] of FACTS) {
      if (!(field in props)) continue;
      const group = RT.h("fieldset", { class: "tristate", id: "f-" + field, "aria-describedby": `f-${field}-err` },
        RT.h("legend", {}, label, hint ? RT.h("span", { class: "sub" }, ` (${hint})`) : null));
      const seg = RT.h("span", { class: "seg" });
      for (const [value, text] of [["true", "yes"], ["false", "no"], ["", "unknown"]]) {
        const id = `f-${field}-${text}`;
        seg.appendChild(RT.h("input", { type: "radio", name: field, value, id, checked: value === "" }));
        seg.appendChild(RT.h("label", { for: id }, text));
      }
      group.appendChild(seg);
      group.appendChild(errorSlot(field));
      facts.appendChild(group);
    }
  }

  /** "none" and a device are exclusive: ticking one unticks the other(s). The list keeps the order in
   * which items were given (a preset's order, then ticking order): the body says what the person said. */
  function exclusiveNone(field, changed) {
    const order = state.listOrder[field] || (state.listOrder[field] = []);
    const at = order.indexOf(changed.value);
    if (at >= 0) order.splice(at, 1);
    if (!changed.checked) return;
    if (changed.dataset.none !== "true") order.push(changed.value);
    for (const cb of document.querySelectorAll(`input[name=${field}]`)) {
      if (cb !== changed && (changed.dataset.none === "true" || cb.dataset.none === "true")) {
        cb.checked = false;
        const i = order.indexOf(cb.value);
        if (i >= 0) order.splice(i, 1);
      }
    }
  }

  function factFields() {
    return FACTS.map((f) => f[0]).filter((f) => document.getElementById("f-" + f));
  }

  function setProfile(profile) {
    $("#f-name").value = profile.name || "";
    for (const field of ENUM_FIELDS) {
      const v = profile[field];
      $("#f-" + field).value = v === undefined || v === null ? (field === "scenario" ? "general" : "") : v;
    }
    for (const field of NUM_FIELDS) $("#f-" + field).value = profile[field] ?? "";
    for (const field of factFields()) {
      const v = profile[field];
      const want = v === true ? "true" : v === false ? "false" : "";
      for (const r of document.querySelectorAll(`input[name=${field}]`)) r.checked = r.value === want;
    }
    for (const field of LIST_FIELDS) {
      const v = profile[field];
      state.listOrder[field] = Array.isArray(v) ? [...v] : [];
      for (const cb of document.querySelectorAll(`input[name=${field}]`)) {
        cb.checked = Array.isArray(v) && (v.length ? v.includes(cb.value) : cb.dataset.none === "true");
      }
    }
  }

  /** The profile as the person gave it: unknowns left out, numbers as typed. */
  function readProfile() {
    const p = { name: $("#f-name").value };
    for (const field of ENUM_FIELDS) {
      const v = $("#f-" + field).value;
      if (v) p[field] = v;
    }
    for (const field of NUM_FIELDS) {
      const raw = $("#f-" + field).value.trim();
      if (raw === "") continue;
      const n = Number(raw);
      p[field] = PLAIN_NUMBER.test(raw) && Number.isFinite(n) ? n : raw;
    }
    for (const field of factFields()) {
      const r = document.querySelector(`input[name=${field}]:checked`);
      if (r && r.value) p[field] = r.value === "true";
    }
    for (const field of LIST_FIELDS) {
      const ticked = [...document.querySelectorAll(`input[name=${field}]:checked`)];
      if (!ticked.length) continue;
      const order = state.listOrder[field] || [];
      const rank = (v) => (order.includes(v) ? order.indexOf(v) : order.length);
      p[field] = ticked.filter((cb) => cb.dataset.none !== "true").map((cb) => cb.value)
        .sort((a, b) => rank(a) - rank(b));
    }
    return p;
  }

  function rulebook() {
    const r = document.querySelector("input[name=rulebook]:checked");
    return r ? r.value : "practice";
  }

  function showPresets() {
    const sel = RT.clear($("#f-preset"));
    sel.appendChild(RT.h("option", { value: "" }, "(your own profile)"));
    const practice = state.presets.filter((p) => !String(p.source).startsWith("S-"));
    const sources = state.presets.filter((p) => String(p.source).startsWith("S-"));
    for (const [label, list] of [["Workloads teams run", practice], ["The sources' scenarios", sources]]) {
      if (!list.length) continue;
      sel.appendChild(RT.h("optgroup", { label }, list.map((p) => RT.h("option", { value: p.id }, p.label))));
    }
    sel.addEventListener("change", () => applyPreset(sel.value));
  }

  function applyPreset(id) {
    const preset = state.presets.find((p) => p.id === id);
    $("#f-preset").value = preset ? id : "";
    $("#preset-source").textContent = preset ? "From: " + preset.source : "";
    if (preset) setProfile(preset.profile);
  }

  // ------------------------------------------------------------------ errors

  function clearFieldErrors() {
    $("#form-error").hidden = true;
    $("#form-error").textContent = "";
    for (const el of document.querySelectorAll(".invalid")) el.classList.remove("invalid");
    for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const el of document.querySelectorAll(".field-error")) { el.hidden = true; el.textContent = ""; }
  }

  /** The form control of an API error's ``field`` ("services", "devices.1", "profile.memory_mb"). */
  function fieldOf(name) {
    if (!name) return null;
    const parts = String(name).split(".");
    for (const p of [...parts, parts[parts.length - 1]]) {
      const el = document.getElementById("f-" + p);
      if (el && el.closest("#profile-form")) return { name: p, el };
    }
    return null;
  }

  function showError(err) {
    const box = $("#form-error");
    box.textContent = err.message;
    box.hidden = false;
    const f = fieldOf(err.field);
    if (!f) return;
    f.el.classList.add("invalid");
    const controls = f.el.matches("input, select") ? [f.el] : [...f.el.querySelectorAll("input, select")];
    for (const c of controls) c.setAttribute("aria-invalid", "true");
    const slot = document.getElementById(`f-${f.name}-err`);
    if (slot) { slot.textContent = err.message; slot.hidden = false; }
    const target = f.el.matches("input, select") ? f.el : (f.el.querySelector("input:checked") || controls[0]);
    if (target) target.focus();
  }

  // ------------------------------------------------------------------ recommend

  function setBusy(busy) {
    const btn = $("#submit");
    btn.disabled = busy;
    btn.classList.toggle("busy", busy);
    btn.textContent = busy ? "Deciding…" : "Recommend";
    $("#result").setAttribute("aria-busy", busy ? "true" : "false");
  }

  async function submit(evt) {
    if (evt) evt.preventDefault();
    clearFieldErrors();
    setBusy(true);
    const seq = ++state.seq;
    const query = new URLSearchParams({ rulebook: rulebook() });
    if ($("#f-evidence").checked) query.set("evidence", "true");
    try {
      const decision = await RT.api("/api/recommend?" + query.toString(), {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(readProfile()),
      });
      if (seq !== state.seq) return;  // a newer request superseded this one
      state.decision = decision;
      showDecision(decision);
      loadArtifacts(decision);
      revealResult();
    } catch (err) {
      if (seq !== state.seq) return;
      clearDecision("No verdict: the request was refused (see the message in the form).");
      showError(err);
      $("#announce").textContent = "Error: " + err.message;
    } finally {
      if (seq === state.seq) setBusy(false);
    }
  }

  /** Bring the verdict into view (on a phone it is below the form) and move focus to it. */
  function revealResult() {
    const card = $("#result");
    const r = card.getBoundingClientRect();
    const topbar = $(".topbar").getBoundingClientRect().height;
    if (r.top < topbar || r.top > window.innerHeight * 0.5) card.scrollIntoView({ block: "start" });
    $("#verdict-title").focus({ preventScroll: true });
  }

  function badge(text, cls, title) {
    return RT.h("span", { class: "badge " + (cls || ""), title: title || null }, text);
  }

  function runtimeName(id) {
    const rt = state.runtimes.get(id);
    return (rt && rt.name) || id;
  }

  function citeLinks(cites) {
    const list = (cites || []).filter((c) => c && c.title);
    if (!list.length) return null;
    return RT.h("span", { class: "cite" }, " — ", list.map((c, i) => [i ? "; " : "",
      c.url ? RT.h("a", { href: c.url, rel: "noopener noreferrer" }, c.title) : c.title]));
  }

  function sentence(text) {
    const t = String(text || "").trim();
    return t ? t[0].toUpperCase() + t.slice(1) : t;
  }

  function showSlo(d) {
    const box = RT.clear($("#rec-slo"));
    const s = d.slo;
    box.className = "slo";
    if (!s) {
      const slo = d.workload && d.workload.cold_start_slo_ms;
      box.classList.add("none");
      box.appendChild(RT.h("span", {}, slo ? `Start-time SLO ${RT.num(slo)} ms: no figure to check it against.`
        : "No start-time SLO given."));
      return;
    }
    box.classList.add(s.met ? "met" : "missed");
    box.setAttribute("data-met", String(s.met));
    box.appendChild(RT.h("span", { class: "slo-badge" }, s.met ? "✓ SLO met" : "✗ SLO missed"));
    box.appendChild(RT.h("span", { class: "slo-text" },
      ` ${runtimeName(s.runtime)} starts in ${RT.num(s.value_ms)} ms against your ${RT.num(s.slo_ms)} ms`,
      RT.h("span", { class: "origin" }, ` (${s.origin_text}${s.emulated ? "; emulated, not a KVM figure" : ""})`)));
    if (!s.met) {
      const meeting = Object.entries(s.meeting || {});
      box.appendChild(RT.h("span", { class: "slo-more" }, meeting.length
        ? " Eligible runtimes that meet it: " + meeting.map(([r, v]) => `${runtimeName(r)} (${RT.num(v)} ms)`).join(", ") + "."
        : " No eligible runtime meets it: see “To adopt it”."));
    }
  }

  function showAssumptions(d) {
    const list = RT.clear($("#rec-assumptions"));
    const idle = $("#rec-assumptions-idle");
    const all = d.assumptions || [];
    const matter = all.filter((a) => a.matters);
    const rest = all.filter((a) => !a.matters);
    for (const a of matter) {
      list.appendChild(RT.h("li", { "data-field": a.field },
        RT.h("button", { type: "button", class: "linklike field-name", title: "Go to this field in the form",
          onclick: () => focusField(a.field) }, a.field), " ",
        sentence(a.text.replace(new RegExp("^" + a.field + " not given: "), "")),
        a.source === "evidence" ? " (from this node's measurements)" : "",
        a.if_text ? RT.h("span", { class: "if" }, " → " + sentence(a.if_text).replace(/the answer becomes (\S+?)([.,;]|$)/,
          (m, rt, end) => `the answer becomes ${runtimeName(rt)}${end}`) + ".") : ""));
    }
    list.hidden = !matter.length;
    idle.textContent = !all.length ? "Nothing: every fact the rules needed was given."
      : (matter.length ? "Also assumed, without effect on the answer: " : "Assumed, without effect on the answer: ") +
        (rest.length ? rest.map((a) => a.field).join(", ") + "." : "nothing else.");
  }

  function focusField(name) {
    const f = fieldOf(name);
    if (!f) return;
    const target = f.el.matches("input, select") ? f.el : (f.el.querySelector("input:checked") || f.el.querySelector("input"));
    f.el.scrollIntoView({ block: "center" });
    if (target) target.focus({ preventScroll: true });
  }

  function showOther(d) {
    const box = RT.clear($("#rec-other"));
    const o = d.other_rulebook;
    if (!o) return;
    box.className = "other-rulebook " + (o.differs ? "differs" : "agrees");
    box.appendChild(RT.h("p", {}, RT.h("b", {}, `The ${o.rulebook} rulebook ${o.differs ? "differs" : "agrees"}: `),
      sentence(o.why) + (/[.!]$/.test(o.why) ? "" : ".")));
    box.appendChild(RT.h("button", { type: "button", id: "switch-rulebook", class: "secondary",
      onclick: () => {
        for (const r of document.querySelectorAll("input[name=rulebook]")) r.checked = r.value === o.rulebook;
        submit();
      } }, `Show the ${o.rulebook} verdict`));
  }

  function showDecision(d) {
    $("#result-empty").hidden = true;
    $("#result-body").hidden = false;
    const name = d.runtime_name || runtimeName(d.runtime);
    $("#rec-runtime").textContent = name;
    const idEl = $("#rec-runtime-id");
    idEl.textContent = name.toLowerCase() === d.runtime.toLowerCase() ? "" : d.runtime;
    $("#rec-arch").textContent = d.architecture;
    const badges = RT.clear($("#rec-badges"));
    if (d.route) badges.appendChild(badge("Wasm route " + d.route, "route", "Wasm integration route (S-wasm)"));
    if (d.service_mesh && d.service_mesh.length) badges.appendChild(badge("mesh: " + d.service_mesh.join(" / "), "mesh"));
    badges.appendChild(badge("rulebook: " + d.rulebook, "rulebook"));
    if (d.evidence_used) badges.appendChild(badge("scored with this node's measurements", "evidence"));
    showSlo(d);
    const reasons = RT.clear($("#rec-reasons"));
    for (const r of d.reasons || []) reasons.appendChild(RT.h("li", { "data-rule": r.rule }, sentence(r.text), citeLinks(r.cite)));
    if (!(d.reasons || []).length) reasons.appendChild(RT.h("li", {}, d.summary || "The score decided."));
    showAssumptions(d);
    const next = RT.clear($("#rec-next"));
    for (const s of d.next_steps || []) {
      next.appendChild(RT.h("li", { "data-kind": s.kind, class: "step-" + s.kind },
        RT.h("span", { class: "kind" }, STEP_KIND[s.kind] || s.kind), " ", s.text, citeLinks(s.cite)));
    }
    showOther(d);
    $("#rec-scored").textContent = d.evidence_used ? "Scored with this node's measurements." : "Scored with the sources' claims.";
    $("#announce").textContent = d.summary || `Run it on ${name}: ${d.architecture}.`;

    if (state.tree) drawTreeFor(d);
    RT.drawAlternatives($("#alternatives"), d, runtimeName);
    showRules(d);
    showTrace(d);
    document.body.classList.add("has-decision");
  }

  function drawTreeFor(d) {
    const taken = RT.drawTree($("#tree"), state.tree, d);
    const note = RT.clear($("#tree-note"));
    if (!d) return;
    const leaf = state.tree.nodes.find((n) => n.leaf && taken.nodes.has(n.id));
    if (!taken.nodes.size) {
      note.textContent = d.rulebook === "practice"
        ? "The practice rulebook decides by its own rules (see “Why”), not by the sources' tree; choose the sources rulebook to see the tree's path."
        : "The decision did not go through the tree (a hard constraint decided it first).";
    } else if (leaf && leaf.runtime && leaf.runtime !== d.runtime) {
      note.textContent = `The tree alone leads to ${runtimeName(leaf.runtime)}; the verdict is ${runtimeName(d.runtime)} ` +
        "because of the rules and scoring listed below.";
    }
  }

  /** Forget the shown decision: a result must never stand next to an error it does not answer. */
  function clearDecision(message) {
    state.decision = null;
    $("#result-body").hidden = true;
    const empty = $("#result-empty");
    empty.hidden = false;
    empty.textContent = message;
    for (const id of ["#alternatives", "#constraints", "#trace", "#artifacts"]) {
      RT.clear($(id)).appendChild(RT.h("div", { class: "empty" }, "No decision yet."));
    }
    RT.clear($("#conflicts"));
    RT.clear($("#claims-list"));
    if (state.tree) drawTreeFor(null);
    RT.clear($("#tree-note"));
    document.body.classList.remove("has-decision");
  }

  function showRules(d) {
    const cbox = RT.clear($("#constraints"));
    cbox.appendChild(RT.h("h3", {}, "Rules that narrowed the choice"));
    if (!(d.constraints || []).length) cbox.appendChild(RT.h("div", { class: "empty" }, "None: scoring decided."));
    for (const c of d.constraints || []) {
      cbox.appendChild(RT.h("div", { class: "rule constraint", "data-rule": c.id },
        RT.h("div", { class: "rule-head" }, RT.h("b", {}, c.rule), badge(c.source, "tag")),
        RT.h("div", {}, "leaves ", RT.h("b", {}, c.requires), " — ", c.because),
        RT.h("div", { class: "rule-id mono" }, c.id)));
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
    const cols = ["#", "kind", "rule", "question", "answer", "threshold", "source"];
    const table = RT.h("table", { class: "trace stack" },
      RT.h("thead", {}, RT.h("tr", {}, cols.map((t) => RT.h("th", { scope: "col" }, t)))),
      RT.h("tbody", {}, (d.trace || []).map((s) => RT.h("tr", { class: "k-" + s.kind },
        RT.h("td", { "data-label": "#" }, s.step), RT.h("td", { "data-label": "kind" }, badge(s.kind, "kind")),
        RT.h("td", { class: "mono", "data-label": "rule" }, s.rule),
        RT.h("td", { "data-label": "question" }, s.question), RT.h("td", { "data-label": "answer" }, RT.h("b", {}, s.answer)),
        RT.h("td", { "data-label": "threshold" }, s.threshold || ""),
        RT.h("td", { "data-label": "source" }, s.source ? badge(s.source, "tag") : "")))));
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

  // ------------------------------------------------------------------ artifacts

  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      const ta = RT.h("textarea", { "aria-hidden": "true" }, text);
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
      if (state.decision !== decision) return;
      RT.clear(box).appendChild(RT.h("div", { class: "unavailable" }, err.message));
      return;
    }
    if (state.decision !== decision) return;  // the verdict changed meanwhile
    RT.clear(box);
    const bar = RT.h("div", { class: "artifact-bar" },
      RT.h("span", {}, `${result.files.length} files for ${runtimeName(result.runtime)}${result.route ? " (route " + result.route + ")" : ""}`),
      RT.h("button", { type: "button", id: "download-zip", onclick: async () => {
        const resp = await fetch("/api/generate?format=zip", { method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ decision }) });
        if (resp.ok) download(`rtadvisor-${decision.runtime}.zip`, await resp.blob());
      } }, "Download all (.zip)"));
    box.appendChild(bar);
    const tabs = RT.h("div", { class: "tabs", role: "tablist", "aria-label": "Generated files" });
    const pane = RT.h("div", { class: "tabpane", role: "tabpanel", id: "artifact-pane", tabindex: "-1" });
    function show(i, focus) {
      const f = result.files[i];
      [...tabs.children].forEach((t, j) => {
        t.classList.toggle("active", i === j);
        t.setAttribute("aria-selected", String(i === j));
        t.tabIndex = i === j ? 0 : -1;
      });
      pane.setAttribute("aria-labelledby", tabs.children[i].id);
      if (focus) tabs.children[i].focus();
      RT.clear(pane).appendChild(RT.h("div", { class: "file-head" },
        RT.h("span", { class: "mono path" }, f.path),
        RT.h("span", { class: "file-actions" },
          RT.h("button", { type: "button", class: "copy", "aria-label": "Copy " + f.path, onclick: (e) => copyText(f.content, e.currentTarget) }, "Copy"),
          RT.h("button", { type: "button", class: "download", "aria-label": "Download " + f.path, onclick: () =>
            download(f.path.split("/").pop(), new Blob([f.content], { type: "text/plain" })) }, "Download"))));
      pane.appendChild(RT.h("pre", { class: "code", tabindex: "0", "aria-label": f.path }, f.content));
    }
    result.files.forEach((f, i) => tabs.appendChild(RT.h("button", { type: "button", role: "tab", class: "tab",
      id: "artifact-tab-" + i, "aria-controls": "artifact-pane", "aria-selected": "false", tabindex: "-1",
      "data-path": f.path, onclick: () => show(i),
      onkeydown: (evt) => {
        const n = result.files.length;
        const to = { ArrowRight: (i + 1) % n, ArrowLeft: (i - 1 + n) % n, Home: 0, End: n - 1 }[evt.key];
        if (to !== undefined) { evt.preventDefault(); show(to, true); }
      } }, f.path)));
    box.appendChild(tabs);
    box.appendChild(pane);
    if (result.files.length) show(0);
  }

  // ------------------------------------------------------------------ the rest of the page

  async function loadTree() {
    try {
      state.tree = await RT.api("/api/tree");
      drawTreeFor(state.decision);
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
      state.comparison = cmp;
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
    const cols = ["claim", "source", "verdict", "measured", "why"];
    box.appendChild(RT.h("table", { class: "trace verdicts stack" },
      RT.h("thead", {}, RT.h("tr", {}, cols.map((t) => RT.h("th", { scope: "col" }, t)))),
      RT.h("tbody", {}, verdicts.map((v) => RT.h("tr", { "data-verdict": v.verdict },
        RT.h("td", { "data-label": "claim" }, RT.h("b", {}, v.claim.subject), ` ${v.claim.metric}: ${claimValue(v.claim)}`),
        RT.h("td", { "data-label": "source" }, badge(v.claim.source, "tag")),
        RT.h("td", { "data-label": "verdict" }, badge(v.verdict, "verdict v-" + v.verdict.replace(/\s+/g, "-"))),
        RT.h("td", { class: "mono", "data-label": "measured" }, v.measurement
          ? `${RT.fmt(v.measurement.value, v.measurement.unit)} (${v.measurement.runtime}, n=${v.measurement.n})` : "–"),
        RT.h("td", { class: "why", "data-label": "why" }, v.why))))));
  }

  // ------------------------------------------------------------------ isolation and overhead

  function verdictBadge(verdict) {
    return badge(verdict, "verdict v-" + verdict.replace(/\s+/g, "-"));
  }

  function stat(iv, unit) {
    if (!iv) return "–";
    return `${RT.fmt(iv.value)}${unit || ""} [${RT.fmt(iv.low)}–${RT.fmt(iv.high)}]`;
  }

  function ordersTable(verdicts) {
    const cols = ["claim", "source", "verdict", "why, with the figures"];
    return RT.h("table", { class: "trace verdicts orders stack" },
      RT.h("caption", { class: "visually-hidden" }, "Claimed isolation and overhead orders judged on this node"),
      RT.h("thead", {}, RT.h("tr", {}, cols.map((t) => RT.h("th", { scope: "col" }, t)))),
      RT.h("tbody", {}, verdicts.map((v) => RT.h("tr", { "data-verdict": v.verdict, "data-id": v.id },
        RT.h("td", { "data-label": "claim" }, RT.h("b", {}, v.id), RT.h("span", { class: "sub" }, v.text)),
        RT.h("td", { "data-label": "source" }, badge(v.source, "tag")),
        RT.h("td", { "data-label": "verdict" }, verdictBadge(v.verdict)),
        RT.h("td", { class: "why", "data-label": "why" }, v.why,
          v.relations && v.relations.length ? RT.h("details", { class: "relations-box" },
            RT.h("summary", {}, `The ${v.relations.length} relation(s) and their figures`),
            RT.h("ul", { class: "relations" }, v.relations.map((r) =>
              RT.h("li", { "data-verdict": r.verdict }, RT.h("b", {}, r.claim), `: ${r.verdict} — ${r.figures}`,
                r.caveats && r.caveats.length ? ` (${r.caveats.join("; ")})` : null)))) : null)))));
  }

  function exposureTable(rows) {
    const cols = ["runtime", "sandbox creation: host calls (distinct)", "workload: host calls (distinct)",
      "workload's own call", "host processes without seccomp", "kernel functions"];
    return RT.h("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Host-kernel exposure table" },
      RT.h("table", { class: "trace measured exposure stack" },
        RT.h("thead", {}, RT.h("tr", {}, cols.map((t) => RT.h("th", { scope: "col" }, t)))),
        RT.h("tbody", {}, rows.filter((r) => r.isolation).map((r) => {
          const iso = r.isolation;
          const label = RT.h("td", { "data-label": "runtime" }, RT.h("b", {}, r.runtime),
            r.emulated ? RT.h("span", { class: "sub" }, "emulated (TCG)") : null);
          if (iso.status !== "measured") {
            return RT.h("tr", { "data-runtime": r.runtime }, label,
              RT.h("td", { "data-label": "status" }, `${iso.status}: ${iso.reason || ""}`),
              RT.h("td", {}), RT.h("td", {}), RT.h("td", {}), RT.h("td", {}));
          }
          const win = (name) => (iso.windows || []).find((w) => w.name === name);
          const cell = (w) => (w ? `${w.syscalls} (${w.distinct})` : "–");
          const unconfined = (iso.confinement || []).filter((c) => c.seccomp !== "filter" && c.seccomp !== "strict").length;
          const fn = iso.kernel_functions;
          return RT.h("tr", { "data-runtime": r.runtime }, label,
            RT.h("td", { class: "mono", "data-label": "sandbox creation" }, cell(win("startup") || win("lifecycle"))),
            RT.h("td", { class: "mono", "data-label": "workload" }, cell(win("workload"))),
            RT.h("td", { "data-label": "workload's own call" }, iso.pass_through ? iso.pass_through.outcome : "–"),
            RT.h("td", { class: "mono", "data-label": "without seccomp" }, `${unconfined} of ${(iso.confinement || []).length}`),
            RT.h("td", { "data-label": "kernel functions" }, fn && fn.status === "measured" ? String(fn.distinct) : "not measurable"));
        }))));
  }

  function overheadTable(rows) {
    const names = [];
    for (const r of rows) for (const m of (r.overhead && r.overhead.metrics) || []) if (!names.includes(m.name)) names.push(m.name);
    const cols = ["runtime", ...names];
    return RT.h("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Steady-state overhead table" },
      RT.h("table", { class: "trace measured overhead stack" },
        RT.h("thead", {}, RT.h("tr", {}, cols.map((t) => RT.h("th", { scope: "col" }, t)))),
        RT.h("tbody", {}, rows.filter((r) => r.overhead).map((r) => {
          const o = r.overhead;
          const label = RT.h("td", { "data-label": "runtime" }, RT.h("b", {}, r.runtime),
            o.emulated ? RT.h("span", { class: "sub" }, "emulated (TCG)") : null);
          if (o.status !== "measured") {
            return RT.h("tr", { "data-runtime": r.runtime }, label,
              RT.h("td", { "data-label": "status" }, `${o.status}: ${o.reason || ""}`), ...names.slice(1).map(() => RT.h("td", {})));
          }
          return RT.h("tr", { "data-runtime": r.runtime }, label, ...names.map((name) => {
            const m = (o.metrics || []).find((x) => x.name === name);
            if (!m) return RT.h("td", { "data-label": name }, "–");
            if (m.status !== "measured") return RT.h("td", { "data-label": name, title: m.reason || "" }, m.status);
            const missed = m.target_met === false;
            const text = m.slowdown ? stat(m.slowdown, "×") : `${stat(m.median)} ${m.unit || ""}`;
            return RT.h("td", { class: "mono" + (missed ? " missed" : ""), "data-label": name, title: m.ci_note || m.note || "" },
              text, RT.h("span", { class: "sub" }, `n=${m.n}` + (m.ci_half_width_pct != null ? `, ±${RT.num(m.ci_half_width_pct)}%` : "") +
                (missed ? " (target missed)" : "") + (m.note ? " *" : "")));
          }));
        }))));
  }

  async function loadIsolation() {
    const status = RT.clear($("#isolation-status"));
    const orders = RT.clear($("#isolation-orders"));
    const exposure = RT.clear($("#isolation-exposure"));
    const overhead = RT.clear($("#isolation-overhead"));
    let view;
    try {
      view = await RT.api("/api/isolation");
    } catch (err) {
      status.appendChild(RT.h("div", { class: "unavailable" }, err.message));
      return;
    }
    if (!view.available) {
      status.appendChild(RT.h("span", { class: "unavailable" }, (view.reason || "Nothing measured yet") +
        ". The claimed orders get verdicts once `rtadvisor bench` has measured this node."));
      exposure.appendChild(RT.h("div", { class: "empty" }, "No isolation measured yet."));
      overhead.appendChild(RT.h("div", { class: "empty" }, "No overhead measured yet."));
      return;
    }
    const first = view.runtimes[0] || {};
    status.textContent = `Latest measurement of each runtime (e.g. ${first.runtime} on ${first.host || "this node"}, ` +
      `${first.date}). Isolation = the host kernel's exposure: system calls of every host process of the sandbox ` +
      "(fewer is less exposure, not a proof); overhead = slowdown against a native process run beside it (1 = native speed)." +
      (view.kernel_functions ? ` Kernel functions: ${view.kernel_functions}.` : "");
    orders.appendChild(ordersTable(view.verdicts || []));
    exposure.appendChild(exposureTable(view.runtimes));
    overhead.appendChild(overheadTable(view.runtimes));
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
      const checks = Array.isArray(report) ? report : (report.findings || report.checks || []);
      if (report.counts) {
        box.appendChild(RT.h("p", { class: "note" }, "worst: ", badge(report.worst, "st " + report.worst),
          ` ${report.counts.fail || 0} fail, ${report.counts.warn || 0} warn, ${report.counts.ok || 0} ok, ${report.counts.info || 0} info` +
          (report.sources && report.sources.containerd ? ` · containerd: ${report.sources.containerd}` : "")));
      }
      if (!checks.length) { box.appendChild(RT.h("pre", { class: "code", tabindex: "0" }, JSON.stringify(report, null, 2))); return; }
      const cols = ["status", "check", "detail", "fix"];
      box.appendChild(RT.h("table", { class: "trace doctor stack" },
        RT.h("thead", {}, RT.h("tr", {}, cols.map((t) => RT.h("th", { scope: "col" }, t)))),
        RT.h("tbody", {}, checks.map((c) =>
          RT.h("tr", { class: "st-" + (c.status || c.level || "") },
            RT.h("td", { "data-label": "status" }, badge(c.status || c.level || "?", "st " + (c.status || c.level || ""))),
            RT.h("td", { "data-label": "check" }, RT.h("b", {}, c.title || c.name || c.id || "")),
            RT.h("td", { "data-label": "detail" }, c.detail || c.message || ""),
            RT.h("td", { class: "mono", "data-label": "fix" }, c.fix || ""))))));
    } catch (err) {
      RT.clear(box).appendChild(RT.h("div", { class: "unavailable" }, err.message));
    }
  }

  function setupNav() {
    const toggle = $("#nav-toggle");
    const nav = $("#site-nav");
    const close = () => { toggle.setAttribute("aria-expanded", "false"); document.body.classList.remove("nav-open"); };
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      document.body.classList.toggle("nav-open", open);
      if (open) nav.querySelector("a").focus();
    });
    nav.addEventListener("click", (evt) => { if (evt.target.closest("a")) close(); });
    document.addEventListener("keydown", (evt) => {
      if (evt.key === "Escape" && document.body.classList.contains("nav-open")) { close(); toggle.focus(); }
    });
  }

  /** Charts are drawn at the width they get (text at its CSS size): redraw when that width changes. */
  function redrawOnResize() {
    let timer = null, lastWidth = window.innerWidth;
    window.addEventListener("resize", () => {
      if (window.innerWidth === lastWidth) return;
      lastWidth = window.innerWidth;
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (state.decision) RT.drawAlternatives($("#alternatives"), state.decision, runtimeName);
        if (state.comparison) RT.drawComparison($("#charts"), state.comparison);
      }, 150);
    });
  }

  async function init() {
    setupNav();
    redrawOnResize();
    try {
      state.schema = await RT.api("/openapi.json");
    } catch (err) {
      showError(err);
    }
    buildForm();
    $("#profile-form").addEventListener("submit", submit);
    $("#doctor-run").addEventListener("click", runDoctor);
    // editing the form by hand leaves the example: say so, so the "From:" line never misleads
    $("#profile-form").addEventListener("input", (evt) => {
      if (evt.target.id !== "f-preset" && evt.target.name !== "rulebook" && evt.target.id !== "f-evidence") {
        $("#f-preset").value = "";
        $("#preset-source").textContent = "";
      }
    });
    const runtimes = RT.api("/api/runtimes").then((rts) => { for (const r of rts) state.runtimes.set(r.id, r); }).catch(() => {});
    try {
      state.presets = await RT.api("/api/presets");
      showPresets();
      if (state.presets.length) applyPreset(state.presets[0].id);
    } catch (err) {
      showError(err);
    }
    await Promise.all([runtimes, loadTree(), loadComparison(), loadNetwork(), loadVerdicts(), loadIsolation()]);
    document.body.setAttribute("data-ready", "true");
  }

  RT.page = { state, submit, setProfile, readProfile, applyPreset };
  document.addEventListener("DOMContentLoaded", init);
})(window.RT);
