// wifivip portal: sign-in, then a page per area chosen in the navigation (hash routes: #/trends?...).
"use strict";

import { api, bilingual, el, session, setStatus } from "./core.js";
import { PAGES } from "./pages.js";

let me = null;
let pendingChallenge = null;

function show(id) {
  document.getElementById("signin-view").hidden = id !== "signin";
  document.getElementById("page").hidden = id !== "page";
  document.getElementById("nav").hidden = id !== "page";
  document.getElementById("who").hidden = id !== "page";
}

function route() {
  const [path, query] = (window.location.hash.replace(/^#\/?/, "") || "").split("?");
  return { name: path, params: new URLSearchParams(query || "") };
}

function buildNav() {
  const list = document.getElementById("nav-list");
  list.replaceChildren(...me.pages.filter((p) => PAGES[p]).map((p) => el("li", {},
    el("a", { href: `#/${p}`, "data-page": p }, ...bilingual(...PAGES[p].title)))));
  document.getElementById("who-name").textContent = `${me.email} (${me.role})`;
}

async function render() {
  if (!me) { return; }
  let { name, params } = route();
  if (!me.pages.includes(name)) { name = me.pages[0]; window.history.replaceState(null, "", `#/${name}`); }
  for (const a of document.querySelectorAll("#nav-list a")) {
    if (a.dataset.page === name) { a.setAttribute("aria-current", "page"); } else { a.removeAttribute("aria-current"); }
  }
  const root = document.getElementById("page");
  root.replaceChildren();
  delete root.dataset.ready;
  root.dataset.page = name;
  document.title = `${PAGES[name].title[0]} — wifivip`;
  setStatus("Chargement… / Loading…");
  try {
    await PAGES[name].render(root, me, params);
    setStatus("");
    root.dataset.ready = "1";
  } catch (err) {
    setStatus(`Erreur : ${err.message}`);
  }
  const h1 = root.querySelector("h1"); if (h1) { h1.focus(); }
}

async function start() {
  if (!session.token) { show("signin"); document.getElementById("signin-email").focus(); return; }
  try {
    me = await api("/api/me");
  } catch (err) {
    session.clear(); show("signin"); return;
  }
  buildNav(); show("page"); await render();
}

async function signIn(event) {
  event.preventDefault();
  const email = document.getElementById("signin-email").value;
  const password = document.getElementById("signin-password").value;
  const error = document.getElementById("signin-error");
  error.textContent = "";
  try {
    const reply = await api("/api/auth/signin", { method: "POST", body: { email, password } });
    if (reply.challenge === "NEW_PASSWORD_REQUIRED") {
      pendingChallenge = { email, session: reply.session };
      document.getElementById("signin-form").hidden = true; document.getElementById("newpw-form").hidden = false;
      document.getElementById("newpw-password").focus(); return;
    }
    session.save(reply); document.getElementById("signin-password").value = ""; await start();
  } catch (err) { error.textContent = err.message; }
}

async function newPassword(event) {
  event.preventDefault();
  try {
    const reply = await api("/api/auth/new-password", { method: "POST", body: { ...pendingChallenge, new_password: document.getElementById("newpw-password").value } });
    session.save(reply); document.getElementById("newpw-form").hidden = true; document.getElementById("signin-form").hidden = false; await start();
  } catch (err) { document.getElementById("newpw-error").textContent = err.message; }
}

function toggleForgot(on) {
  document.getElementById("signin-form").hidden = on; document.getElementById("forgot-form").hidden = !on;
  document.getElementById(on ? "forgot-email" : "signin-email").focus();
}

async function signOut() {
  try { await api("/api/auth/signout", { method: "POST", body: {} }); } catch (err) { /* signed out locally anyway */ }
  session.clear(); me = null; window.location.hash = ""; show("signin");
  setStatus("Vous êtes déconnecté / signed out");
}

document.getElementById("signin-form").addEventListener("submit", signIn);
document.getElementById("newpw-form").addEventListener("submit", newPassword);
document.getElementById("forgot-link").addEventListener("click", () => toggleForgot(true));
document.getElementById("back-signin").addEventListener("click", () => toggleForgot(false));
document.getElementById("forgot-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const msg = document.getElementById("forgot-msg");
  try { await api("/api/auth/forgot", { method: "POST", body: { email: document.getElementById("forgot-email").value } }); msg.textContent = "Si ce compte existe, un code a été envoyé. / If the account exists, a code was sent."; } catch (err) { msg.textContent = err.message; }
});
document.getElementById("reset-submit").addEventListener("click", async () => {
  const msg = document.getElementById("forgot-msg");
  try {
    await api("/api/auth/reset", { method: "POST", body: { email: document.getElementById("forgot-email").value, code: document.getElementById("reset-code").value, new_password: document.getElementById("reset-password").value } });
    msg.textContent = "Mot de passe changé, connectez-vous. / Password changed, sign in."; toggleForgot(false);
  } catch (err) { msg.textContent = err.message; }
});
document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", render);
window.addEventListener("wv:signedout", () => { me = null; show("signin"); setStatus("Session expirée, reconnectez-vous / session expired"); });
start();
