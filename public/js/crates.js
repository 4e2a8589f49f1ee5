// The Crates page (/crates): search, sort and paging of the registry's
// crates, kept in the URL's query so a result can be linked and reloaded.

import { api, el, start, when } from "./common.js";

async function crates() {
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
}

start(crates);
