// wifivip portal: hourly figures of one sensor for one day, as a chart and a table.
"use strict";

const TZ = "Europe/Paris";
const fmtInt = new Intl.NumberFormat("fr-FR");
const fmtHour = new Intl.DateTimeFormat("fr-FR", { timeZone: TZ, hour: "2-digit", minute: "2-digit" });
let chart = null;

function setStatus(text) { document.getElementById("status").textContent = text; }

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { throw new Error(body.Message || `HTTP ${response.status}`); }
  return body;
}

// A local (Paris) day spans 24 UTC hours that may start the evening before: ask for the UTC range.
function utcRangeOfLocalDay(day) {
  const start = new Date(`${day}T00:00:00Z`);
  const offsetH = (d) => {
    const parts = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", hourCycle: "h23" }).formatToParts(d);
    const localHour = Number(parts.find((p) => p.type === "hour").value);
    return (localHour - d.getUTCHours() + 24) % 24;
  };
  const from = new Date(start.getTime() - offsetH(start) * 3600e3);
  const to = new Date(from.getTime() + 23 * 3600e3);
  const key = (d) => d.toISOString().slice(0, 13);
  return { from: key(from), to: key(to) };
}

function render(hours) {
  const labels = hours.map((h) => fmtHour.format(new Date(`${h.hour}:00:00Z`)));
  const people = hours.map((h) => h.people);
  const requests = hours.map((h) => h.probe_requests);
  const tbody = document.querySelector("#hourly-table tbody");
  tbody.replaceChildren(...hours.map((h, i) => {
    const tr = document.createElement("tr");
    for (const text of [labels[i], fmtInt.format(h.people), fmtInt.format(h.probe_requests)]) {
      const td = document.createElement("td"); td.textContent = text; tr.appendChild(td);
    }
    return tr;
  }));
  const data = {
    labels,
    datasets: [
      { type: "bar", label: "Passants et visiteurs / passers-by and visitors", data: people, backgroundColor: "#0b5cad", yAxisID: "y" },
      { type: "line", label: "Requêtes / probe requests", data: requests, borderColor: "#d9480f", yAxisID: "y1" },
    ],
  };
  if (chart) { chart.data = data; chart.update(); return; }
  chart = new Chart(document.getElementById("hourly"), {
    data,
    options: {
      maintainAspectRatio: false,
      locale: "fr-FR",
      scales: { y: { beginAtZero: true, position: "left" }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } },
    },
  });
}

async function load(event) {
  if (event) { event.preventDefault(); }
  const sensor = document.getElementById("sensor").value;
  const day = document.getElementById("day").value;
  if (!sensor || !day) { return; }
  const { from, to } = utcRangeOfLocalDay(day);
  setStatus("Chargement… / Loading…");
  try {
    const body = await getJson(`/api/sensors/${encodeURIComponent(sensor)}/kpis?from=${from}&to=${to}`);
    render(body.hours);
    const total = body.hours.reduce((n, h) => n + h.probe_requests, 0);
    setStatus(body.hours.length ? `${fmtInt.format(total)} requêtes sur la journée` : "Aucune donnée pour ce jour / no data for this day");
  } catch (err) {
    setStatus(`Erreur : ${err.message}`);
  }
}

// The local day of the sensor's latest figures in the past week, or today when it has none.
async function latestDay(sensor) {
  const localDay = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(d);
  if (!sensor) { return localDay(new Date()); }
  try {
    const body = await getJson(`/api/sensors/${encodeURIComponent(sensor)}/kpis`);
    const last = body.hours[body.hours.length - 1];
    return localDay(last ? new Date(`${last.hour}:00:00Z`) : new Date());
  } catch (err) { return localDay(new Date()); }
}

async function init() {
  const params = new URLSearchParams(window.location.search);
  const select = document.getElementById("sensor");
  try {
    const { sensors } = await getJson("/api/sensors");
    for (const s of sensors) {
      const option = document.createElement("option");
      option.value = s.sensor_id; option.textContent = `${s.shop_name} (${s.sensor_id})`;
      select.appendChild(option);
    }
    if (params.get("sensor")) { select.value = params.get("sensor"); }
  } catch (err) { setStatus(`Erreur : ${err.message}`); }
  document.getElementById("day").value = params.get("day") || (await latestDay(select.value));
  document.getElementById("filters").addEventListener("submit", load);
  await load();
}

init();
