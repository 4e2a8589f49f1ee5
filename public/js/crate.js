// The crate page (/crates/<name>[/<version>]): one version's README,
// metadata, features, dependencies and install snippets, the version list
// with yank/unyank for owners, and the crates that depend on it.

import { addCopyButtons, api, el, start, state, when } from "./common.js";

function crateLink(name) {
  return el("a", { href: "/crates/" + encodeURIComponent(name) }, name);
}

async function crate() {
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
}

start(crate);
