// The sign-in page (/login): single sign-on as the primary action when the
// registry has it (and why a sign-in there was refused), the password form
// unless passwords are off, the no-administrator-yet hint, and the one
// check of where to go afterwards (`next`).

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

// What `/login?sso_error=<code>` means to the person signing in.
const SSO_ERRORS = {
  attempt: "That sign-in is unknown, already used or expired. Start again.",
  token: "The identity provider's answer could not be verified. Start again, and tell an administrator if it keeps happening.",
  domain: "Your account at the identity provider has no verified email address in a domain allowed here. Ask an administrator.",
  group: "Your account at the identity provider is not in the group allowed to use this registry. Ask an administrator.",
  disabled: "Your account on this registry is disabled. Ask an administrator.",
  provider: "The sign-in was cancelled or refused at the identity provider.",
  access: "This request did not come through Cloudflare Access. Open the registry at its Access-protected address.",
};

function singleSignOn(config, form) {
  const box = document.getElementById("sso");
  if (!config || !config.sso) return;
  box.hidden = false;
  const link = document.getElementById("sso-start");
  link.textContent = "Sign in with " + config.sso.name;
  // Only a path on this registry goes to the server as `next`.
  const next = new URL(safeNext());
  link.href = config.sso.start + "?next=" + encodeURIComponent(next.pathname + next.search);
  const params = new URLSearchParams(location.search);
  const code = params.get("sso_error");
  if (code) document.getElementById("sso-error").textContent = SSO_ERRORS[code] || SSO_ERRORS.attempt;
  // Someone Cloudflare Access let through needs no second sign-in: go on
  // at once, unless they just signed out or it was refused.
  if (config.sso.kind === "access" && !code && !params.get("signed_out")) location.replace(link.href);
  // Passwords become the secondary way in, or none.
  const submit = form.querySelector("button[type=submit]");
  submit.classList.remove("primary");
  submit.textContent = "Sign in with a password";
}

// After signing out (`?signed_out=1`, or `=sso` when the identity
// provider has a sign-out page of its own to offer).
function signedOut(config) {
  const how = new URLSearchParams(location.search).get("signed_out");
  if (!how) return;
  document.getElementById("signed-out").hidden = false;
  if (how === "sso" && config && config.sso) {
    const link = document.getElementById("provider-sign-out");
    link.hidden = false;
    link.href = config.sso.sign_out;
    link.textContent = "Also sign out of " + config.sso.name;
  }
}

function login() {
  signedOut(state.config);
  if (state.config && !state.config.has_admin) document.getElementById("no-admin").hidden = false;
  const form = document.getElementById("login-form");
  singleSignOn(state.config, form);
  if (state.config && state.config.sso) {
    document.getElementById("no-account").textContent =
      "No account yet? Signing in with " + state.config.sso.name + " makes one, if your organisation allows it.";
  }
  if (state.config && state.config.passwords === false) {
    form.hidden = true;
    document.getElementById("no-admin").textContent =
      "This registry has no administrator yet. Whoever runs it names the first one from the command line: " +
      "scripts/admin user add <login> --admin --oidc <subject at the identity provider>" +
      (state.config.sso && state.config.sso.admin_group
        ? ", or a member of the identity provider's administrators group signs in." : ".");
    return;
  }
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
