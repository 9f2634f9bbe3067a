/* Small DOM/SVG helpers shared by the page's scripts (no library: the page works offline). */
"use strict";

window.RT = window.RT || {};

(function (RT) {
  const SVG_NS = "http://www.w3.org/2000/svg";

  /** Create an SVG element with attributes; children may be nodes or strings. */
  RT.svg = function (tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) el.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  };

  /** Create an HTML element: h("div", {class: "x"}, "text", child). */
  RT.h = function (tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "html") el.innerHTML = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return el;
  };

  RT.clear = function (el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  };

  /** SVG <title> child, which browsers show as a tooltip. */
  RT.tip = function (text) {
    return RT.svg("title", {}, text);
  };

  /** Fetch JSON from our API; a non-2xx answer becomes an Error carrying the API's message. */
  RT.api = async function (path, options) {
    const resp = await fetch(path, options);
    const type = resp.headers.get("content-type") || "";
    const body = type.includes("json") ? await resp.json() : await resp.text();
    if (!resp.ok) {
      const err = new Error((body && body.error) || ("HTTP " + resp.status));
      err.status = resp.status;
      err.field = body && body.field;
      throw err;
    }
    return body;
  };

  /** Format a number with a sensible precision. */
  RT.fmt = function (v, unit) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(2);
    return unit ? s + " " + unit : s;
  };

  /** A figure as a person writes it: 1200, 6, 0.57, 2.1 (at most 3 significant decimals, no exponent). */
  RT.num = function (v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
    return String(Number(v.toPrecision(3)));
  };

  /** A categorical colour per key, stable across the page. */
  const PALETTE = ["#2f6db5", "#e07b24", "#2a9d8f", "#c0392b", "#8e6bbf", "#b5892f", "#4a9bd1",
    "#6b8e23", "#d35d8a", "#5d6d7e", "#17a589", "#a04000"];
  const assigned = new Map();
  RT.color = function (key) {
    if (!assigned.has(key)) assigned.set(key, PALETTE[assigned.size % PALETTE.length]);
    return assigned.get(key);
  };
})(window.RT);
