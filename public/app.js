// The registry's web pages: the shared header, copy buttons, help
// snippets for this registry, and each page's forms. Plain JavaScript with
// no build step; it talks to the Worker's JSON API under /web/api/.
"use strict";

const state = { config: null, session: null };

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.session && method !== "GET") headers["X-CSRF-Token"] = state.session.csrf;
  const resp = await fetch("/web/api/" + path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch (_) { data = null; }
  if (!resp.ok) {
    const detail = data && data.errors && data.errors[0] && data.errors[0].detail;
    const err = new Error(detail || ("request failed (" + resp.status + ")"));
    err.status = resp.status;
    throw err;
  }
  return data;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, "");
    else if (v !== false && v != null) e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function envVar(name) {
  return "CARGO_REGISTRIES_" + name.toUpperCase().replace(/-/g, "_") + "_TOKEN";
}

function templates(cfg) {
  const n = cfg.registry;
  const v = envVar(n);
  return {
    config: `[registries.${n}]\nindex = "${cfg.index_url}"\ncredential-provider = "cargo:token"`,
    login: `cargo login --registry ${n}`,
    publish: `cargo publish --registry ${n}`,
    depend: `[dependencies]\nmy-crate = { version = "1", registry = "${n}" }`,
    ci: `# .github/workflows/ci.yml (commit .cargo/config.toml from step 1 too)\nname: CI\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n      ${v}: \${{ secrets.${v} }}\n    steps:\n      - uses: actions/checkout@v4\n      - run: cargo build --locked\n      - run: cargo test --locked`,
    nightly: `[registries.${n}]\nindex = "${cfg.index_url}"\ncredential-provider = "cargo:token"\n\n[unstable]\nregistry-auth = true\n\n# then: cargo +nightly -Z registry-auth build`,
  };
}

async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch (_) {
    const area = el("textarea", { "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
    area.remove();
  }
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  button.textContent = ok ? "Copied" : "Copy failed: select and copy";
  setTimeout(() => { button.textContent = label; }, 2000);
}

function addCopyButtons(root) {
  for (const pre of root.querySelectorAll(".snippet")) {
    if (pre.querySelector(".copy")) continue;
    const code = pre.querySelector("code");
    const b = el("button", { type: "button", class: "copy" }, "Copy");
    b.setAttribute("aria-label", "Copy " + (pre.previousElementSibling ? "this snippet" : "snippet"));
    b.addEventListener("click", () => copyText(code.textContent, b));
    pre.append(b);
  }
  for (const b of root.querySelectorAll("[data-copy-target]")) {
    if (b.dataset.bound) continue;
    b.dataset.bound = "1";
    b.addEventListener("click", () => copyText(document.getElementById(b.dataset.copyTarget).textContent, b));
  }
}

function fillTemplates(cfg) {
  const t = templates(cfg);
  for (const e of document.querySelectorAll("[data-template]")) e.textContent = t[e.dataset.template] || "";
  for (const e of document.querySelectorAll("[data-fill=name]")) e.textContent = cfg.registry;
  for (const e of document.querySelectorAll("[data-fill=env]")) e.textContent = envVar(cfg.registry);
}

function renderHeader() {
  const top = document.getElementById("top");
  const cfg = state.config;
  const s = state.session;
  top.replaceChildren();
  top.append(el("a", { class: "brand", href: "/" }, (cfg ? cfg.registry : "private") + " · Cargo registry"));
  const nav = el("nav", { "aria-label": "Main" });
  if (s) nav.append(el("a", { class: "button", href: "/crates" }, "Crates"));
  nav.append(el("a", { class: "button", href: "/" }, "Help"));
  if (s) {
    const menu = el("ul", { class: "menu", id: "user-menu", role: "menu", hidden: true });
    const item = (child) => el("li", { role: "none" }, child);
    menu.append(item(el("a", { href: "/tokens", role: "menuitem" }, "Tokens")));
    menu.append(item(el("a", { href: "/crates", role: "menuitem" }, "Crates")));
    if (s.is_admin) menu.append(item(el("a", { href: "/users", role: "menuitem" }, "Users")));
    menu.append(item(el("button", { type: "button", role: "menuitem", onclick: signOut }, "Sign out")));
    const cog = el("button", {
      type: "button", id: "menu-button", "aria-haspopup": "true", "aria-expanded": "false",
      "aria-controls": "user-menu", title: "Account menu for " + s.login,
    }, "⚙ ", el("span", {}, s.login));
    const close = () => { menu.hidden = true; cog.setAttribute("aria-expanded", "false"); };
    cog.addEventListener("click", () => {
      const open = menu.hidden;
      menu.hidden = !open;
      cog.setAttribute("aria-expanded", String(open));
      if (open) menu.querySelector("a, button").focus();
    });
    menu.addEventListener("keydown", (e) => {
      const items = [...menu.querySelectorAll("a, button")];
      const i = items.indexOf(document.activeElement);
      if (e.key === "Escape") { close(); cog.focus(); }
      if (e.key === "ArrowDown") { e.preventDefault(); items[(i + 1) % items.length].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
    });
    document.addEventListener("click", (e) => { if (!nav.contains(e.target)) close(); });
    nav.append(cog, menu);
  } else if (document.body.dataset.page !== "login") {
    nav.append(el("a", { class: "button", href: "/login?next=" + encodeURIComponent(location.pathname) }, "Sign in"));
  }
  top.append(nav);
}

async function signOut() {
  try { await api("POST", "logout"); } catch (_) { /* signed out anyway */ }
  location.href = "/login";
}

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

function when(iso) {
  return iso ? iso.replace("T", " ").replace("Z", " UTC") : "—";
}

function crateLink(name) {
  return el("a", { href: "/crates/" + encodeURIComponent(name) }, name);
}

const pages = {
  help() {},

  async crates() {
    const params = new URLSearchParams(location.search);
    const q = params.get("q") || "";
    const sort = params.get("sort") || "updated";
    const page = Math.max(1, Number(params.get("page")) || 1);
    const form = document.getElementById("search-form");
    document.getElementById("search-q").value = q;
    document.getElementById("search-sort").value = sort;
    const go = (next) => {
      const p = new URLSearchParams();
      if (next.q) p.set("q", next.q);
      if (next.sort && next.sort !== "updated") p.set("sort", next.sort);
      if (next.page > 1) p.set("page", String(next.page));
      location.search = p.toString();
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      go({ q: document.getElementById("search-q").value.trim(), sort: document.getElementById("search-sort").value, page: 1 });
    });
    const data = await api("GET", `crates?per_page=20&page=${page}&sort=${encodeURIComponent(sort)}&q=${encodeURIComponent(q)}`);
    const list = document.getElementById("crate-list");
    list.replaceChildren(...data.crates.map((c) => el("li", { "data-crate": c.name },
      el("div", {}, el("a", { class: "name", href: "/crates/" + encodeURIComponent(c.name) }, c.name), " ",
        el("span", { class: "version" }, c.max_version || "")),
      c.description ? el("div", {}, c.description) : null,
      el("div", { class: "when" }, "last published " + when(c.updated_at)))));
    const pages = Math.max(1, Math.ceil(data.meta.total / data.meta.per_page));
    document.getElementById("list-status").textContent = q
      ? `${data.meta.total} crate(s) match “${q}”.`
      : `${data.meta.total} crate(s).`;
    document.getElementById("page-info").textContent = `Page ${page} of ${pages}`;
    const prev = document.getElementById("prev-page");
    const next = document.getElementById("next-page");
    prev.disabled = page <= 1;
    next.disabled = page >= pages;
    prev.addEventListener("click", () => go({ q, sort, page: page - 1 }));
    next.addEventListener("click", () => go({ q, sort, page: page + 1 }));
  },

  async crate() {
    const parts = location.pathname.split("/").slice(2).map(decodeURIComponent);
    const name = parts[0];
    const err = document.getElementById("crate-error");
    let info;
    try {
      info = await api("GET", "crates/" + encodeURIComponent(name));
    } catch (e) {
      err.textContent = e.message;
      return;
    }
    const c = info.crate;
    const versions = info.versions.versions;
    const selected = parts[1] || c.max_version || (versions[0] && versions[0].num);
    const v = await api("GET", `crates/${encodeURIComponent(c.name)}/versions/${encodeURIComponent(selected)}`);
    document.title = `${c.name} ${v.num} · Cargo registry`;
    document.getElementById("crate-name").textContent = c.name;
    document.getElementById("crate-version").textContent = v.num;
    document.getElementById("yanked-badge").hidden = !v.yanked;
    document.getElementById("crate-description").textContent = v.description || c.description || "";
    const reg = state.config ? state.config.registry : "private";
    const plain = v.num.split("+")[0];
    document.getElementById("install-add").textContent = `cargo add ${c.name} --registry ${reg}`;
    document.getElementById("install-toml").textContent = `${c.name} = { version = "${plain}", registry = "${reg}" }`;
    // Sanitised when published (scripts, handlers, styles and unsafe URLs removed).
    document.getElementById("readme").innerHTML = v.readme_html || "<p>This version has no README.</p>";
    const meta = document.getElementById("meta");
    const row = (k, val) => { if (val) meta.append(el("dt", {}, k), el("dd", {}, val)); };
    const ext = (url) => el("a", { href: url, rel: "noopener noreferrer nofollow" }, url.replace(/^https?:\/\//, ""));
    row("Published", when(v.pubtime));
    row("License", v.license);
    row("Rust version", v.rust_version ? "≥ " + v.rust_version : null);
    row("links", v.links);
    if (v.repository) row("Repository", ext(v.repository));
    if (v.homepage) row("Homepage", ext(v.homepage));
    if (v.documentation) row("Documentation", ext(v.documentation));
    row("Size", v.size ? `${(v.size / 1024).toFixed(1)} KiB` : null);
    if (v.keywords.length) row("Keywords", v.keywords.join(", "));
    document.getElementById("owners").replaceChildren(...info.owners.map((o) => el("li", {}, o.login)));
    const feats = Object.entries(v.features);
    document.getElementById("features").replaceChildren(...(feats.length
      ? feats.map(([f, vals]) => el("li", {}, el("code", {}, f), vals.length ? " → " + vals.join(", ") : ""))
      : [el("li", { class: "hint" }, "none")]));
    const deps = document.getElementById("deps");
    deps.replaceChildren();
    const titles = { normal: "Dependencies", build: "Build dependencies", dev: "Dev dependencies" };
    for (const kind of ["normal", "build", "dev"]) {
      const list = v.dependencies[kind];
      if (!list.length) continue;
      deps.append(el("div", { class: "dep-group", "data-kind": kind },
        el("h3", {}, `${titles[kind]} (${list.length})`),
        el("ul", { class: "plain" }, ...list.map((d) => el("li", {},
          d.local ? crateLink(d.name) : el("span", {}, d.name),
          " ", el("code", {}, d.req),
          d.rename ? ` (as ${d.rename})` : "",
          d.optional ? " optional" : "",
          d.target ? ` on ${d.target}` : "",
          !d.local ? el("span", { class: "hint" }, d.registry && d.registry.includes("crates.io-index") ? " crates.io" : " other registry") : null)))));
    }
    if (!deps.children.length) deps.append(el("p", { class: "hint" }, "No dependencies."));

    const vlist = document.getElementById("versions");
    const yankError = document.getElementById("yank-error");
    const addVersions = (items) => {
      for (const ver of items) {
        const li = el("li", { "data-version": ver.num, class: ver.num === v.num ? "current" : "" },
          el("a", { href: `/crates/${encodeURIComponent(c.name)}/${encodeURIComponent(ver.num)}`, "aria-current": ver.num === v.num ? "page" : false }, ver.num),
          el("span", { class: "hint" }, when(ver.pubtime)),
          ver.rust_version ? el("span", { class: "hint" }, "MSRV " + ver.rust_version) : null,
          ver.yanked ? el("span", { class: "badge" }, "yanked") : null);
        if (info.can_yank) {
          const label = ver.yanked ? "Unyank" : "Yank";
          li.append(el("button", { type: "button", class: ver.yanked ? "" : "danger", "aria-label": `${label} ${c.name} ${ver.num}`, onclick: async () => {
            const verb = ver.yanked ? "Unyank" : "Yank";
            if (!confirm(`${verb} ${c.name} ${ver.num}? ${ver.yanked ? "New lockfiles may select it again." : "New lockfiles will not select it; existing ones keep working."}`)) return;
            yankError.textContent = "";
            try {
              await api("POST", `crates/${encodeURIComponent(c.name)}/versions/${encodeURIComponent(ver.num)}/yank`, { value: !ver.yanked });
              location.reload();
            } catch (e) { yankError.textContent = e.message; }
          } }, label));
        }
        vlist.append(li);
      }
    };
    addVersions(versions);
    let vpage = 1;
    const more = document.getElementById("more-versions");
    more.hidden = info.versions.meta.total <= versions.length;
    more.addEventListener("click", async () => {
      vpage += 1;
      const next = await api("GET", `crates/${encodeURIComponent(c.name)}/versions?page=${vpage}`);
      addVersions(next.versions);
      more.hidden = vpage * next.meta.per_page >= next.meta.total;
    });
    const dlist = document.getElementById("dependents");
    const addDependents = (items) => dlist.append(...items.map((d) => el("li", {}, crateLink(d.name), " ", el("span", { class: "hint" }, d.max_version || ""))));
    addDependents(info.dependents.crates);
    if (!info.dependents.meta.total) dlist.append(el("li", { class: "hint" }, "No crate in this registry depends on it."));
    let dpage = 1;
    const moreD = document.getElementById("more-dependents");
    moreD.hidden = info.dependents.meta.total <= info.dependents.crates.length;
    moreD.addEventListener("click", async () => {
      dpage += 1;
      const next = await api("GET", `crates/${encodeURIComponent(c.name)}/dependents?page=${dpage}`);
      addDependents(next.crates);
      moreD.hidden = dpage * next.meta.per_page >= next.meta.total;
    });
    document.getElementById("crate").hidden = false;
    addCopyButtons(document);
  },

  login() {
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
  },

  "set-password"() {
    const form = document.getElementById("password-form");
    const error = document.getElementById("password-error");
    const secret = new URLSearchParams(location.hash.slice(1)).get("secret") || "";
    if (!secret) error.textContent = "This page needs the link you were given (it ends with #secret=…).";
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      const a = document.getElementById("new-password").value;
      const b = document.getElementById("confirm-password").value;
      if (a.length < 10) { error.textContent = "Use at least 10 characters."; return; }
      if (a !== b) { error.textContent = "The two passwords differ."; return; }
      try {
        state.session = await api("POST", "set-password", { secret, password: a });
        history.replaceState(null, "", "/set-password");
        location.href = "/tokens";
      } catch (err) {
        error.textContent = err.message;
      }
    });
  },

  async tokens() {
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
      await api("POST", "logout-all");
      location.href = "/login";
    });
    await load();
  },

  async users() {
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
  },
};

async function start() {
  try { state.config = await api("GET", "config"); } catch (_) { state.config = null; }
  try { state.session = await api("GET", "session"); } catch (_) { state.session = null; }
  renderHeader();
  if (state.config) fillTemplates(state.config);
  addCopyButtons(document);
  const page = document.body.dataset.page;
  if (pages[page]) {
    try { await pages[page](); } catch (err) {
      if (err.status === 401) location.href = "/login?next=" + encodeURIComponent(location.pathname);
      else document.getElementById("main").prepend(el("p", { class: "error", role: "alert" }, err.message));
    }
  }
  document.body.dataset.ready = "1";
}

start();
