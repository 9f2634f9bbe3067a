/* Charts (SVG): per-criterion contribution bars, and claims vs. measurements per runtime. */
"use strict";

(function (RT) {
  // the performance model P(W) = {V, S, M, D} of S-wasm and the ratings, spelled out
  const CRITERIA = { V: "image size", S: "start time", M: "memory", D: "density", isolation: "isolation",
    compatibility: "compatibility", gpu: "GPU support" };

  /** The drawing's width in CSS pixels: the container's, so text stays at its CSS size on a phone too. */
  function widthOf(container, max) {
    const w = container && container.clientWidth ? container.clientWidth : max;
    return Math.max(300, Math.min(max, Math.floor(w)));
  }

  /** "P-artifact: a Wasm module ..." -> {rule: "P-artifact", text: "a Wasm module ..."} */
  function splitReason(excluded) {
    const m = String(excluded).match(/^([A-Za-z][\w.:-]*):\s+([\s\S]*)$/);
    return m ? { rule: m[1], text: m[2] } : { rule: "", text: String(excluded) };
  }

  function axisTicks(max) {
    const top = Math.max(1, Math.ceil(max * 4) / 4);
    const ticks = [];
    for (let v = 0; v <= top + 1e-9; v += 0.25) ticks.push(Math.round(v * 100) / 100);
    return { top, ticks };
  }

  /** Eligible runtimes as stacked score bars on a 0-1 axis (the weighted contributions that sum to the score). */
  function scoreChart(eligible, decision, name, width) {
    const criteria = [];
    for (const a of eligible) for (const c of Object.keys(a.contributions || {})) {
      if ((a.contributions[c] || 0) > 0 && !criteria.includes(c)) criteria.push(c);
    }
    const { top, ticks } = axisTicks(Math.max(...eligible.map((a) => a.score), ...eligible.map((a) =>
      Object.values(a.contributions || {}).reduce((s, v) => s + Math.max(0, v), 0))));
    const W = width, narrow = W < 520, labelW = narrow ? 124 : 170, right = narrow ? 44 : 60, rowH = 30, axisH = 44;
    const barW = W - labelW - right;
    const H = eligible.length * rowH + axisH;
    const x = (v) => labelW + (v / top) * barW;
    const svg = RT.svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "alts-svg", role: "img",
      "aria-label": "Scores of the eligible runtimes, 0 to 1: " + eligible.map((a) => `${name(a.runtime)} ${RT.fmt(a.score)}`).join(", ") });
    for (const t of ticks) {
      svg.appendChild(RT.svg("line", { x1: x(t), x2: x(t), y1: 0, y2: H - axisH + 4, class: "grid" }));
      svg.appendChild(RT.svg("text", { x: x(t), y: H - axisH + 18, "text-anchor": "middle", class: "tick" }, String(t)));
    }
    svg.appendChild(RT.svg("line", { x1: labelW, x2: labelW + barW, y1: H - axisH + 4, y2: H - axisH + 4, class: "axis" }));
    svg.appendChild(RT.svg("text", { x: labelW + barW / 2, y: H - 6, "text-anchor": "middle", class: "axis-title" },
      narrow ? "score (0–1, higher is better)" : "score: weighted sum of the criteria (0–1, higher is better)"));
    eligible.forEach((a, i) => {
      const y = i * rowH + 3;
      const chosen = a.runtime === decision.runtime;
      const g = RT.svg("g", { class: "alt" + (chosen ? " chosen" : ""), "data-runtime": a.runtime, "data-rank": a.rank });
      g.appendChild(RT.svg("text", { x: 0, y: y + 17, class: "alt-label" }, `${a.rank}. ${name(a.runtime)}`));
      let at = 0;
      for (const c of criteria) {
        const v = (a.contributions || {})[c];
        if (!v || v <= 0) continue;
        g.appendChild(RT.svg("rect", { x: x(at), y: y + 4, width: Math.max(x(at + v) - x(at), 0.5), height: rowH - 10,
          fill: RT.color("crit:" + c), class: "seg", "data-criterion": c }, RT.tip(`${name(a.runtime)} · ${CRITERIA[c] || c}: ${RT.fmt(v)}`)));
        at += v;
      }
      if (at === 0 && a.score > 0) {
        g.appendChild(RT.svg("rect", { x: x(0), y: y + 4, width: x(a.score) - x(0), height: rowH - 10, class: "seg plain" }));
        at = a.score;
      }
      g.appendChild(RT.svg("text", { x: x(Math.max(at, a.score)) + 6, y: y + 17, class: "alt-score" }, RT.fmt(a.score)));
      g.appendChild(RT.tip(`${name(a.runtime)}: score ${RT.fmt(a.score)}${a.architecture ? " — " + a.architecture : ""}\n` +
        Object.entries(a.contributions || {}).map(([k, v]) => `${CRITERIA[k] || k}: ${RT.fmt(v)}`).join("\n")));
      svg.appendChild(g);
    });
    const legend = RT.h("div", { class: "legend" }, criteria.map((c) =>
      RT.h("span", { class: "legend-item" }, RT.h("i", { style: `background:${RT.color("crit:" + c)}` }), CRITERIA[c] || c)));
    return [legend, svg];
  }

  function startOf(a) {
    const s = (a.values || {}).S;
    if (!s || typeof s.value !== "number" || !(s.value > 0)) return null;
    return s;
  }

  function originText(s) {
    if (s.origin === "measured") return "measured" + (s.emulated ? ", emulated" : "") + (s.runtime ? " by " + s.runtime : "");
    if (s.origin === "claim") return `claim ${s.claim || ""}${s.source ? " [" + s.source + "]" : ""}`.trim();
    return s.basis ? "derived: " + s.basis : (s.origin || "");
  }

  /** Start time of each runtime on a log axis, with the SLO as a threshold line. */
  function startChart(eligible, excluded, decision, name, width) {
    const slo = decision.slo ? decision.slo.slo_ms : (decision.workload || {}).cold_start_slo_ms || null;
    const rows = [...eligible.map((a) => ({ a, ex: false })), ...excluded.map((a) => ({ a, ex: true }))]
      .map((r) => Object.assign(r, { s: startOf(r.a) })).filter((r) => r.s);
    if (!rows.length) return [RT.h("div", { class: "empty" }, "No start-time figure for these runtimes.")];
    // the SLO check's own figure for the chosen runtime (it may be measured while the score used a claim)
    const vals = rows.map((r) => r.s.value).concat(slo ? [slo] : []);
    const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals)))), hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals))));
    const W = width, narrow = W < 520, labelW = narrow ? 124 : 170, right = narrow ? 74 : 90, rowH = 26, top = 22, axisH = 44;
    const gap = excluded.length && eligible.length ? 22 : 0;
    const nEl = rows.filter((r) => !r.ex).length;
    const H = top + rows.length * rowH + gap + axisH;
    const sx = logScale(lo, hi === lo ? lo * 10 : hi, labelW, W - right);
    const svg = RT.svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "start-svg", role: "img",
      "aria-label": "Start time per runtime in milliseconds, log scale" + (slo ? `, against the SLO of ${RT.num(slo)} ms` : "") + ": " +
        rows.map((r) => `${name(r.a.runtime)}${r.ex ? " (excluded)" : ""} ${RT.num(r.s.value)} ms`).join(", ") });
    const yAxis = H - axisH + 4;
    const every = tickStride(sx);
    sx.ticks.forEach((t, i) => {
      svg.appendChild(RT.svg("line", { x1: sx(t), x2: sx(t), y1: top - 6, y2: yAxis, class: "grid" }));
      if (i % every === 0) svg.appendChild(RT.svg("text", { x: sx(t), y: yAxis + 14, "text-anchor": "middle", class: "tick" }, tickLabel(t, "ms")));
    });
    svg.appendChild(RT.svg("line", { x1: labelW, x2: W - right, y1: yAxis, y2: yAxis, class: "axis" }));
    svg.appendChild(RT.svg("text", { x: labelW + (W - right - labelW) / 2, y: H - 6, "text-anchor": "middle", class: "axis-title" },
      "cold start (ms, log scale)"));
    rows.forEach((r, i) => {
      const y = top + i * rowH + (r.ex ? gap : 0) + rowH / 2;
      if (r.ex && i === nEl && gap) {
        svg.appendChild(RT.svg("text", { x: 0, y: y - rowH / 2 - 4, class: "group-label" }, "excluded by the rules:"));
      }
      const meets = slo ? r.s.value < slo : null;
      const g = RT.svg("g", { class: "start-row" + (r.ex ? " excluded" : "") + (r.a.runtime === decision.runtime ? " chosen" : "") +
        (meets === true ? " meets" : meets === false ? " misses" : ""), "data-runtime": r.a.runtime, "data-ms": r.s.value });
      g.appendChild(RT.svg("text", { x: 0, y: y + 4, class: "row-label" }, name(r.a.runtime)));
      g.appendChild(RT.svg("line", { x1: labelW, x2: sx(r.s.value), y1: y, y2: y, class: "stem" }));
      g.appendChild(RT.svg("circle", { cx: sx(r.s.value), cy: y, r: 5.5, class: "dot" }));
      g.appendChild(RT.svg("text", { x: sx(r.s.value) + 9, y: y + 4, class: "value" },
        `${RT.num(r.s.value)} ms` + (meets === true ? " ✓" : meets === false ? " ✗" : "")));
      g.appendChild(RT.tip(`${name(r.a.runtime)}: ${RT.num(r.s.value)} ms (${originText(r.s)})` + (r.ex ? "\nexcluded: " + r.a.excluded : "")));
      svg.appendChild(g);
    });
    if (slo) {
      const xs = sx(slo);
      svg.appendChild(RT.svg("line", { x1: xs, x2: xs, y1: top - 10, y2: yAxis, class: "slo-line" }));
      svg.appendChild(RT.svg("text", { x: xs, y: top - 12, "text-anchor": xs > W - right - 40 ? "end" : "middle", class: "slo-label" },
        `your SLO: ${RT.num(slo)} ms`));
    }
    const legend = RT.h("p", { class: "hint small" }, slo
      ? `✓ starts within your ${RT.num(slo)} ms SLO, ✗ misses it. Hover a dot for where its figure comes from (claim, measurement or derivation).`
      : "No start-time SLO given. Hover a dot for where its figure comes from (claim, measurement or derivation).");
    return [svg, legend];
  }

  /** Each exclusion reason once, with the runtimes it rules out (and what adopting them would cost). */
  function excludedList(excluded, name) {
    const groups = new Map();
    for (const a of excluded) {
      const key = a.excluded;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(a);
    }
    const ul = RT.h("ul", { class: "excluded-list" });
    for (const [key, alts] of groups) {
      const { rule, text } = splitReason(key);
      const costs = new Map();
      for (const a of alts) {
        const c = a.cost || "";
        if (!costs.has(c)) costs.set(c, []);
        costs.get(c).push(a);
      }
      ul.appendChild(RT.h("li", { class: "excl-group", "data-rule": rule },
        RT.h("p", { class: "excl-names" }, [...costs.values()].flat().map((a, i) => [i ? ", " : "",
          RT.h("b", { "data-runtime": a.runtime }, name(a.runtime))])),
        RT.h("p", { class: "excl-why" }, text, rule ? RT.h("span", { class: "rule-id mono" }, " " + rule) : null),
        [...costs.entries()].filter(([c]) => c).map(([c, list]) => RT.h("p", { class: "excl-cost" },
          "To use ", list.map((a) => name(a.runtime)).join(", "), " anyway: ", c))));
    }
    return ul;
  }

  function scoreTable(eligible, excluded, decision, name) {
    const rows = [...eligible, ...excluded];
    return RT.h("details", { class: "alt-table" }, RT.h("summary", {}, "The same figures as a table"),
      RT.h("table", { class: "trace stack" },
        RT.h("thead", {}, RT.h("tr", {}, ["rank", "runtime", "score", "start time", "status"].map((t) => RT.h("th", { scope: "col" }, t)))),
        RT.h("tbody", {}, rows.map((a) => {
          const s = startOf(a);
          return RT.h("tr", {},
            RT.h("td", { "data-label": "rank" }, String(a.rank)),
            RT.h("td", { "data-label": "runtime" }, name(a.runtime)),
            RT.h("td", { "data-label": "score" }, RT.fmt(a.score)),
            RT.h("td", { "data-label": "start time" }, s ? `${RT.num(s.value)} ms (${originText(s)})` : "–"),
            RT.h("td", { "data-label": "status" }, a.runtime === decision.runtime ? "chosen" : a.excluded ? "excluded: " + splitReason(a.excluded).text : "eligible"));
        }))));
  }

  /** The alternatives: eligible runtimes (score and start time) apart from the excluded ones (each reason once). */
  RT.drawAlternatives = function (container, decision, nameOf) {
    RT.clear(container);
    const name = nameOf || ((id) => id);
    const alts = [...(decision.alternatives || [])].sort((a, b) => a.rank - b.rank);
    if (!alts.length) {
      container.appendChild(RT.h("div", { class: "empty" }, "The engine ranked no alternatives."));
      return;
    }
    const eligible = alts.filter((a) => !a.excluded);
    const excluded = alts.filter((a) => a.excluded);
    const width = widthOf(container, 760);
    const elig = RT.h("div", { class: "alt-block eligible" });
    elig.appendChild(RT.h("h3", {}, `Eligible: ${eligible.length} runtime${eligible.length === 1 ? "" : "s"} the rules leave`));
    if (eligible.length) {
      elig.appendChild(RT.h("div", { class: "chart" }, scoreChart(eligible, decision, name, width)));
      const chosen = eligible.find((a) => a.runtime === decision.runtime);
      const better = chosen && eligible.filter((a) => a.score > chosen.score + 1e-9);
      if (better && better.length) {
        const why = (decision.reasons || [])[0];
        elig.appendChild(RT.h("p", { class: "note rank-note" }, `${name(chosen.runtime)} ranks first although ` +
          `${better.map((a) => name(a.runtime)).join(", ")} score${better.length === 1 ? "s" : ""} higher: the rules chose it` +
          (why ? ` (${why.text})` : "") + "; the score orders the rest."));
      }
    } else {
      elig.appendChild(RT.h("div", { class: "empty" }, "None."));
    }
    container.appendChild(elig);
    const start = RT.h("div", { class: "alt-block start" });
    start.appendChild(RT.h("h3", {}, "Start time against your SLO"));
    start.appendChild(RT.h("div", { class: "chart" }, startChart(eligible, excluded, decision, name, width)));
    container.appendChild(start);
    const ex = RT.h("div", { class: "alt-block excluded" });
    ex.appendChild(RT.h("h3", {}, `Excluded: ${excluded.length} runtime${excluded.length === 1 ? "" : "s"} the rules rule out`));
    ex.appendChild(excluded.length ? excludedList(excluded, name) : RT.h("div", { class: "empty" }, "None."));
    container.appendChild(ex);
    container.appendChild(scoreTable(eligible, excluded, decision, name));
  };

  function logScale(lo, hi, x0, x1) {
    const a = Math.log10(lo), b = Math.log10(hi);
    const f = (v) => x0 + ((Math.log10(Math.max(v, lo)) - a) / (b - a)) * (x1 - x0);
    f.ticks = [];
    for (let e = Math.floor(a); e <= Math.ceil(b); e++) {
      const v = Math.pow(10, e);
      if (v >= lo && v <= hi) f.ticks.push(v);
    }
    return f;
  }

  /** Label every n-th tick so that labels (about 44 px wide) never overlap on a narrow drawing. */
  function tickStride(sx) {
    if (sx.ticks.length < 2) return 1;
    const spacing = Math.abs(sx(sx.ticks[1]) - sx(sx.ticks[0]));
    return Math.max(1, Math.ceil(44 / Math.max(spacing, 1)));
  }

  function tickLabel(v, unit) {
    if (unit === "ms" && v >= 1000) return v / 1000 + " s";
    if (unit === "MB" && v >= 1000) return v / 1000 + " GB";
    if (unit === "MB" && v < 1) return v * 1000 + " KB";
    return (v < 1 ? v.toString() : v.toFixed(0)) + " " + unit;
  }

  function measurementText(m) {
    if (!m) return "";
    return `measured ${RT.fmt(m.value, m.unit)} on ${m.host || "this node"}` +
      ` (${m.runtime}, n=${m.n}${m.date ? ", " + m.date : ""}${m.method ? ", " + m.method : ""}${m.emulated ? ", EMULATED" : ""})`;
  }

  /** One chart per metric: claim ranges (bars with source tags) and measured values (dots). */
  RT.drawComparison = function (container, comparison) {
    RT.clear(container);
    const titles = { cold_start: "Cold start", memory: "Memory" };
    for (const metric of ["cold_start", "memory"]) {
      const pts = comparison.points.filter((p) => p.metric === metric);
      const box = RT.h("div", { class: "chart", "data-metric": metric });
      const unit = metric === "cold_start" ? "ms" : "MB";
      box.appendChild(RT.h("h3", {}, `${titles[metric]} (${unit}, log scale)`));
      if (!pts.length) {
        box.appendChild(RT.h("div", { class: "empty" }, "Nothing claimed or measured."));
        container.appendChild(box);
        continue;
      }
      const vals = [];
      for (const p of pts) for (const v of [p.claim_low, p.claim_high, p.measured_value]) if (v > 0) vals.push(v);
      const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals)))), hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals))));
      container.appendChild(box);
      const W = widthOf(box, 600), labelW = W < 520 ? 130 : 150, rowH = 30, top = 8, H = top + pts.length * rowH + 28;
      const sx = logScale(lo, hi === lo ? lo * 10 : hi, labelW, W - 14);
      const svg = RT.svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "compare-svg", role: "img",
        "aria-label": `${titles[metric]} claimed and measured per runtime` });
      const every = tickStride(sx);
      sx.ticks.forEach((t, i) => {
        svg.appendChild(RT.svg("line", { x1: sx(t), x2: sx(t), y1: top, y2: H - 24, class: "grid" }));
        if (i % every === 0) svg.appendChild(RT.svg("text", { x: sx(t), y: H - 8, "text-anchor": "middle", class: "tick" }, tickLabel(t, unit)));
      });
      pts.forEach((p, i) => {
        const y = top + i * rowH + rowH / 2;
        const g = RT.svg("g", { class: "row", "data-runtime": p.runtime });
        // a subject measured by a stand-in says so: "kata ← microvm"
        const via = p.measured && p.measured.runtime !== p.runtime ? " ← " + p.measured.runtime : "";
        g.appendChild(RT.svg("text", { x: 0, y: y + 4, class: "row-label" }, p.runtime,
          via ? RT.svg("tspan", { class: "via" }, via) : null));
        if (p.claim_low !== null && p.claim_low > 0) {
          const x1 = sx(p.claim_low), x2 = sx(p.claim_high || p.claim_low);
          const tags = [...new Set(p.claims.map((c) => c.source))].join(", ");
          const text = p.claims.map((c) => `${c.source}: ${c.text || c.id} ` +
            `(${c.value ?? ""}${c.low !== null && c.low !== undefined ? " " + c.low + "–" + c.high : ""} ${c.unit})`).join("\n");
          g.appendChild(RT.svg("rect", { x: x1 - 3, y: y - 7, width: Math.max(6, x2 - x1 + 6), height: 14, rx: 7, class: "claim" },
            RT.tip(`claimed (${tags}):\n${text}`)));
        }
        if (p.measured_value !== null && p.measured_value > 0) {
          g.appendChild(RT.svg("circle", { cx: sx(p.measured_value), cy: y, r: 6.5,
            class: "measured" + (p.measured && p.measured.emulated ? " emulated" : "") }, RT.tip(measurementText(p.measured))));
          g.appendChild(RT.svg("text", { x: sx(p.measured_value) + 10, y: y - 8, class: "measured-label" },
            RT.fmt(p.measured_value, unit)));
        }
        svg.appendChild(g);
      });
      box.appendChild(svg);
      container.appendChild(box);
    }
    container.appendChild(RT.h("div", { class: "legend" },
      RT.h("span", { class: "legend-item" }, RT.h("i", { class: "claim-swatch" }), "claimed by a source (hover: tag and text)"),
      RT.h("span", { class: "legend-item" }, RT.h("i", { class: "measured-swatch" }), "measured on this node (hover: host, n, date)"),
      RT.h("span", { class: "legend-item" }, RT.h("i", { class: "measured-swatch emulated" }), "measured, emulated (no KVM: TCG)"),
      RT.h("span", { class: "legend-item" }, "a ← b: claim subject a, measured by stand-in b")));
  };
})(window.RT);
