// wifivip portal: campaigns (create, edit, schedule, pause, end, preview, test send, results) and
// coupon validation at the till. The server decides who may see and do what; this page only shows it.
"use strict";

import { api, bilingual, chart, chartBox, el, kpiTile, setStatus, tableCard } from "./core.js";

const STATUS = {
  draft: ["Brouillon", "Draft"], scheduled: ["Programmée", "Scheduled"], active: ["Active", "Active"],
  paused: ["En pause", "Paused"], ended: ["Terminée", "Ended"],
};
const WEEKDAYS = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];
const fmtEur = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR", maximumFractionDigits: 4 });
const fmtPct = new Intl.NumberFormat("fr-FR", { style: "percent", maximumFractionDigits: 1 });
const fmtPts = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1, signDisplay: "always" });

function heading(fr, en) { return el("h1", { tabindex: "-1" }, ...bilingual(fr, en)); }
function field(id, label, input, help) {
  return el("div", { class: "field" }, el("label", { for: id }, ...bilingual(...label)), input, help ? el("small", { class: "note", id: `${id}-help` }, help) : null);
}
function text(id, label, value, attrs = {}) { return field(id, label, el("input", { id, name: id, value: value ?? "", ...attrs })); }
function area(id, label, value, help) { return field(id, label, el("textarea", { id, name: id, rows: 3, cols: 50, "aria-describedby": help ? `${id}-help` : null }, value ?? ""), help); }
function select(id, label, options, value) {
  return field(id, label, el("select", { id, name: id }, options.map(([v, t]) => el("option", { value: v, selected: v === value }, t))));
}
function statusBadge(status) { const [fr, en] = STATUS[status] || [status, status]; return el("span", { class: `badge status-${status}`, "data-status": status }, `${fr} / ${en}`); }
function go(hash) { window.location.hash = hash; }
const value = (id) => document.getElementById(id).value;
const checked = (id) => document.getElementById(id).checked;
const localInput = (iso) => (iso ? iso.slice(0, 16) : "");

// List -------------------------------------------------------------------------------------------

async function campaignsPage(root, me, params) {
  if (params.get("new") || params.get("edit")) { return campaignForm(root, params.get("edit")); }
  if (params.get("id")) { return campaignDetail(root, params.get("id")); }
  root.append(heading("Campagnes", "Campaigns"));
  const body = await api("/api/campaigns");
  if (!body.owners.length) {
    root.append(el("p", { class: "card" }, ...bilingual("Aucune campagne à gérer pour ce compte (un commerçant peut confier les siennes à l'opérateur).", "No campaign to manage for this account.")));
    return;
  }
  root.append(el("p", {}, el("button", { type: "button", id: "new-campaign", onclick: () => go("#/campaigns?new=1") }, ...bilingual("Nouvelle campagne", "New campaign"))));
  const list = el("ul", { class: "card campaign-list", "aria-label": "Campagnes / Campaigns" },
    body.campaigns.length ? body.campaigns.map((c) => el("li", {},
      el("a", { href: `#/campaigns?id=${encodeURIComponent(c.campaign_id)}`, "data-campaign": c.campaign_id }, c.spec.name), " ", statusBadge(c.status),
      el("span", { class: "note" }, ` — ${c.spec.targeting.trigger === "near_shop" ? "à proximité / near the shop" : "envoi programmé / scheduled send"}, ${c.spec.targeting.channels.join(" + ")}`)))
      : [el("li", {}, ...bilingual("Pas encore de campagne.", "No campaign yet."))]);
  root.append(list, tableCard("Campagnes / Campaigns", body.table, "/api/campaigns?format=csv", "wifivip-campaigns.csv"));
}

// Create / edit ----------------------------------------------------------------------------------

function ownerShops(owners, ownerKey, selected) {
  const owner = owners.find((o) => `${o.kind}:${o.id}` === ownerKey) || owners[0];
  return el("fieldset", { id: "shops" }, el("legend", {}, ...bilingual("Boutiques", "Shops")),
    owner.shops.map((s) => el("div", { class: "check" },
      el("input", { type: "checkbox", id: `shop-${s.shop_id}`, name: "shop", value: s.shop_id, checked: !selected || selected.includes(s.shop_id) || owner.kind === "union", disabled: owner.kind === "union" }),
      el("label", { for: `shop-${s.shop_id}` }, s.name))));
}

// The platform's rules (caps, quiet hours), as the server applies them.
function quietText(q, lang) {
  if (!q) { return ""; }
  const parts = [];
  if (q.start !== q.end) { parts.push(lang === "fr" ? `de ${q.start} à ${q.end}` : `${q.start}-${q.end}`); }
  if (q.sundays) { parts.push(lang === "fr" ? "le dimanche" : "Sundays"); }
  if (q.public_holidays) { parts.push(lang === "fr" ? "les jours fériés" : "public holidays"); }
  return parts.join(lang === "fr" ? ", " : ", ");
}
function policyNote(p) {
  const c = p.caps;
  const fr = [`Au plus ${c.per_consumer_day} offres par jour et ${c.per_consumer_week} par semaine et par personne, tous commerçants confondus, dont ${c.per_sender_day} par jour et ${c.per_sender_week} par semaine d'un même commerçant ; jamais deux fois la même offre.`];
  const en = [`At most ${c.per_consumer_day} offers a day and ${c.per_consumer_week} a week per person across all merchants, ${c.per_sender_day} a day and ${c.per_sender_week} a week from one merchant; never the same offer twice.`];
  for (const [ch, name] of [["sms", "SMS"], ["email", "e-mail"]]) {
    const fq = quietText(p.quiet[ch], "fr");
    if (fq) { fr.push(`Pas de ${name} ${fq}.`); en.push(`No ${name}: ${quietText(p.quiet[ch], "en")}.`); }
  }
  fr.push(`Coût : ${fmtEur.format(p.prices_eur.email)} par e-mail, ${fmtEur.format(p.prices_eur.sms_segment)} par segment SMS.`);
  en.push(`Cost: ${fmtEur.format(p.prices_eur.email)} per e-mail, ${fmtEur.format(p.prices_eur.sms_segment)} per SMS segment.`);
  return bilingual(fr.join(" "), en.join(" "));
}

// A campaign's own rules: caps and quiet hours stricter than the platform's (the server refuses looser ones).
const CAPS = [["per_consumer_day", "Offres par personne et par jour (tous commerçants)", "per person a day, all merchants"],
  ["per_consumer_week", "par semaine (tous commerçants)", "a week, all merchants"],
  ["per_sender_day", "par jour de ma part", "a day from me"], ["per_sender_week", "par semaine de ma part", "a week from me"]];
function rulesFieldset(policy, rules) {
  const caps = (rules && rules.caps) || {};
  const quiet = (rules && rules.quiet) || {};
  const q = (ch, k) => (quiet[ch] ? quiet[ch][k] : null);
  const box = (id, label, on) => el("div", { class: "check" }, el("input", { type: "checkbox", id, checked: Boolean(on) }), el("label", { for: id }, label));
  return el("fieldset", { id: "campaign-rules" }, el("legend", {}, ...bilingual("Règles de cette campagne (plus strictes que la plateforme, facultatif)", "This campaign's rules (stricter than the platform's, optional)")),
    el("div", { class: "filters" }, CAPS.map(([key, fr, en]) => text(`cap-${key}`, [`${fr} ≤ ${policy.caps[key]}`, `${en} ≤ ${policy.caps[key]}`], caps[key], { type: "number", min: 1, max: policy.caps[key], placeholder: String(policy.caps[key]) }))),
    el("div", { class: "filters" },
      text("quiet-email-start", ["Pas d'e-mail de", "No e-mail from"], q("email", "start"), { type: "time" }),
      text("quiet-email-end", ["à", "to"], q("email", "end"), { type: "time" }),
      box("quiet-email-sundays", "ni le dimanche / nor on Sundays", q("email", "sundays")),
      box("quiet-email-holidays", "ni les jours fériés / nor on public holidays", q("email", "public_holidays")),
      text("quiet-sms-start", ["Pas de SMS non plus de", "No SMS either from"], q("sms", "start"), { type: "time" }),
      text("quiet-sms-end", ["à", "to"], q("sms", "end"), { type: "time" })));
}
function rulesFromForm() {
  const caps = {};
  for (const [key] of CAPS) { if (value(`cap-${key}`)) { caps[key] = Number(value(`cap-${key}`)); } }
  const quiet = {};
  const span = (ch) => (value(`quiet-${ch}-start`) && value(`quiet-${ch}-end`) ? { start: value(`quiet-${ch}-start`), end: value(`quiet-${ch}-end`) } : { start: "00:00", end: "00:00" });
  const email = { ...span("email"), sundays: checked("quiet-email-sundays"), public_holidays: checked("quiet-email-holidays") };
  if (email.start !== email.end || email.sundays || email.public_holidays) { quiet.email = email; }
  const sms = { ...span("sms"), sundays: true, public_holidays: true };  // the platform's SMS rules stay
  if (sms.start !== sms.end) { quiet.sms = sms; }
  return { caps, quiet };
}
function rulesText(rules) {
  const caps = Object.entries((rules && rules.caps) || {}).filter(([, v]) => v);
  const quiet = Object.entries((rules && rules.quiet) || {});
  if (!caps.length && !quiet.length) { return null; }
  const fr = caps.map(([k, v]) => `${CAPS.find((c) => c[0] === k)[1].toLowerCase()} : ${v}`)
    .concat(quiet.map(([ch, r]) => `pas de ${ch === "sms" ? "SMS" : "e-mail"} ${quietText(r, "fr")}`));
  return el("p", { class: "note", id: "campaign-rules-note" }, `Règles propres à cette campagne / this campaign's own rules — ${fr.join(" ; ")}.`);
}

async function campaignForm(root, editId) {
  const [list, current] = await Promise.all([api("/api/campaigns"), editId ? api(`/api/campaigns/${encodeURIComponent(editId)}`) : null]);
  const owners = list.owners;
  const s = current ? current.spec : null;
  const c = s ? s.content : {};
  const t = s ? s.targeting : { trigger: "near_shop", near: "shop", audience: "all", lapsed_days: 60, weekdays: [0, 1, 2, 3, 4, 5, 6], windows: [], channels: ["email"] };
  const today = new Date().toISOString().slice(0, 10);
  const inMonth = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
  root.append(heading(current ? "Modifier la campagne" : "Nouvelle campagne", current ? "Edit campaign" : "New campaign"));
  const ownerKey = current ? `${current.owner.kind}:${current.owner.id}` : `${owners[0].kind}:${owners[0].id}`;
  const shopsBox = el("div", {}, ownerShops(owners, ownerKey, s ? s.shop_ids : null));
  const ownerSelect = select("owner", ["Pour", "For"], owners.map((o) => [`${o.kind}:${o.id}`, `${o.name} (${o.kind === "union" ? "union" : "commerçant"})`]), ownerKey);
  ownerSelect.querySelector("select").disabled = Boolean(current);
  ownerSelect.querySelector("select").addEventListener("change", (e) => shopsBox.replaceChildren(ownerShops(owners, e.target.value, null)));
  const msg = el("p", { class: "error", role: "alert", id: "campaign-error" });
  const placeholders = "Champs : {{prenom}}, {{commerce}}, {{expiration}}, {{code}}, {{lien}} ; repli : {{prenom|cher client}}. Le lien de désabonnement et STOP sont ajoutés d'office. / Fields as listed; unsubscribe link and STOP are always added.";
  const form = el("form", { class: "card campaign-form", id: "campaign-form", onsubmit: async (e) => {
    e.preventDefault();
    msg.textContent = "";
    const [kind, id] = value("owner").split(":");
    const shops = [...document.querySelectorAll("input[name=shop]:checked")].map((i) => i.value);
    const window1 = value("window-start") && value("window-end") ? [{ start: value("window-start"), end: value("window-end") }] : [];
    const spec = {
      name: value("name"), shop_ids: shops.length ? shops : ["union-members"], control_percent: Number(value("control") || 0),
      visit_window_days: Number(value("visit-window") || 7),
      content: {
        title: value("title"), subject: value("subject"), body: value("body"), sms: value("sms"),
        coupon: value("coupon"), shared_code: value("coupon") === "shared" ? value("shared-code") : null,
        valid_from: value("valid-from"), valid_until: value("valid-until"), landing_url: value("landing") || null,
      },
      targeting: {
        trigger: value("trigger"), near: value("near"), audience: value("audience"), lapsed_days: Number(value("lapsed") || 60),
        new_days: Number(value("new-days") || 30), lookback_days: Number(value("lookback") || 90),
        weekdays: [...document.querySelectorAll("input[name=weekday]:checked")].map((i) => Number(i.value)),
        windows: window1, channels: ["email", "sms"].filter((ch) => checked(`channel-${ch}`)),
      },
      budget: { max_sends: value("max-sends") ? Number(value("max-sends")) : null, max_cost_eur: value("max-cost") ? Number(value("max-cost")) : null },
      rules: rulesFromForm(),
      start_at: value("start-at") || null, end_at: value("end-at") || null,
      send_at: value("trigger") === "scheduled" ? value("send-at") || null : null,
    };
    const payload = { spec, ...(kind === "union" ? { union_id: id } : { merchant_id: id }), ...(current ? { version: current.version } : {}) };
    try {
      const saved = current
        ? await api(`/api/campaigns/${encodeURIComponent(current.campaign_id)}`, { method: "PUT", body: payload })
        : await api("/api/campaigns", { method: "POST", body: payload });
      go(`#/campaigns?id=${encodeURIComponent(saved.campaign_id)}`);
    } catch (err) { msg.textContent = err.message; }
  } },
  el("div", { class: "grid2" },
    el("div", {}, ownerSelect, shopsBox, text("name", ["Nom de la campagne", "Campaign name"], s && s.name, { required: true, maxlength: 100 })),
    el("div", {},
      select("trigger", ["Déclencheur", "Trigger"], [["near_shop", "À proximité de ma boutique / Near my shop"], ["scheduled", "Envoi programmé à mes visiteurs / Scheduled send to my visitors"]], t.trigger),
      select("near", ["Proximité", "Near"], [["shop", "Capteurs de mes boutiques / My shops' sensors"], ["street", "Capteurs de ma rue / My street's sensors"]], t.near),
      text("send-at", ["Date d'envoi (programmé)", "Send time (scheduled)"], localInput(s && s.send_at), { type: "datetime-local" }),
      select("audience", ["Public", "Audience"], [["all", "Tous / All"], ["new", "Nouveaux / New"], ["returning", "Fidèles / Returning"], ["lapsed", "Perdus de vue / Lapsed"]], t.audience),
      text("lapsed", ["Perdu de vue après (jours)", "Lapsed after (days)"], t.lapsed_days, { type: "number", min: 1, max: 730 }),
      text("new-days", ["Nouveau : première visite il y a moins de (jours)", "New: first visit less than (days) ago"], t.new_days ?? 30, { type: "number", min: 1, max: 365 }),
      text("lookback", ["Envoi programmé : visiteurs des derniers (jours)", "Scheduled send: visitors of the last (days)"], t.lookback_days ?? 90, { type: "number", min: 1, max: 730 }))),
  el("fieldset", {}, el("legend", {}, ...bilingual("Contenu de l'offre", "Offer content")),
    text("title", ["Titre", "Title"], c.title, { required: true, maxlength: 80 }),
    text("subject", ["Objet de l'e-mail", "E-mail subject"], c.subject, { required: true, maxlength: 120 }),
    area("body", ["Texte de l'e-mail", "E-mail text"], c.body, placeholders),
    area("sms", ["Texte du SMS", "SMS text"], c.sms, null),
    el("div", { class: "filters" },
      select("coupon", ["Code promo", "Coupon"], [["unique", "Unique par client / Unique per recipient"], ["shared", "Code partagé / Shared code"], ["none", "Aucun / None"]], c.coupon || "unique"),
      text("shared-code", ["Code partagé", "Shared code"], c.shared_code, { maxlength: 20 }),
      text("valid-from", ["Valable du", "Valid from"], c.valid_from || today, { type: "date", required: true }),
      text("valid-until", ["au", "until"], c.valid_until || inMonth, { type: "date", required: true }),
      text("landing", ["Page du commerçant (https, facultatif)", "Merchant page (optional)"], c.landing_url, { type: "url" }))),
  el("fieldset", {}, el("legend", {}, ...bilingual("Quand et comment", "When and how")),
    el("div", { class: "filters" },
      ["email", "sms"].map((ch) => el("div", { class: "check" }, el("input", { type: "checkbox", id: `channel-${ch}`, checked: t.channels.includes(ch) }), el("label", { for: `channel-${ch}` }, ch === "email" ? "E-mail" : "SMS"))),
      WEEKDAYS.map((d, i) => el("div", { class: "check" }, el("input", { type: "checkbox", id: `weekday-${i}`, name: "weekday", value: i, checked: t.weekdays.includes(i) }), el("label", { for: `weekday-${i}` }, d)))),
    el("div", { class: "filters" },
      text("window-start", ["Plage horaire de", "Time window from"], t.windows[0] && t.windows[0].start, { type: "time" }),
      text("window-end", ["à", "to"], t.windows[0] && t.windows[0].end, { type: "time" }),
      text("start-at", ["Début de campagne", "Campaign start"], localInput(s && s.start_at), { type: "datetime-local" }),
      text("end-at", ["Fin de campagne", "Campaign end"], localInput(s && s.end_at), { type: "datetime-local" })),
    el("p", { class: "note", id: "policy-note" }, ...policyNote(list.policy))),
  rulesFieldset(list.policy, s ? s.rules : null),
  el("fieldset", {}, el("legend", {}, ...bilingual("Budget et mesure", "Budget and measurement")),
    el("div", { class: "filters" },
      text("max-sends", ["Envois au plus", "Max sends"], s && s.budget.max_sends, { type: "number", min: 1 }),
      text("max-cost", ["Coût au plus (€)", "Max cost (EUR)"], s && s.budget.max_cost_eur, { type: "number", min: 0.01, step: 0.01 }),
      text("control", ["Groupe témoin (%)", "Control group (%)"], s ? s.control_percent : 10, { type: "number", min: 0, max: 50, step: 1 }),
      text("visit-window", ["Visites mesurées sur (jours)", "Visits measured over (days)"], s ? s.visit_window_days : 7, { type: "number", min: 1, max: 90 }))),
  el("button", { type: "submit", id: "save-campaign" }, ...bilingual("Enregistrer", "Save")), msg);
  root.append(form);
}

// Detail, actions, preview, results ---------------------------------------------------------------

async function campaignDetail(root, id) {
  const c = await api(`/api/campaigns/${encodeURIComponent(id)}`);
  root.append(heading(c.spec.name, "Campaign"), el("p", {}, statusBadge(c.status), " ",
    el("a", { href: "#/campaigns" }, ...bilingual("← Toutes les campagnes", "All campaigns"))));
  const msg = el("p", { role: "status", id: "campaign-msg" });
  const act = (action, fr, en, cls = "") => el("button", { type: "button", class: cls, id: `action-${action}`, onclick: async () => {
    if (action === "end" && !window.confirm("Terminer la campagne ? / End the campaign?")) { return; }
    try { await api(`/api/campaigns/${encodeURIComponent(id)}/status`, { method: "POST", body: { action } }); go(`#/campaigns?id=${encodeURIComponent(id)}&t=${Date.now()}`); } catch (err) { msg.textContent = err.message; }
  } }, ...bilingual(fr, en));
  const buttons = [];
  if (["draft", "paused", "scheduled"].includes(c.status)) { buttons.push(el("button", { type: "button", class: "ghost", id: "action-edit", onclick: () => go(`#/campaigns?edit=${encodeURIComponent(id)}`) }, ...bilingual("Modifier", "Edit"))); }
  if (c.status === "draft") { buttons.push(act("schedule", "Lancer", "Launch")); }
  if (c.status === "paused") { buttons.push(act("resume", "Reprendre", "Resume")); }
  if (["scheduled", "active"].includes(c.status)) { buttons.push(act("pause", "Mettre en pause", "Pause", "ghost")); }
  if (c.status !== "ended") { buttons.push(act("end", "Terminer", "End", "ghost danger")); }
  const preview = el("div", { class: "card", id: "preview" });
  const showPreview = async (channel) => {
    const p = await api(`/api/campaigns/${encodeURIComponent(id)}/preview?channel=${channel}`);
    preview.replaceChildren(...[el("h2", {}, ...bilingual(`Aperçu ${channel === "sms" ? "SMS" : "e-mail"}`, channel === "sms" ? "SMS preview" : "E-mail preview")),
      p.subject ? el("p", {}, el("strong", {}, "Objet / Subject : "), p.subject) : null,
      el("pre", { class: "message", id: "preview-text" }, p.text),
      el("p", { class: "note" }, `${p.segments} segment(s) — ${fmtEur.format(p.cost_eur)}`)].filter(Boolean));
  };
  buttons.push(el("button", { type: "button", class: "ghost", id: "preview-email", onclick: () => showPreview("email") }, ...bilingual("Aperçu e-mail", "E-mail preview")));
  buttons.push(el("button", { type: "button", class: "ghost", id: "preview-sms", onclick: () => showPreview("sms") }, ...bilingual("Aperçu SMS", "SMS preview")));
  const testSend = (channel, buttonId, fr, en) => el("button", { type: "button", class: "ghost", id: buttonId, onclick: async () => {
    try { const r = await api(`/api/campaigns/${encodeURIComponent(id)}/test-send`, { method: "POST", body: { channel } }); msg.textContent = `Test envoyé à ${r.sent_to} / test sent`; } catch (err) { msg.textContent = err.message; }
  } }, ...bilingual(fr, en));
  buttons.push(testSend("email", "test-send", "M'envoyer un test par e-mail", "Send me a test e-mail"));
  if (c.spec.targeting.channels.includes("sms")) { buttons.push(testSend("sms", "test-send-sms", "M'envoyer un test par SMS", "Send me a test SMS")); }
  root.append(...[el("div", { class: "filters card" }, buttons), msg, rulesText(c.spec.rules), preview].filter(Boolean));
  await showPreview(c.spec.targeting.channels[0]);
  await results(root, id);
}

function upliftSentence(r) {
  const u = r.uplift;
  if (!u) { return bilingual("Pas encore de mesure : il faut des consommateurs dans les deux groupes.", "No measurement yet: both groups need consumers."); }
  const pts = (x) => `${fmtPts.format(100 * x)} pt`;
  const verdict = u.ci_low > 0 ? ["effet positif mesuré", "measured positive effect"] : u.ci_high < 0 ? ["effet négatif mesuré", "measured negative effect"] : ["effet non démontré à ce stade", "no effect shown yet"];
  return [
    `Visites dans les ${r.visit_window_days} jours : ${fmtPct.format(u.rate_treatment)} des destinataires (${r.visits_treatment}/${r.treatment}) contre ${fmtPct.format(u.rate_control)} du groupe témoin (${r.visits_control}/${r.control}). `,
    el("strong", { id: "uplift-value" }, `Effet : ${pts(u.difference)}`),
    ` (IC 95 % : ${pts(u.ci_low)} à ${pts(u.ci_high)}) — ${verdict[0]}. `,
    el("span", { lang: "en", class: "en" }, `Uplift ${pts(u.difference)} (95% CI ${pts(u.ci_low)} to ${pts(u.ci_high)}): ${verdict[1]}.`),
  ];
}

async function results(root, id) {
  const r = await api(`/api/campaigns/${encodeURIComponent(id)}/results`);
  root.append(el("h2", { class: "section" }, ...bilingual("Résultats", "Results")));
  root.append(el("div", { class: "tiles", id: "campaign-results" },
    kpiTile(bilingual("Ciblés", "Targeted"), r.targeted, `${r.treatment} destinataires, ${r.control} témoins / control`, "targeted"),
    kpiTile(bilingual("Envoyés", "Sent"), r.sent, r.capped ? `${r.capped} retenus par les plafonds / held by caps` : null, "sent"),
    kpiTile(bilingual("Délivrés", "Delivered"), r.delivered, `${r.bounced} rejets, ${r.complained} plaintes, ${r.failed} échecs / bounced, complaints, failed`, "delivered"),
    kpiTile(bilingual("Cliqués", "Clicked"), r.clicked, `${r.clicks} clics / clicks`, "clicked"),
    kpiTile(bilingual("Utilisés", "Redeemed"), r.redeemed, null, "redeemed"),
    kpiTile(bilingual("Coût", "Cost"), null, r.cost_per_redemption_eur === null ? "—" : `${fmtEur.format(r.cost_per_redemption_eur)} par utilisation / per redemption`, "cost")));
  document.querySelector("#cost .tile-value").textContent = fmtEur.format(r.cost_eur);
  root.append(el("p", { class: "card", id: "uplift" }, ...upliftSentence(r)));
  root.append(el("div", { class: "grid2" }, chartBox("campaign-days", "Ciblés, envoyés, cliqués, utilisés par jour / per day"),
    chartBox("campaign-uplift", "Taux de visite : destinataires et témoins / Visit rate: treatment and control")));
  const days = r.by_day.map((d) => d.day);
  chart("campaign-days", "line", days, [
    { label: "Ciblés / Targeted", data: r.by_day.map((d) => d.targeted) },
    { label: "Envoyés / Sent", data: r.by_day.map((d) => d.sent) },
    { label: "Cliqués / Clicked", data: r.by_day.map((d) => d.clicked) },
    { label: "Utilisés / Redeemed", data: r.by_day.map((d) => d.redeemed) },
  ]);
  const rates = r.uplift ? [r.uplift.rate_treatment, r.uplift.rate_control] : [0, 0];
  chart("campaign-uplift", "bar", ["Destinataires / Treatment", "Témoins / Control"], [{ label: `Visites à ${r.visit_window_days} j (%) / Visits`, data: rates.map((x) => Math.round(1000 * x) / 10) }]);
  root.append(tableCard("Par jour / By day", r.table, `/api/campaigns/${encodeURIComponent(id)}/results?format=csv`, `wifivip-campaign-${id}.csv`));
}

// Coupons ----------------------------------------------------------------------------------------

const REDEEMED = {
  redeemed: ["Code valide : offre accordée.", "Valid code: offer granted."],
  already_redeemed: ["Ce code a déjà été utilisé.", "This code was already used."],
  shared: ["Code partagé valide : utilisation comptée.", "Valid shared code: counted."],
  expired: ["Offre expirée.", "Offer expired."],
  not_yet_valid: ["Offre pas encore valable.", "Offer not valid yet."],
};

async function couponsPage(root) {
  root.append(heading("Valider un code", "Validate a code"));
  const out = el("p", { role: "status", id: "coupon-result", class: "card" });
  root.append(el("form", { class: "card narrow", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const r = await api("/api/coupons/redeem", { method: "POST", body: { code: value("coupon-code") } });
      out.dataset.status = r.status;
      out.replaceChildren(...bilingual(...(REDEEMED[r.status] || [r.status, r.status])), " — ", r.title);
    } catch (err) { out.dataset.status = "unknown"; out.textContent = err.message; }
  } },
  el("label", { for: "coupon-code" }, ...bilingual("Code présenté par le client", "Code shown by the customer")),
  el("input", { id: "coupon-code", autocomplete: "off", required: true, maxlength: 40 }),
  el("button", { type: "submit", id: "coupon-submit" }, ...bilingual("Valider", "Validate"))), out);
  setStatus("");
}

export const CAMPAIGN_PAGES = {
  campaigns: { title: ["Campagnes", "Campaigns"], render: campaignsPage },
  coupons: { title: ["Codes", "Coupons"], render: couponsPage },
};
