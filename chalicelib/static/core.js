// wifivip portal core: session, API calls, French formatting, tables with CSV export, charts.
"use strict";

export const TZ = "Europe/Paris";
const fmtInt = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 0 });
const fmtDec = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
const fmtPct = new Intl.NumberFormat("fr-FR", { style: "percent", maximumFractionDigits: 1 });
const fmtDateTime = new Intl.DateTimeFormat("fr-FR", { timeZone: TZ, dateStyle: "short", timeStyle: "short" });

export const LABELS = {
  passersby: ["Passants", "Passers-by"],
  visitors: ["Visiteurs", "Visitors"],
  capture_rate: ["Taux d'attraction", "Capture rate"],
  dwell_median_min: ["Durée de visite médiane", "Median dwell"],
  revisit_rate: ["Taux de retour (même jour)", "Revisit rate (same day)"],
  probe_requests: ["Requêtes sondes", "Probe requests"],
};

export function fmt(key, value) {
  if (value === null || value === undefined) { return "n.d."; }
  if (typeof value === "boolean") { return value ? "oui" : "non"; }
  if (typeof value !== "number") { return String(value); }
  if (key.endsWith("rate") || key === "change") { return fmtPct.format(value); }
  if (key.endsWith("_min")) { return `${fmtDec.format(value)} min`; }
  return Number.isInteger(value) || Math.abs(value) >= 100 ? fmtInt.format(value) : fmtDec.format(value);
}

export function fmtChange(value) {
  if (value === null || value === undefined) { return "—"; }
  const sign = value > 0 ? "+" : "";
  return sign + fmtPct.format(value);
}

export function fmtWhen(iso) { return iso ? fmtDateTime.format(new Date(iso)) : "jamais / never"; }

export function localDay(d = new Date()) { return new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(d); }

export function addDays(day, n) {
  const d = new Date(`${day}T12:00:00Z`); d.setUTCDate(d.getUTCDate() + n); return d.toISOString().slice(0, 10);
}

// Session: the ID token lives in this tab only (sessionStorage), sent as a Bearer token.
export const session = {
  get token() { return sessionStorage.getItem("wv.id"); },
  get access() { return sessionStorage.getItem("wv.access"); },
  save(tokens) { sessionStorage.setItem("wv.id", tokens.id_token); sessionStorage.setItem("wv.access", tokens.access_token); },
  clear() { sessionStorage.removeItem("wv.id"); sessionStorage.removeItem("wv.access"); },
};

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(path, { method = "GET", body, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (session.token) { headers.Authorization = `Bearer ${session.token}`; }
  if (body !== undefined) { headers["Content-Type"] = "application/json"; }
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    const err = await response.json().catch(() => ({}));
    if ((response.status === 401 || (response.status === 403 && !err.Code)) && session.token) {
      session.clear(); window.dispatchEvent(new Event("wv:signedout"));
    }
    throw new ApiError(response.status, err.Message || err.message || `HTTP ${response.status}`);
  }
  if (accept === "application/json") { return response.json(); }
  return response;
}

// A file the API serves (CSV, PDF), saved through a temporary link: the token stays in a header.
export async function download(path, accept, filename) {
  const response = await api(path, { accept });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url; a.download = filename; document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function setStatus(text) { document.getElementById("status").textContent = text || ""; }

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) { continue; }
    if (k === "text") { node.textContent = v; } else if (k.startsWith("on")) { node.addEventListener(k.slice(2), v); } else { node.setAttribute(k, v === true ? "" : v); }
  }
  for (const child of children.flat()) { if (child !== null && child !== undefined) { node.append(child); } }
  return node;
}

export function bilingual(fr, en) { return [fr, " ", el("span", { lang: "en", class: "en", text: en })]; }

// A table exactly as the API returned it, with a button exporting the same table as CSV.
export function tableCard(title, table, csvPath, filename) {
  const head = el("tr", {}, table.columns.map((c) => el("th", { scope: "col", text: c.label })));
  const rows = table.rows.map((row) => el("tr", {}, table.columns.map((c, i) => el(i === 0 ? "th" : "td", i === 0 ? { scope: "row", text: fmt(c.key, row[c.key]) } : { text: fmt(c.key, row[c.key]) }))));
  const exportButton = csvPath ? el("button", {
    type: "button", class: "ghost export", "data-csv": filename,
    onclick: () => download(csvPath, "text/csv", filename).catch((e) => setStatus(`Erreur : ${e.message}`)),
  }, "Exporter en CSV ", el("span", { lang: "en", class: "en", text: "Export CSV" })) : null;
  return el("div", { class: "card table-card" },
    el("div", { class: "card-head" }, el("h2", { text: title }), exportButton),
    el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": title },
      el("table", { class: "figures" }, el("caption", { class: "sr-only", text: title }), el("thead", {}, head), el("tbody", {}, rows))));
}

export function kpiTile(label, value, detail, id) {
  return el("div", { class: "tile", id },
    el("div", { class: "tile-label" }, label),
    el("div", { class: "tile-value", "data-value": value === null || value === undefined ? "" : String(value), text: value === null || value === undefined ? "n.d." : fmt(id || "", value) }),
    detail ? el("div", { class: "tile-detail" }, detail) : null);
}

const PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7c3aed", "#475569"];
const charts = new Map();

export function chart(canvasId, type, labels, datasets) {
  const canvas = document.getElementById(canvasId);
  if (charts.has(canvasId)) { charts.get(canvasId).destroy(); }
  const instance = new window.Chart(canvas, {
    type,
    data: { labels, datasets: datasets.map((d, i) => ({ borderColor: PALETTE[i % 5], backgroundColor: PALETTE[i % 5], borderWidth: 2, pointRadius: 2, ...d })) },
    options: {
      maintainAspectRatio: false, animation: false, locale: "fr-FR",
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true } },
      plugins: { legend: { position: "bottom" } },
    },
  });
  charts.set(canvasId, instance);
  return instance;
}

export function chartBox(id, label) {
  return el("div", { class: "card chart" }, el("canvas", { id, role: "img", "aria-label": label }));
}
