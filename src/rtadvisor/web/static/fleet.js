/* rtadvisor fleet page: renders GET /api/fleet. Everything from the API goes into the page as text
   (textContent), never as markup: node names, pools and reasons come from the agents. */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const MAX_NODES_SHOWN = 500;
  let report = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function num(value) {
    if (value === null || value === undefined) return "–";
    const size = Math.abs(value);
    if (size >= 100) return value.toFixed(0);
    if (size >= 10) return value.toFixed(1);
    return value.toFixed(2);
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) return "unknown";
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
      if (seconds >= size) return `${(seconds / size).toFixed(1)} ${unit} ago`;
    }
    return `${Math.round(seconds)} s ago`;
  }

  function figureText(runtime, metric) {
    const fig = (runtime.figures || []).find((f) => f.metric === metric);
    if (!fig) return "–";
    let text = num(fig.median);
    if (fig.nodes > 1) text += ` (${num(fig.q1)}–${num(fig.q3)}; min ${num(fig.min)}, max ${num(fig.max)})`;
    if (fig.emulated) text += " emulated";
    return text;
  }

  function statusCell(runtime) {
    const total = runtime.measured_nodes + runtime.failed_nodes + runtime.unavailable_nodes;
    const cls = runtime.status === "usable on every node" ? "fl-ok"
      : runtime.status === "usable on some nodes" ? "fl-some" : "fl-no";
    return el("td", {}, el("span", { class: cls }, runtime.status),
      ` (${runtime.measured_nodes} of ${total} nodes` + (runtime.failed_nodes ? `, ${runtime.failed_nodes} failed` : "") + ")");
  }

  function poolTitle(pool) {
    return pool.pool === null ? "Nodes without a pool" : `Pool ${pool.pool}`;
  }

  function poolSection(pool, index) {
    const titleId = `fl-pool-${index}`;
    const section = el("section", { class: "fl-card fl-pool", "aria-labelledby": titleId, "data-pool": pool.pool ?? "" });
    section.append(el("h2", { id: titleId }, poolTitle(pool)));
    section.append(el("p", { class: "fl-hint" }, `${pool.nodes} nodes; figures from ${pool.basis}.`));
    const virt = pool.hardware_virtualization === true ? "yes" : pool.hardware_virtualization === false ? "no" : "unknown";
    section.append(el("ul", { class: "fl-facts", "aria-label": "Pool facts" },
      el("li", {}, `Hardware virtualization for Linux guests: ${virt}`),
      ...["kvm", "kernel", "cpu_model", "cgroup", "arch"].filter((k) => pool.facts[k])
        .map((k) => el("li", {}, `${k.replace("_", " ")}: ${pool.facts[k]}`))));

    const rows = pool.runtimes.map((r) => el("tr", { "data-runtime": r.runtime },
      el("th", { scope: "row" }, r.runtime),
      statusCell(r),
      el("td", { class: "num" }, figureText(r, "cold_start_ms")),
      el("td", { class: "num" }, figureText(r, "pss_mb")),
      el("td", { class: "num" }, figureText(r, "density")),
      el("td", {}, (r.reasons || []).join("; ") || "–")));
    section.append(el("div", { class: "fl-scroll", tabindex: "0", role: "region", "aria-label": `${poolTitle(pool)}: backends` },
      el("table", { class: "fl-table fl-runtimes" },
        el("caption", {}, "Bench backends on this pool's nodes: median across nodes (quartiles; min, max)"),
        el("thead", {}, el("tr", {}, ...["Backend", "Usable", "Cold start, ms", "Idle memory (PSS), MB", "Density, instances/node", "Why not (nodes)"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows))));

    const unusable = Object.entries(pool.unusable || {});
    section.append(el("h3", {}, "Runtimes this pool cannot run"));
    section.append(unusable.length
      ? el("ul", { class: "fl-list fl-unusable" }, unusable.map(([runtime, why]) => el("li", {}, el("strong", {}, runtime), `: ${why}`)))
      : el("p", { class: "fl-hint" }, "None known: no node of the pool reported a runtime it cannot run."));

    if (pool.stale_nodes.length) {
      section.append(el("h3", {}, `Stale nodes (${pool.stale_nodes.length})`));
      section.append(el("p", { class: "fl-stale" }, pool.stale_nodes.slice(0, 50).join(", ") + (pool.stale_nodes.length > 50 ? " …" : "")));
    }

    section.append(el("h3", {}, `Nodes unlike their pool (${pool.disagreements.length})`));
    if (pool.disagreements.length) {
      section.append(el("ul", { class: "fl-list fl-disagreements" },
        pool.disagreements.slice(0, 100).map((d) => el("li", {}, el("strong", {}, d.node), ` (${d.kind}): ${d.detail}`))));
    } else {
      section.append(el("p", { class: "fl-hint" }, "None: every node looks like its pool."));
    }

    const counts = { "holds": 0, "does not hold": 0, "not measurable here": 0 };
    for (const v of pool.verdicts) counts[v.verdict] += 1;
    const measured = pool.verdicts.filter((v) => v.verdict !== "not measurable here");
    const details = el("details", { class: "fl-verdicts" },
      el("summary", {}, `Claims checked on this pool: ${counts["holds"]} hold, ${counts["does not hold"]} do not hold, ` +
        `${counts["not measurable here"]} not measurable here`));
    details.append(measured.length
      ? el("div", { class: "fl-scroll", tabindex: "0", role: "region", "aria-label": `${poolTitle(pool)}: claims` },
          el("table", { class: "fl-table" },
            el("caption", {}, "Each claim against the node holding the pool's median of that figure"),
            el("thead", {}, el("tr", {}, ...["Claim", "Source", "Verdict", "Why"].map((h) => el("th", { scope: "col" }, h)))),
            el("tbody", {}, measured.map((v) => el("tr", {},
              el("th", { scope: "row" }, v.claim.id), el("td", {}, v.claim.source),
              el("td", {}, el("span", { class: v.verdict === "holds" ? "fl-ok" : "fl-no" }, v.verdict)),
              el("td", {}, v.why))))))
      : el("p", { class: "fl-hint" }, "No claim could be checked with this pool's figures."));
    section.append(details);
    return section;
  }

  function nodeRows(filter) {
    const body = $("fl-nodes").querySelector("tbody");
    body.replaceChildren();
    const needle = filter.trim().toLowerCase();
    const pool = $("fl-pool").value;
    const matching = report.nodes.filter((n) => (!pool || (n.pool ?? "") === pool) &&
      (!needle || [n.node_name, n.pool || "", n.kernel, n.kvm, n.hostname || ""].join(" ").toLowerCase().includes(needle)));
    for (const n of matching.slice(0, MAX_NODES_SHOWN)) {
      const missing = Object.entries(n.runtimes).filter(([, r]) => r.status !== "measured").map(([name, r]) => `${name} (${r.status})`);
      const kvm = n.kvm + (n.kvm_linux_guests === true ? ", boots Linux guests" : n.kvm_linux_guests === false ? ", no Linux guest" : "");
      body.append(el("tr", { "data-node": n.node_name },
        el("th", { scope: "row" }, n.node_name), el("td", {}, n.pool ?? "–"),
        el("td", {}, age(n.age_s), n.stale ? el("span", { class: "fl-no" }, " stale") : null),
        el("td", {}, n.kernel || "–"), el("td", {}, kvm), el("td", {}, n.usable.join(", ") || "none"),
        el("td", {}, missing.join(", ") || "–")));
    }
    const more = $("fl-nodes-more");
    more.hidden = matching.length <= MAX_NODES_SHOWN;
    more.textContent = `${matching.length - MAX_NODES_SHOWN} more nodes match: narrow the filter, or use the API.`;
  }

  function render() {
    const chosen = $("fl-pool").value;
    const pools = report.pools.filter((p) => !chosen || (p.pool ?? "") === chosen);
    const container = $("fl-pools");
    container.replaceChildren(...pools.map(poolSection));
    const summary = $("fl-summary");
    const stale = report.nodes.filter((n) => n.stale).length;
    summary.replaceChildren(
      el("div", {}, el("strong", {}, String(report.nodes.length)), "nodes"),
      el("div", {}, el("strong", {}, String(report.pools.length)), "pools"),
      el("div", {}, el("strong", {}, String(stale)), "stale nodes"),
      el("div", {}, el("strong", {}, report.store), "store"));
    summary.hidden = false;
    $("fl-nodes-section").hidden = false;
    nodeRows($("fl-node-filter").value);
  }

  async function load() {
    try {
      await fetchAndRender();
    } finally {
      document.body.dataset.ready = "true";  // the tests wait for it
    }
  }

  async function fetchAndRender() {
    const status = $("fl-status");
    status.classList.remove("fl-error");
    status.textContent = "Loading the fleet report…";
    try {
      const stale = encodeURIComponent($("fl-stale").value);
      const response = await fetch(`/api/fleet?stale_after=${stale}`, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      report = body;
    } catch (err) {
      report = null;
      $("fl-pools").replaceChildren();
      $("fl-summary").hidden = true;
      $("fl-nodes-section").hidden = true;
      status.classList.add("fl-error");
      status.textContent = `No fleet report: ${err.message}`;
      return;
    }
    const select = $("fl-pool");
    const previous = select.value;
    select.replaceChildren(el("option", { value: "" }, "all pools"),
      ...report.pools.map((p) => el("option", { value: p.pool ?? "" }, p.pool ?? "(no pool)")));
    select.value = report.pools.some((p) => (p.pool ?? "") === previous) ? previous : "";
    status.textContent = `Fleet report of ${report.generated}: ${report.nodes.length} nodes in ${report.pools.length} pools.`;
    render();
  }

  $("fleet-controls").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("fl-stale").addEventListener("change", load);
  $("fl-pool").addEventListener("change", () => { if (report) render(); });
  $("fl-node-filter").addEventListener("input", (event) => { if (report) nodeRows(event.target.value); });
  load();
})();
