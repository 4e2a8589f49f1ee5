// The sign-in page (/login): the form, the no-administrator-yet hint, and
// the one check of where to go afterwards (`next`).

import { api, start, state } from "./common.js";

// The one check of a return-to address: it is parsed with the browser's own
// URL parser (which drops tabs and newlines and reads "\\" as "/", exactly as
// navigation will) and kept only when its origin is this registry's; the
// result is the parsed absolute URL, so nothing is re-parsed differently.
function sameOriginUrl(raw, fallback) {
  const home = new URL(fallback, location.origin).href;
  if (typeof raw !== "string" || raw === "") return home;
  let url;
  try { url = new URL(raw, location.origin); } catch (_) { return home; }
  return url.origin === location.origin ? url.href : home;
}

function safeNext() {
  return sameOriginUrl(new URLSearchParams(location.search).get("next"), "/tokens");
}

// Reachable from the page for the browser test of the return-to check
// (tests/browser/web.test.mjs calls it on tricky `next` values).
window.safeNext = safeNext;

function login() {
  if (state.config && !state.config.has_admin) document.getElementById("no-admin").hidden = false;
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const login = form.login.value.trim();
    const password = form.password.value;
    if (!login || !password) { error.textContent = "Enter your login and password."; return; }
    try {
      state.session = await api("POST", "login", { login, password });
      location.href = safeNext();
    } catch (err) {
      error.textContent = err.status === 401 ? "Wrong login or password." : err.message;
      form.password.value = "";
      form.password.focus();
    }
  });
}

start(login);
