// What every page of the registry's web app shares: the JSON API helper
// (CSRF header, error details), the DOM builder, the shared header with its
// account menu, the session and config loading, copy buttons, the help
// snippets for this registry, and date formatting. Plain browser ES module
// with no build step; each page's own module imports from it and hands its
// setup to `start`. It talks to the Worker's JSON API under /web/api/.

/** The registry's config and the signed-in session (null when signed out). */
export const state = { config: null, session: null };

export async function api(method, path, body) {
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

export function el(tag, attrs, ...children) {
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

export function addCopyButtons(root) {
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

/** Where to go once signed out: the sign-in page, told whether the
 * identity provider's own sign-out can be offered too. */
export function afterSignOut(reply) {
  location.href = reply && reply.provider_sign_out ? "/login?signed_out=sso" : "/login?signed_out=1";
}

async function signOut() {
  let reply = null;
  try { reply = await api("POST", "logout"); } catch (_) { /* signed out anyway */ }
  afterSignOut(reply);
}

export function when(iso) {
  return iso ? iso.replace("T", " ").replace("Z", " UTC") : "—";
}

/**
 * Loads the config and session, draws the header, fills the help snippets
 * and copy buttons, then runs the page's own setup (`page`, optional): a
 * 401 from it sends the visitor to sign in, any other error is shown at
 * the top of the page. Marks the body `data-ready` when done.
 */
export async function start(page) {
  try { state.config = await api("GET", "config"); } catch (_) { state.config = null; }
  try { state.session = await api("GET", "session"); } catch (_) { state.session = null; }
  renderHeader();
  if (state.config) fillTemplates(state.config);
  addCopyButtons(document);
  if (page) {
    try { await page(); } catch (err) {
      if (err.status === 401) location.href = "/login?next=" + encodeURIComponent(location.pathname);
      else document.getElementById("main").prepend(el("p", { class: "error", role: "alert" }, err.message));
    }
  }
  document.body.dataset.ready = "1";
}
