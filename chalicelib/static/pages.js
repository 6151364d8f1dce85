// wifivip portal pages: one entry per area; the navigation shows those the signed-in role may open.
// A later area (campaigns, issue 7) adds an entry here and its name to the role's pages on the server.
"use strict";

import {
  LABELS, addDays, api, bilingual, chart, chartBox, download, el, fmt, fmtChange, fmtWhen, kpiTile, localDay, setStatus, tableCard,
} from "./core.js";
import { CAMPAIGN_PAGES } from "./campaigns.js";

const qs = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString();
const metricLabel = (m) => bilingual(...(LABELS[m] || [m, m]));
const metricText = (m) => (LABELS[m] || [m, m]).join(" / ");

function field(id, label, input) { return el("div", { class: "field" }, el("label", { for: id }, ...label), input); }

function shopSelect(me, id, value) {
  return el("select", { id }, me.shops.map((s) => el("option", { value: s.shop_id, selected: s.shop_id === value }, `${s.name} (${s.street})`)));
}

function scopeSelect(me, id, value) {
  const options = [
    ...me.areas.map((a) => ({ value: `${a.kind}:${a.id}`, text: `${a.kind === "city" ? "Ville" : a.kind === "union" ? "Union" : a.kind === "street" ? "Rue" : "Zone"} : ${a.label} (${a.shops} boutiques)` })),
    ...me.shops.map((s) => ({ value: `shop:${s.shop_id}`, text: `Boutique : ${s.name}` })),
  ];
  return el("select", { id }, options.map((o) => el("option", { value: o.value, selected: o.value === value }, o.text)));
}

function defaultScope(me) {
  if (me.shops.length && !["admin", "union"].includes(me.role)) { return `shop:${me.shops[0].shop_id}`; }
  return me.areas.length ? `${me.areas[0].kind}:${me.areas[0].id}` : "";
}

function form(onsubmit, ...children) {
  return el("form", { class: "filters card", onsubmit: (e) => { e.preventDefault(); onsubmit(); } }, ...children,
    el("button", { type: "submit" }, ...bilingual("Afficher", "Show")));
}

function heading(fr, en) { return el("h1", { tabindex: "-1" }, ...bilingual(fr, en)); }

function noShops(root) { root.append(el("p", { class: "card" }, ...bilingual("Aucune boutique visible pour ce compte.", "No shop visible to this account."))); }

// Today -----------------------------------------------------------------------------------------
async function today(root, me, params) {
  root.append(heading("Aujourd'hui", "Today"));
  if (!me.shops.length) { return noShops(root); }
  const shop = params.get("shop") || me.shops[0].shop_id;
  let day = params.get("day") || "";
  const out = el("div");
  const load = async () => {
    const s = document.getElementById("today-shop").value;
    const d = document.getElementById("today-day").value;
    let body = await api(`/api/shops/${encodeURIComponent(s)}/today?${qs({ day: d })}`);
    let note = null;
    if (!d && !body.table.rows.length && body.latest_day && body.latest_day !== body.day) {
      // No figures yet today (before opening): show the last day with figures; visitors now stay now's.
      const occupancy = body.occupancy;
      body = await api(`/api/shops/${encodeURIComponent(s)}/today?${qs({ day: body.latest_day })}`);
      body.occupancy = occupancy;
      note = el("p", { class: "note" }, ...bilingual(`Pas encore de données aujourd'hui : dernier jour avec des données (${body.day}).`, "No data yet today: latest day with data."));
    }
    renderToday(out, body, note, s);
  };
  root.append(form(load,
    field("today-shop", bilingual("Boutique", "Shop"), shopSelect(me, "today-shop", shop)),
    field("today-day", bilingual("Jour", "Day"), el("input", { id: "today-day", type: "date", value: day }))), out);
  await load();
}

function renderToday(out, body, note, shop) {
  const tiles = el("div", { class: "tiles" },
    kpiTile(bilingual("Visiteurs présents", "Visitors now"), body.occupancy, body.occupancy === null ? bilingual("occupation : pas encore mesurée", "occupancy not measured yet") : null, "occupancy"),
    ...body.metrics.filter((m) => m in body.so_far).map((m) => kpiTile(metricLabel(m), body.so_far[m],
      bilingual(`${fmtChange(body.change[m])} vs ${body.last_week_day} (${fmt(m, body.last_week[m])})`, "vs same weekday last week"), `today-${m}`)));
  const main = body.metrics.includes("visitors") ? "visitors" : body.metrics[0];
  out.replaceChildren(
    note || "",
    el("p", { class: "note" }, ...bilingual(`${body.shop.name}, ${body.day}${body.until ? ` jusqu'à ${body.until}` : ""} comparé au ${body.last_week_day}.`, "compared with the same weekday last week")),
    tiles,
    chartBox("today-chart", `${metricText(main)} par heure, aujourd'hui et la semaine dernière`),
    tableCard("Par heure / Hourly", body.table, `/api/shops/${encodeURIComponent(shop)}/today?${qs({ day: body.day, format: "csv" })}`, `wifivip-today-${shop}.csv`));
  chart("today-chart", "bar", body.table.rows.map((r) => r.hour), [
    { label: `${metricText(main)} (${body.day})`, data: body.table.rows.map((r) => r[main]) },
    { label: `Semaine dernière / last week (${body.last_week_day})`, data: body.table.rows.map((r) => r[`last_week_${main}`]), type: "line" },
  ]);
}

// Trends ----------------------------------------------------------------------------------------
const PRESETS = [["7", "7 jours / 7 days"], ["30", "30 jours / 30 days"], ["90", "90 jours / 90 days"], ["365", "12 mois / 12 months"]];

function rangeFields(prefix, from, to) {
  const preset = el("select", {
    id: `${prefix}-preset`,
    onchange: (e) => {
      const days = Number(e.target.value); if (!days) { return; }
      const end = localDay(); document.getElementById(`${prefix}-to`).value = end;
      document.getElementById(`${prefix}-from`).value = addDays(end, 1 - days);
      // 12 months read by month: 12 rolled-up items instead of 365 days (the year dashboard's reads).
      const granularity = document.getElementById(`${prefix}-granularity`);
      if (granularity && days >= 365) { granularity.value = "month"; }
    },
  }, el("option", { value: "" }, "Période… / Range…"), PRESETS.map(([v, t]) => el("option", { value: v }, t)));
  return [
    field(`${prefix}-preset`, bilingual("Période", "Range"), preset),
    field(`${prefix}-from`, bilingual("Du", "From"), el("input", { id: `${prefix}-from`, type: "date", value: from })),
    field(`${prefix}-to`, bilingual("Au", "To"), el("input", { id: `${prefix}-to`, type: "date", value: to })),
  ];
}

async function trends(root, me, params) {
  root.append(heading("Tendances", "Trends"));
  const scope = params.get("scope") || defaultScope(me);
  if (!scope) { return noShops(root); }
  const to = params.get("to") || localDay();
  const from = params.get("from") || addDays(to, -13);
  const out = el("div");
  const load = async () => {
    const [kind, ...rest] = document.getElementById("trends-scope").value.split(":");
    const id = rest.join(":");
    const query = { from: document.getElementById("trends-from").value, to: document.getElementById("trends-to").value, granularity: document.getElementById("trends-granularity").value };
    const body = await api(`/api/kpis/${kind}/${encodeURIComponent(id)}?${qs(query)}`);
    renderTrends(out, body, `/api/kpis/${kind}/${encodeURIComponent(id)}?${qs({ ...query, format: "csv" })}`, `wifivip-trends-${kind}-${id}.csv`);
  };
  const granularity = el("select", { id: "trends-granularity" }, [["hour", "Heure / Hour"], ["day", "Jour / Day"], ["week", "Semaine / Week"], ["month", "Mois / Month"]]
    .map(([v, t]) => el("option", { value: v, selected: v === (params.get("granularity") || "day") }, t)));
  root.append(form(load,
    field("trends-scope", bilingual("Périmètre", "Scope"), scopeSelect(me, "trends-scope", scope)),
    ...rangeFields("trends", from, to),
    field("trends-granularity", bilingual("Par", "By"), granularity)), out);
  await load();
}

function renderTrends(out, body, csvPath, filename) {
  const bench = body.benchmark;
  const tiles = el("div", { class: "tiles" }, body.metrics.map((m) => kpiTile(metricLabel(m), body.totals[m],
    el("span", {}, `${fmtChange(body.change[m])} vs période précédente / previous period`,
      bench && bench.totals[m] !== undefined ? el("br") : null,
      bench && bench.totals[m] !== undefined ? `moyenne ${bench.scope.label} : ${fmt(m, bench.totals[m])} / street average` : null), `trends-${m}`)));
  const main = body.metrics.includes("visitors") ? "visitors" : body.metrics[0];
  const datasets = [{ label: `${metricText(main)} — ${body.scope.label}`, data: body.points.map((p) => p[main]) },
    { label: `Période précédente / previous period`, data: body.previous.points.map((p) => p[main]), borderDash: [6, 4] }];
  if (bench) { datasets.push({ label: `Moyenne par boutique, ${bench.scope.label} / street average`, data: bench.points.map((p) => p[main]) }); }
  out.replaceChildren(
    el("p", { class: "note" }, ...bilingual(`${body.scope.label}, du ${body.from} au ${body.to} ; période précédente du ${body.previous.from} au ${body.previous.to}.`, "compared with the previous period")),
    tiles, chartBox("trends-chart", `${metricText(main)} par période`),
    tableCard("Détail / Detail", body.table, csvPath, filename));
  chart("trends-chart", "line", body.points.map((p) => p.period), datasets);
}

// Heatmap ---------------------------------------------------------------------------------------
async function heatmap(root, me, params) {
  root.append(heading("Influence par créneau", "Influence by time slot"));
  const scope = params.get("scope") || defaultScope(me);
  if (!scope) { return noShops(root); }
  const to = params.get("to") || localDay();
  const out = el("div");
  const load = async () => {
    const [kind, ...rest] = document.getElementById("heat-scope").value.split(":");
    const id = rest.join(":");
    const query = { from: document.getElementById("heat-from").value, to: document.getElementById("heat-to").value };
    const body = await api(`/api/kpis/${kind}/${encodeURIComponent(id)}/heatmap?${qs(query)}`);
    const grid = el("table", { class: "heatmap" },
      el("caption", {}, `${body.metric_label}, ${body.scope.label}, du ${body.from} au ${body.to}`),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Jour / Day" }), Array.from({ length: 24 }, (_, h) => el("th", { scope: "col", text: `${h}` })))),
      el("tbody", {}, body.table.rows.map((row, d) => el("tr", {}, el("th", { scope: "row", text: row.weekday.split(" / ")[0] }),
        body.grid[d].map((v) => {
          const cell = el("td", { text: v ? fmt("", v) : "", title: fmt("", v) });
          const alpha = body.max ? v / body.max : 0;
          cell.style.background = `rgba(11, 92, 173, ${alpha.toFixed(3)})`;
          cell.style.color = alpha > 0.5 ? "#fff" : "#1b1f24";
          return cell;
        })))));
    out.replaceChildren(el("div", { class: "card scroll", tabindex: "0", role: "region", "aria-label": "Carte de chaleur" }, grid),
      tableCard("Tableau / Table", body.table, `/api/kpis/${kind}/${encodeURIComponent(id)}/heatmap?${qs({ ...query, format: "csv" })}`, `wifivip-heatmap-${kind}-${id}.csv`));
  };
  root.append(form(load, field("heat-scope", bilingual("Périmètre", "Scope"), scopeSelect(me, "heat-scope", scope)),
    ...rangeFields("heat", params.get("from") || addDays(to, -27), to)), out);
  await load();
}

// Sensor health ---------------------------------------------------------------------------------
function healthTable(body) {
  const rows = body.table.rows.map((r) => ({ ...r, last_seen: fmtWhen(r.last_seen), state: { ok: "en service / ok", silent: "SILENCIEUX / silent", never: "jamais vu / never seen", revoked: "révoqué / revoked" }[r.state] }));
  return { columns: body.table.columns, rows };
}

async function health(root, me, params) {
  root.append(heading("État des capteurs", "Sensor health"));
  if (!me.shops.length) { return noShops(root); }
  const out = el("div");
  const load = async () => {
    const s = document.getElementById("health-shop").value;
    const body = await api(`/api/shops/${encodeURIComponent(s)}/sensors`);
    const warn = body.silent.length ? el("div", { class: "warning", role: "alert" }, ...bilingual(
      `Attention : ${body.silent.length} capteur(s) silencieux depuis plus de ${body.silent_after_s / 60} min (${body.silent.join(", ")}). Vérifiez l'alimentation et le réseau.`,
      "Warning: silent sensor(s). Check power and network.")) : el("p", { class: "ok" }, ...bilingual("Tous les capteurs répondent.", "All sensors report."));
    out.replaceChildren(warn, tableCard("Capteurs / Sensors", healthTable(body), `/api/shops/${encodeURIComponent(s)}/sensors?format=csv`, `wifivip-sensors-${s}.csv`));
  };
  root.append(form(load, field("health-shop", bilingual("Boutique", "Shop"), shopSelect(me, "health-shop", params.get("shop") || me.shops[0].shop_id))), out);
  await load();
}

// Admin: the whole centre -----------------------------------------------------------------------
function plan(shops) {
  const NS = "http://www.w3.org/2000/svg";
  const streets = [...new Set(shops.map((s) => s.street))].sort();
  const maxX = Math.max(100, ...shops.map((s) => s.x + 10));
  const width = 900; const band = 140; const scale = (width - 40) / maxX;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${band * streets.length + 10}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-labelledby", "plan-title");
  const title = document.createElementNS(NS, "title"); title.id = "plan-title";
  title.textContent = "Plan des boutiques et des capteurs / plan of shops and sensors"; svg.append(title);
  const mk = (tag, attrs, text) => { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) { n.setAttribute(k, v); } if (text) { n.textContent = text; } return n; };
  streets.forEach((street, i) => {
    const y0 = i * band + 10;
    svg.append(mk("rect", { x: 10, y: y0 + 80, width: width - 20, height: 26, fill: "#d7dce3" }));
    svg.append(mk("text", { x: 20, y: y0 + 98, "font-size": 14, fill: "#1b1f24" }, street));
    for (const s of shops.filter((x) => x.street === street)) {
      const x = 20 + (s.x - 5) * scale;
      svg.append(mk("rect", { x, y: y0 + 10, width: 10 * scale - 4, height: 66, fill: "#ffffff", stroke: "#0b5cad", "stroke-width": 2 }));
      svg.append(mk("text", { x: x + 4, y: y0 + 28, "font-size": 12, fill: "#1b1f24" }, s.name.slice(0, 24)));
      s.sensors.forEach((sensor, k) => {
        const color = { ok: "#15803d", silent: "#b91c1c", never: "#b91c1c", revoked: "#475569" }[sensor.state] || "#475569";
        const dot = mk("circle", { cx: x + 14 + k * 18, cy: y0 + 55, r: 7, fill: color });
        dot.append(mk("title", {}, `${sensor.sensor_id} : ${sensor.state}`));
        svg.append(dot);
      });
    }
  });
  return el("figure", { class: "card plan" }, svg,
    el("figcaption", {}, ...bilingual("Capteurs : vert = en service, rouge = silencieux, gris = révoqué.", "Sensors: green ok, red silent, grey revoked.")));
}

async function centre(root, me, params) {
  root.append(heading("Tout le centre", "Whole centre"));
  const to = params.get("to") || localDay();
  const out = el("div");
  const load = async () => {
    const query = { from: document.getElementById("centre-from").value, to: document.getElementById("centre-to").value };
    const body = await api(`/api/admin/centre?${qs(query)}`);
    out.replaceChildren(tableCard("Par rue et par zone / By street and zone", body.table, `/api/admin/centre?${qs({ ...query, format: "csv" })}`, "wifivip-centre.csv"), plan(body.plan));
  };
  root.append(form(load, ...rangeFields("centre", params.get("from") || addDays(to, -13), to)), out);
  await load();
}

// Admin: adoption -------------------------------------------------------------------------------
async function adoption(root, me, params) {
  root.append(heading("Taux d'utilisation", "Adoption"));
  const out = el("div");
  const thisMonth = localDay().slice(0, 7);
  const load = async () => {
    const query = { from: document.getElementById("adoption-from").value, to: document.getElementById("adoption-to").value };
    const body = await api(`/api/admin/adoption?${qs(query)}`);
    const missing = Object.values(body.not_available);
    out.replaceChildren(tableCard("Par mois / Monthly", body.table, `/api/admin/adoption?${qs({ ...query, format: "csv" })}`, "wifivip-adoption.csv"),
      missing.length ? el("p", { class: "note" }, `n.d. : ${missing.join(" ; ")}`) : "");
  };
  root.append(form(load,
    field("adoption-from", bilingual("Du mois", "From month"), el("input", { id: "adoption-from", type: "month", value: params.get("from") || `${Number(thisMonth.slice(0, 4)) - 1}${thisMonth.slice(4)}` })),
    field("adoption-to", bilingual("Au mois", "To month"), el("input", { id: "adoption-to", type: "month", value: params.get("to") || thisMonth }))), out);
  await load();
}

// Admin: period report --------------------------------------------------------------------------
async function report(root) {
  root.append(heading("Bilan d'opération", "Period report"));
  const to = localDay();
  const run = async () => {
    const from = document.getElementById("report-from").value; const until = document.getElementById("report-to").value;
    setStatus("Préparation du bilan… / Preparing the report…");
    await download(`/api/admin/report?${qs({ from, to: until })}`, "application/pdf", `wifivip-bilan-${from}-${until}.pdf`);
    setStatus("Bilan téléchargé / report downloaded");
  };
  root.append(el("p", {}, ...bilingual("Le bilan PDF pour le comité de pilotage : fréquentation par rue et zone, adoption, qualité des données.", "PDF for the steering committee.")),
    el("form", { class: "filters card", onsubmit: (e) => { e.preventDefault(); run().catch((err) => setStatus(`Erreur : ${err.message}`)); } },
      ...rangeFields("report", addDays(to, -29), to),
      el("button", { type: "submit", id: "report-download" }, ...bilingual("Télécharger le PDF", "Download PDF"))));
}

// Admin: management -----------------------------------------------------------------------------
function input(id, label, attrs = {}) { return field(id, [label], el("input", { id, name: id, ...attrs })); }

function createForm(title, fields, submit) {
  const msg = el("p", { role: "status" });
  const f = el("form", { class: "card filters", onsubmit: async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target).entries());
    try { const result = await submit(data); msg.textContent = result; e.target.reset(); } catch (err) { msg.textContent = `Erreur : ${err.message}`; }
  } }, el("h2", { text: title }), ...fields, el("button", { type: "submit" }, ...bilingual("Ajouter", "Add")), msg);
  return f;
}

async function manage(root) {
  root.append(heading("Gestion", "Management"));
  const lists = el("div");
  const refresh = async () => {
    const [merchants, shops, sensors, users] = await Promise.all(["merchants", "shops", "sensors", "users"].map((n) => api(`/api/admin/${n}`)));
    const sensorCard = tableCard("Capteurs / Sensors", sensors.table, "/api/admin/sensors?format=csv", "wifivip-sensors.csv");
    const revokeRow = el("div", { class: "filters" }, sensors.sensors.filter((s) => s.status === "active").map((s) => el("button", {
      type: "button", class: "ghost danger", onclick: async () => {
        if (!window.confirm(`Révoquer ${s.sensor_id} ? / Revoke?`)) { return; }
        await api(`/api/admin/sensors/${encodeURIComponent(s.sensor_id)}/revoke`, { method: "POST", body: {} }); await refresh();
      },
    }, `Révoquer ${s.sensor_id} / revoke`)));
    lists.replaceChildren(
      tableCard("Commerçants / Merchants", merchants.table, "/api/admin/merchants?format=csv", "wifivip-merchants.csv"),
      tableCard("Boutiques / Shops", shops.table, "/api/admin/shops?format=csv", "wifivip-shops.csv"),
      sensorCard, revokeRow,
      tableCard("Utilisateurs / Users", users.table, "/api/admin/users?format=csv", "wifivip-users.csv"));
  };
  const post = (path, transform) => async (data) => { const r = await api(path, { method: "POST", body: transform(data) }); await refresh(); return r.temporary_password ? `Créé. Mot de passe provisoire : ${r.temporary_password}` : "Enregistré / saved"; };
  root.append(el("div", { class: "grid2" },
    createForm("Inscrire un commerçant / Enroll a merchant", [input("merchant_id", "Identifiant / Id", { required: true }), input("name", "Nom / Name", { required: true }), input("union_id", "Union (facultatif)")],
      post("/api/admin/merchants", (d) => ({ merchant_id: d.merchant_id, name: d.name, union_id: d.union_id || null }))),
    createForm("Inscrire une boutique / Enroll a shop", [input("shop_id", "Identifiant / Id", { required: true }), input("merchant_id", "Commerçant / Merchant", { required: true }), input("name", "Nom / Name", { required: true }), input("street", "Rue / Street", { required: true }), input("zone", "Zone", { required: true, value: "centre" })],
      post("/api/admin/shops", (d) => d)),
    createForm("Inscrire un capteur / Enroll a sensor", [input("sensor_id", "Capteur / Sensor", { required: true }), input("shop_id", "Boutique / Shop", { required: true })],
      post("/api/admin/sensors", (d) => d)),
    createForm("Inviter un utilisateur / Invite a user", [input("email", "E-mail", { type: "email", required: true }),
      field("role", ["Rôle / Role"], el("select", { id: "role", name: "role" }, ["merchant", "operator", "union", "admin"].map((r) => el("option", { value: r }, r)))),
      input("merchant_id", "Commerçant (rôle commerçant)"), input("union_id", "Union (rôle union)"),
      input("phone", "Portable pour les SMS de test (+33…, facultatif) / Mobile for test SMS", { type: "tel", pattern: "\\+[1-9][0-9]{7,14}" })],
      post("/api/admin/users", (d) => ({ email: d.email, role: d.role, merchant_id: d.merchant_id || null, union_id: d.union_id || null, phone: d.phone || null })))), lists);
  await refresh();
}

// Account ---------------------------------------------------------------------------------------
async function account(root, me) {
  root.append(heading("Mon compte", "My account"));
  root.append(el("p", { class: "card" }, `${me.email} — rôle / role : ${me.role}`));
  if (me.role === "merchant" && me.merchant) {
    const msg = el("p", { role: "status" });
    const box = (id, checked, fr, en) => el("div", { class: "check" }, el("input", { type: "checkbox", id, checked }), el("label", { for: id }, ...bilingual(fr, en)));
    root.append(el("form", { class: "card narrow", onsubmit: async (e) => {
      e.preventDefault();
      await api("/api/me/settings", { method: "PUT", body: { delegated_to_operator: document.getElementById("delegate").checked, shares_with_union: document.getElementById("share").checked } });
      msg.textContent = "Enregistré / saved";
    } },
    box("delegate", me.merchant.delegated_to_operator, "Je confie mes campagnes à l'opérateur (révocable à tout moment)", "Delegate my campaigns to the operator (revocable)"),
    box("share", me.merchant.shares_with_union, "Mon union commerciale peut voir les chiffres de ma boutique", "My union may see my shop's figures"),
    el("button", { type: "submit" }, ...bilingual("Enregistrer", "Save")), msg));
  }
}

export const PAGES = {
  today: { title: ["Aujourd'hui", "Today"], render: today },
  trends: { title: ["Tendances", "Trends"], render: trends },
  heatmap: { title: ["Créneaux", "Time slots"], render: heatmap },
  health: { title: ["Capteurs", "Sensors"], render: health },
  centre: { title: ["Centre", "Centre"], render: centre },
  adoption: { title: ["Utilisation", "Adoption"], render: adoption },
  report: { title: ["Bilan", "Report"], render: report },
  manage: { title: ["Gestion", "Management"], render: manage },
  account: { title: ["Compte", "Account"], render: account },
  ...CAMPAIGN_PAGES,
};
