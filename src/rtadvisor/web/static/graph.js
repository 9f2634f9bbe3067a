/* An interactive force-directed graph in plain SVG (repulsion, springs, centring, dragging).
 * Written here rather than pulled from d3 because the page must work with no internet and the
 * relation network is small (tens of nodes), so an O(n^2) step per frame is plenty. */
"use strict";

(function (RT) {
  /** A long label cut at a word boundary (whole words stay part of the node's accessible name). */
  function shortLabel(label) {
    const text = String(label);
    if (text.length <= 40) return text;
    const cut = text.slice(0, 40);
    const at = cut.lastIndexOf(" ");
    return at > 12 ? cut.slice(0, at) : cut;
  }

  RT.forceGraph = function (container, data, options) {
    RT.clear(container);
    const opts = Object.assign({ width: 960, height: 560, onSelect: null }, options || {});
    const W = opts.width, H = opts.height;
    const nodes = data.nodes.map((n, i) => {
      const a = (i / Math.max(1, data.nodes.length)) * 2 * Math.PI;
      return Object.assign({}, n, { x: W / 2 + Math.cos(a) * W * 0.3, y: H / 2 + Math.sin(a) * H * 0.3, vx: 0, vy: 0, fixed: false });
    });
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const links = data.links.filter((l) => byId.has(l.source) && byId.has(l.target))
      .map((l) => Object.assign({}, l, { s: byId.get(l.source), t: byId.get(l.target) }));
    const degree = new Map(nodes.map((n) => [n.id, 0]));
    for (const l of links) {
      degree.set(l.s.id, degree.get(l.s.id) + 1);
      degree.set(l.t.id, degree.get(l.t.id) + 1);
    }

    // a group, not an image: its nodes are buttons (focusable, Enter or Space selects)
    const svg = RT.svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", class: "graph-svg", role: "group",
      "aria-label": "Relation network graph" });
    const defs = RT.svg("defs", {}, RT.svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 19, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, RT.svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" })));
    svg.appendChild(defs);
    const linkLayer = RT.svg("g", { class: "links" }), nodeLayer = RT.svg("g", { class: "gnodes" });
    svg.appendChild(linkLayer);
    svg.appendChild(nodeLayer);
    for (const l of links) {
      l.el = RT.svg("line", { class: "glink", "data-kind": l.kind || "", "marker-end": data.directed ? "url(#arrow)" : null },
        RT.tip(`${l.source} → ${l.target}${l.kind ? " (" + l.kind + ")" : ""}`));
      linkLayer.appendChild(l.el);
    }
    for (const n of nodes) {
      const r = 7 + Math.min(7, degree.get(n.id));
      n.r = r;
      n.labelEl = RT.svg("text", { x: r + 3, y: 4, class: "glabel" }, shortLabel(n.label));
      n.el = RT.svg("g", { class: "gnode", "data-id": n.id, tabindex: 0, role: "button",
        "aria-label": `${n.label} (${n.group}): show its relations` },
        RT.svg("circle", { r, fill: RT.color("group:" + n.group) }),
        n.labelEl,
        RT.tip(Object.entries(n).filter(([k, v]) => !["x", "y", "vx", "vy", "fixed", "el", "r", "labelEl", "left"].includes(k) &&
          v !== null && typeof v !== "object").map(([k, v]) => `${k}: ${v}`).join("\n")));
      nodeLayer.appendChild(n.el);
    }
    container.appendChild(svg);

    let alpha = 1;
    let running = false;
    function tick() {
      const k = Math.sqrt((W * H) / Math.max(1, nodes.length)) * 0.55;
      const cutoff2 = (4 * k) * (4 * k);
      for (let i = 0; i < nodes.length; i++) {
        const a = nodes[i];
        for (let j = i + 1; j < nodes.length; j++) {
          const b = nodes[j];
          let dx = a.x - b.x, dy = a.y - b.y;
          let d2 = dx * dx + dy * dy;
          if (d2 < 0.01) { dx = Math.random() - 0.5; dy = Math.random() - 0.5; d2 = 0.25; }
          // repulsion only between near nodes: far clusters need not push each other into the walls
          if (d2 > cutoff2) continue;
          const f = (k * k) / d2 * 0.028;
          a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
        }
      }
      for (const l of links) {
        const dx = l.t.x - l.s.x, dy = l.t.y - l.s.y;
        const d = Math.sqrt(dx * dx + dy * dy) || 1;
        const f = ((d - k * 0.9) / d) * 0.05;
        l.s.vx += dx * f; l.s.vy += dy * f; l.t.vx -= dx * f; l.t.vy -= dy * f;
      }
      for (const n of nodes) {
        // gravity keeps unlinked nodes (timeline, observability) from drifting to the walls
        n.vx += (W / 2 - n.x) * 0.012;
        n.vy += (H / 2 - n.y) * 0.024;
        if (n.fixed) { n.vx = 0; n.vy = 0; continue; }
        const sp = Math.sqrt(n.vx * n.vx + n.vy * n.vy), max = 30 * alpha + 1;
        if (sp > max) { n.vx *= max / sp; n.vy *= max / sp; }
        n.x = Math.min(W - 20, Math.max(20, n.x + n.vx * alpha));
        n.y = Math.min(H - 15, Math.max(15, n.y + n.vy * alpha));
        n.vx *= 0.6; n.vy *= 0.6;
      }
    }
    function render() {
      for (const l of links) {
        l.el.setAttribute("x1", l.s.x.toFixed(1)); l.el.setAttribute("y1", l.s.y.toFixed(1));
        l.el.setAttribute("x2", l.t.x.toFixed(1)); l.el.setAttribute("y2", l.t.y.toFixed(1));
      }
      for (const n of nodes) {
        n.el.setAttribute("transform", `translate(${n.x.toFixed(1)},${n.y.toFixed(1)})`);
        // labels of nodes near the right edge go on their left so they stay inside the drawing
        const left = n.x > W * 0.72;
        if (left !== n.left) {
          n.left = left;
          n.labelEl.setAttribute("x", left ? -(n.r + 3) : n.r + 3);
          n.labelEl.setAttribute("text-anchor", left ? "end" : "start");
        }
      }
    }
    function frame() {
      for (let i = 0; i < 3; i++) tick();
      render();
      alpha *= 0.985;
      if (alpha > 0.02) requestAnimationFrame(frame);
      else { running = false; svg.setAttribute("data-settled", "true"); }
    }
    function reheat(to) {
      alpha = Math.max(alpha, to);
      svg.removeAttribute("data-settled");
      if (!running) { running = true; requestAnimationFrame(frame); }
    }
    // settle most of the way before the first paint so the graph does not explode on screen
    for (let i = 0; i < 120; i++) { tick(); alpha *= 0.99; }
    render();
    reheat(alpha);

    // dragging (pointer events cover mouse, pen and touch)
    function toSvg(evt) {
      const pt = svg.createSVGPoint();
      pt.x = evt.clientX; pt.y = evt.clientY;
      return pt.matrixTransform(svg.getScreenCTM().inverse());
    }
    let dragged = null, moved = false;
    svg.addEventListener("pointerdown", (evt) => {
      const g = evt.target.closest(".gnode");
      if (!g) { clearSelection(); return; }
      dragged = byId.get(g.getAttribute("data-id"));
      moved = false;
      dragged.fixed = true;
      svg.setPointerCapture(evt.pointerId);
      g.classList.add("dragging");
      evt.preventDefault();
    });
    svg.addEventListener("pointermove", (evt) => {
      if (!dragged) return;
      const p = toSvg(evt);
      dragged.x = p.x; dragged.y = p.y;
      moved = true;
      reheat(0.3);
      render();
    });
    function endDrag() {
      if (!dragged) return;
      dragged.el.classList.remove("dragging");
      if (!moved) select(dragged.id);
      dragged = null;
    }
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointercancel", endDrag);
    svg.addEventListener("dblclick", (evt) => {
      const g = evt.target.closest(".gnode");
      if (g) { byId.get(g.getAttribute("data-id")).fixed = false; reheat(0.3); }
    });
    svg.addEventListener("keydown", (evt) => {
      const g = evt.target.closest && evt.target.closest(".gnode");
      if (g && (evt.key === "Enter" || evt.key === " ")) { evt.preventDefault(); select(g.getAttribute("data-id")); }
    });

    function select(id) {
      const neigh = new Set([id]);
      for (const l of links) {
        if (l.s.id === id) neigh.add(l.t.id);
        if (l.t.id === id) neigh.add(l.s.id);
      }
      for (const n of nodes) {
        n.el.classList.toggle("dim", !neigh.has(n.id));
        n.el.classList.toggle("selected", n.id === id);
      }
      for (const l of links) l.el.classList.toggle("hot", l.s.id === id || l.t.id === id);
      if (opts.onSelect) {
        const node = byId.get(id);
        opts.onSelect(node, links.filter((l) => l.s.id === id || l.t.id === id));
      }
    }
    // (not a "click" handler: with pointer capture, clicks target the <svg>, not the node)
    function clearSelection() {
      for (const n of nodes) n.el.classList.remove("dim", "selected");
      for (const l of links) l.el.classList.remove("hot");
    }
    return { select, nodes, links };
  };
})(window.RT);
