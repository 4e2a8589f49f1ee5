// The Tokens page (/tokens): create (shown once), list and revoke API
// tokens; change the password; sign out everywhere.

import { afterSignOut, api, el, start, state, when } from "./common.js";

async function tokens() {
  const form = document.getElementById("token-form");
  const error = document.getElementById("token-error");
  const body = document.querySelector("#tokens-table tbody");
  const load = async () => {
    const { tokens } = await api("GET", "tokens");
    body.replaceChildren();
    document.getElementById("tokens-empty").hidden = tokens.length > 0;
    for (const t of tokens) {
      const revoke = t.status === "active"
        ? el("button", { type: "button", class: "danger", "aria-label": "Revoke token " + t.name, onclick: async () => {
            if (!confirm(`Revoke the token "${t.name}"? Anything using it stops working.`)) return;
            try { await api("DELETE", "tokens/" + t.id); await load(); } catch (err) { error.textContent = err.message; }
          } }, "Revoke")
        : null;
      const scopes = t.scopes.join(", ") + (t.crates ? ` (crates: ${t.crates})` : "");
      body.append(el("tr", { "data-token": t.name },
        el("td", { "data-label": "Name" }, el("span", {}, t.name, el("br"), el("code", {}, t.hint))),
        el("td", { "data-label": "Scopes" }, scopes),
        el("td", { "data-label": "Created" }, when(t.created_at)),
        el("td", { "data-label": "Last used" }, when(t.last_used_at)),
        el("td", { "data-label": "Expires" }, t.expires_at ? when(t.expires_at) : "never"),
        el("td", { "data-label": "Status" }, t.status),
        el("td", { class: "actions", "data-label": "" }, revoke)));
    }
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const name = document.getElementById("token-name").value.trim();
    const scopes = [...form.querySelectorAll("input[name=scope]:checked")].map((c) => c.value);
    const crates = document.getElementById("token-crates").value.trim();
    const days = document.getElementById("token-expiry").value;
    if (!name) { error.textContent = "Give the token a name."; document.getElementById("token-name").focus(); return; }
    if (scopes.length === 0) { error.textContent = "Choose at least one scope."; return; }
    try {
      const r = await api("POST", "tokens", { name, scopes, crates, expires_days: days ? Number(days) : null });
      document.getElementById("new-token-value").textContent = r.token;
      const box = document.getElementById("new-token");
      box.hidden = false;
      box.focus();
      form.reset();
      await load();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  const pw = document.getElementById("change-password-form");
  const result = document.getElementById("change-password-result");
  // No passwords on this registry: nothing to change.
  if (state.config && state.config.passwords === false) pw.hidden = true;
  pw.addEventListener("submit", async (e) => {
    e.preventDefault();
    result.textContent = "";
    try {
      state.session = await api("POST", "password", {
        current: document.getElementById("current-password").value,
        password: document.getElementById("changed-password").value,
      });
      pw.reset();
      result.textContent = "Password changed. Other sessions were signed out.";
    } catch (err) {
      result.textContent = err.message;
    }
  });
  document.getElementById("logout-all").addEventListener("click", async () => {
    if (!confirm("Sign out of every browser, including this one?")) return;
    afterSignOut(await api("POST", "logout-all"));
  });
  await load();
}

start(tokens);
