/* Charts (SVG): per-criterion contribution bars, and claims vs. measurements per runtime. */
"use strict";

(function (RT) {
  /** Ranked alternatives, each a stacked bar of its weighted per-criterion contributions. */
  RT.drawAlternatives = function (container, decision) {
    RT.clear(container);
    const alts = [...(decision.alternatives || [])].sort((a, b) => a.rank - b.rank);
    if (!alts.length) {
      container.appendChild(RT.h("div", { class: "empty" }, "The engine ranked no alternatives."));
      return;
    }
    const criteria = [];
    for (const a of alts) for (const c of Object.keys(a.contributions || {})) if (!criteria.includes(c)) criteria.push(c);
    const maxScore = Math.max(1e-9, ...alts.map((a) => Object.values(a.contributions || {})
      .reduce((s, v) => s + Math.max(0, v), 0)), ...alts.map((a) => a.score));
    // the performance model P(W) = {V, S, M, D} of S-wasm, spelled out
    const names = { V: "V image volume", S: "S start time", M: "M memory", D: "D density" };
    const legend = RT.h("div", { class: "legend" }, criteria.map((c) =>
      RT.h("span", { class: "legend-item" }, RT.h("i", { style: `background:${RT.color("crit:" + c)}` }), names[c] || c)));
    container.appendChild(legend);
    const W = 620, rowH = 34, labelW = 130, barW = W - labelW - 70;
    const svg = RT.svg("svg", { viewBox: `0 0 ${W} ${alts.length * rowH + 6}`, width: "100%", class: "alts-svg",
      role: "img", "aria-label": "Ranked alternatives" });
    alts.forEach((a, i) => {
      const y = i * rowH + 4;
      const chosen = a.runtime === decision.runtime && !a.excluded;
      const g = RT.svg("g", { class: "alt" + (a.excluded ? " excluded" : "") + (chosen ? " chosen" : ""), "data-runtime": a.runtime });
      g.appendChild(RT.svg("text", { x: 0, y: y + 17, class: "alt-label" }, `${a.rank}. ${a.runtime}`));
      let x = labelW;
      for (const c of criteria) {
        const v = (a.contributions || {})[c];
        if (!v || v <= 0) continue;
        const w = (v / maxScore) * barW;
        g.appendChild(RT.svg("rect", { x, y: y + 4, width: Math.max(w, 0.5), height: rowH - 12, fill: RT.color("crit:" + c),
          class: "seg", "data-criterion": c }, RT.tip(`${a.runtime} · ${c}: ${RT.fmt(v)}`)));
        x += w;
      }
      if (x === labelW) {
        g.appendChild(RT.svg("rect", { x, y: y + 4, width: Math.max(1, (a.score / maxScore) * barW), height: rowH - 12,
          class: "seg plain" }));
      }
      g.appendChild(RT.svg("text", { x: Math.max(x, labelW) + 6, y: y + 17, class: "alt-score" }, RT.fmt(a.score)));
      g.appendChild(RT.tip(`${a.runtime}: score ${RT.fmt(a.score)}${a.architecture ? " — " + a.architecture : ""}` +
        (a.excluded ? `\nexcluded: ${a.excluded}` : "") + "\n" +
        Object.entries(a.contributions || {}).map(([k, v]) => `${k}: ${RT.fmt(v)}`).join("\n")));
      svg.appendChild(g);
    });
    container.appendChild(svg);
    const excluded = alts.filter((a) => a.excluded);
    if (excluded.length) {
      container.appendChild(RT.h("ul", { class: "excluded-list" }, excluded.map((a) =>
        RT.h("li", {}, RT.h("b", {}, a.runtime), " excluded: ", a.excluded))));
    }
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
      const W = 600, labelW = 150, rowH = 30, top = 8, H = top + pts.length * rowH + 28;
      const sx = logScale(lo, hi === lo ? lo * 10 : hi, labelW, W - 14);
      const svg = RT.svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "compare-svg", role: "img",
        "aria-label": `${titles[metric]} claimed and measured per runtime` });
      for (const t of sx.ticks) {
        svg.appendChild(RT.svg("line", { x1: sx(t), x2: sx(t), y1: top, y2: H - 24, class: "grid" }));
        svg.appendChild(RT.svg("text", { x: sx(t), y: H - 8, "text-anchor": "middle", class: "tick" }, tickLabel(t, unit)));
      }
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
