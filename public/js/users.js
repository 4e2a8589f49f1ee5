// The Users page (/users, administrators): invite users, disable or
// enable them, grant or remove admin, and make password links.

import { api, el, start, when } from "./common.js";

async function users() {
  const form = document.getElementById("invite-form");
  const error = document.getElementById("invite-error");
  const listError = document.getElementById("users-error");
  const body = document.querySelector("#users-table tbody");
  const load = async () => {
    const { users } = await api("GET", "users");
    body.replaceChildren();
    for (const u of users) {
      const act = (label, path, value, cls) => el("button", { type: "button", class: cls || "", "aria-label": `${label} ${u.login}`, onclick: async () => {
        listError.textContent = "";
        try {
          if (path === "reset-link") {
            const r = await api("POST", `users/${u.id}/reset-link`);
            showLink(u.login, r.link);
          } else {
            if (label === "Disable" && !confirm(`Disable ${u.login}? Their sessions end and their tokens stop working.`)) return;
            await api("POST", `users/${u.id}/${path}`, { value });
          }
          await load();
        } catch (err) { listError.textContent = err.message; }
      } }, label);
      body.append(el("tr", { "data-user": u.login },
        el("td", { "data-label": "Login" }, u.login),
        el("td", { "data-label": "Role" }, u.is_admin ? "administrator" : "user"),
        el("td", { "data-label": "Status" }, u.disabled ? "disabled" : "active"),
        el("td", { "data-label": "Created" }, when(u.created_at)),
        el("td", { class: "actions", "data-label": "" },
          u.disabled ? act("Enable", "disabled", false) : act("Disable", "disabled", true, "danger"), " ",
          u.is_admin ? act("Remove admin", "admin", false) : act("Make admin", "admin", true), " ",
          act("Password link", "reset-link"))));
    }
  };
  const showLink = (who, link) => {
    document.getElementById("invite-who").textContent = who;
    document.getElementById("invite-link").textContent = link;
    const box = document.getElementById("invite-result");
    box.hidden = false;
    box.focus();
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const login = document.getElementById("invite-login").value.trim();
    if (!login) { error.textContent = "Enter a login."; return; }
    try {
      const r = await api("POST", "users", { login, admin: document.getElementById("invite-admin").checked });
      showLink(login, r.link);
      form.reset();
      await load();
    } catch (err) { error.textContent = err.message; }
  });
  await load();
}

start(users);
