/* The decision tree as SVG, with the path of a decision's trace highlighted. */
"use strict";

(function (RT) {
  const NODE_W = 230, NODE_H = 54, LEAF_W = 130, GAP_X = 24, GAP_Y = 56;

  function norm(s) {
    return String(s === null || s === undefined ? "" : s).toLowerCase().replace(/^tree[:.]/, "").replace(/[\s_?]+/g, "-");
  }

  /** yes/no/true/false at the start of an answer, else the whole answer normalised. */
  function answerKey(s) {
    const t = String(s || "").trim().toLowerCase();
    const m = t.match(/^(yes|no|true|false|y|n)\b/);
    if (!m) return norm(t);
    return { y: "yes", true: "yes", yes: "yes", n: "no", false: "no", no: "no" }[m[1]];
  }

  /** Which nodes and edges of ``tree`` the decision's trace went through. */
  RT.treePath = function (tree, decision) {
    const taken = { nodes: new Set(), edges: new Set() };
    if (!decision || !tree || !tree.nodes.length) return taken;
    const byNorm = new Map(tree.nodes.map((n) => [norm(n.id), n]));
    const steps = (decision.trace || []).filter((s) => s.kind === "tree");
    for (const step of steps) {
      let node = byNorm.get(norm(step.rule));
      if (!node) {
        // Rules may carry a prefix/suffix (e.g. "S-select/tree:gpu"); match on the node id inside.
        node = tree.nodes.find((n) => !n.leaf && norm(step.rule).endsWith(norm(n.id)));
      }
      if (!node) continue;
      taken.nodes.add(node.id);
      const key = answerKey(step.answer);
      const out = tree.edges.filter((e) => e.source === node.id);
      const edge = out.find((e) => answerKey(e.label) === key) ||
        out.find((e) => norm(step.answer).includes(norm(e.label)) && e.label);
      if (edge) {
        taken.edges.add(edge.source + "->" + edge.target);
        taken.nodes.add(edge.target);
      }
    }
    return taken;
  };

  /** Tidy layered layout: leaves left to right in DFS order, parents centred over children. */
  function layout(tree) {
    const children = new Map();
    for (const e of tree.edges) {
      if (!children.has(e.source)) children.set(e.source, []);
      children.get(e.source).push(e);
    }
    const byId = new Map(tree.nodes.map((n) => [n.id, n]));
    const pos = new Map();
    let nextX = 0, maxDepth = 0;
    const visiting = new Set();
    function place(id, depth) {
      if (pos.has(id) || visiting.has(id) || !byId.has(id)) return pos.get(id);
      visiting.add(id);
      maxDepth = Math.max(maxDepth, depth);
      const kids = (children.get(id) || []).map((e) => place(e.target, depth + 1)).filter(Boolean)
        .filter((p) => p.depth === depth + 1);
      const node = byId.get(id);
      const w = node.leaf ? LEAF_W : NODE_W;
      let x;
      if (kids.length) {
        x = (kids[0].x + kids[kids.length - 1].x) / 2;
      } else {
        x = nextX + w / 2;
        nextX += w + GAP_X;
      }
      const p = { x, depth, w };
      pos.set(id, p);
      visiting.delete(id);
      return p;
    }
    const root = tree.root && byId.has(tree.root) ? tree.root : (tree.nodes[0] || {}).id;
    if (root !== undefined) place(root, 0);
    for (const n of tree.nodes) if (!pos.has(n.id)) place(n.id, 0);
    // parents centred over wide subtrees can overlap a previous leaf; shift right to fix
    const width = Math.max(nextX, ...[...pos.values()].map((p) => p.x + p.w / 2)) + 10;
    return { pos, width, height: maxDepth * (NODE_H + GAP_Y) + NODE_H };
  }

  function wrap(text, max) {
    const words = String(text).split(/\s+/);
    const lines = [];
    let line = "";
    for (const w of words) {
      if ((line + " " + w).trim().length > max && line) {
        lines.push(line);
        line = w;
      } else {
        line = (line + " " + w).trim();
      }
    }
    if (line) lines.push(line);
    return lines.slice(0, 3);
  }

  /** Draw ``tree`` into ``container``; ``decision`` (optional) highlights its path. */
  RT.drawTree = function (container, tree, decision) {
    RT.clear(container);
    if (!tree || !tree.nodes || !tree.nodes.length) {
      container.appendChild(RT.h("div", { class: "empty" }, "The knowledge base has no decision tree."));
      return;
    }
    const taken = RT.treePath(tree, decision);
    const { pos, width, height } = layout(tree);
    const pad = 16;
    const svg = RT.svg("svg", {
      viewBox: `${-pad} ${-pad} ${width + 2 * pad} ${height + 2 * pad}`,
      width: "100%", class: "tree-svg", role: "img", "aria-label": "Decision tree",
      preserveAspectRatio: "xMidYMin meet",
    });
    svg.style.maxHeight = (height + 2 * pad) + "px";
    const byId = new Map(tree.nodes.map((n) => [n.id, n]));
    const y = (d) => d * (NODE_H + GAP_Y);
    const edgeLayer = RT.svg("g", { class: "edges" });
    const nodeLayer = RT.svg("g", { class: "nodes" });
    for (const e of tree.edges) {
      const a = pos.get(e.source), b = pos.get(e.target);
      if (!a || !b) continue;
      const isTaken = taken.edges.has(e.source + "->" + e.target);
      const x1 = a.x, y1 = y(a.depth) + NODE_H, x2 = b.x, y2 = y(b.depth);
      const my = (y1 + y2) / 2;
      const g = RT.svg("g", { class: "edge" + (isTaken ? " taken" : ""), "data-source": e.source, "data-target": e.target });
      g.appendChild(RT.svg("path", { d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}` }));
      if (e.label) {
        const lx = (x1 + x2) / 2, ly = my;
        g.appendChild(RT.svg("rect", { x: lx - 17, y: ly - 10, width: 34, height: 18, rx: 9, class: "edge-label-bg" }));
        g.appendChild(RT.svg("text", { x: lx, y: ly + 3, "text-anchor": "middle", class: "edge-label" }, e.label));
      }
      edgeLayer.appendChild(g);
    }
    for (const [id, p] of pos) {
      const n = byId.get(id);
      const isTaken = taken.nodes.has(id);
      const chosen = n.leaf && decision && isTaken;
      const g = RT.svg("g", {
        class: "node" + (n.leaf ? " leaf" : " question") + (isTaken ? " taken" : "") + (chosen ? " reached" : ""),
        "data-node-id": id, transform: `translate(${p.x - p.w / 2},${y(p.depth)})`,
      });
      g.appendChild(RT.svg("rect", { width: p.w, height: NODE_H, rx: n.leaf ? 27 : 8 }));
      const text = n.leaf ? (n.runtime || n.label) : (n.question || n.label);
      const lines = wrap(text, n.leaf ? 16 : 26);
      const t0 = NODE_H / 2 - (lines.length - 1) * 7 + 4 - (n.threshold && !n.leaf ? 6 : 0);
      lines.forEach((line, i) => {
        g.appendChild(RT.svg("text", { x: p.w / 2, y: t0 + i * 14, "text-anchor": "middle", class: "node-text" }, line));
      });
      if (n.threshold && !n.leaf) {
        g.appendChild(RT.svg("text", { x: p.w / 2, y: t0 + lines.length * 14, "text-anchor": "middle", class: "node-threshold" },
          String(n.threshold).length > 38 ? String(n.threshold).slice(0, 37) + "…" : String(n.threshold)));
      }
      g.appendChild(RT.tip([n.question || n.label, n.threshold ? "threshold: " + n.threshold : "", n.note || "",
        n.source ? "source: " + (typeof n.source === "string" ? n.source : JSON.stringify(n.source)) : ""]
        .filter(Boolean).join("\n")));
      nodeLayer.appendChild(g);
    }
    svg.appendChild(edgeLayer);
    svg.appendChild(nodeLayer);
    container.appendChild(svg);
    return taken;
  };
})(window.RT);
