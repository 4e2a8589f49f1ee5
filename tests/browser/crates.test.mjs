// Browser tests of the crate browser: search, crate pages, versions,
// dependency links, the install snippet's copy button, yanking as an owner
// (and not as anyone else), and READMEs written to attack the page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startRegistry, shot, open, setPassword } from "./harness.mjs";

let reg, base, token, adminCtx, bobCtx;
const pageErrors = [];

// READMEs that try to run script, inject elements or restyle the page.
const HOSTILE = [
  "<script>window.__pwned = 1; alert(1)</script>",
  "<img src=x onerror=\"window.__pwned = 2; alert(2)\">",
  "[click me](javascript:window.__pwned=3)",
  "<a href=\"jav&#x09;ascript:alert(4)\">tab trick</a>",
  "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "<svg onload=\"window.__pwned=5\"><script>alert(5)</script></svg>",
  "<iframe srcdoc=\"<script>parent.__pwned=6</script>\"></iframe>",
  "<style>body { display: none !important }</style>",
  "<p style=\"position:fixed;inset:0;background:red\" id=\"overlay\">overlay</p>",
  "<div onclick=\"window.__pwned=8\" id=\"clicky\">click</div>",
  "<math><mtext><table><mglyph><style><img src=x onerror=alert(9)>",
  "<details open ontoggle=\"window.__pwned=10\"><summary>x</summary></details>",
  "<form action=\"https://evil.example\"><input name=q></form>",
  "&lt;script&gt; <scr<script>ipt>alert(11)</script>",
  "<object data=\"x\"></object><embed src=\"x\"><base href=\"https://evil.example/\">",
].join("\n\n");

before(async () => {
  reg = await startRegistry("crates");
  base = reg.base;
  const out = reg.admin("user", "add", "owner", "--admin");
  const link = out.trim().split("\n").pop();
  token = reg.admin("token", "create", "owner", "--name", "publish").trim().split("\n").pop();
  const home = path.join(reg.work, "home");
  const publish = (dir) => {
    const r = reg.cargo(home, dir, token, "publish", "--registry", "local", "--allow-dirty");
    assert.ok(r.ok, r.out);
  };
  const readme = "# demo-core\n\nCore types. See [the guide](docs/guide.md).\n\n| feature | meaning |\n|---|---|\n| std | uses std |\n\n- [x] fast\n- [ ] finished\n\n```rust\nlet x = demo_core::f();\n```\n";
  for (const v of ["1.2.0", "1.3.0"]) {
    publish(reg.crate("demo-core", v,
      `description = "Core types for the demo"\nlicense = "MIT"\nrepository = "https://github.com/acme/demo"\nkeywords = ["demo", "core"]\nrust-version = "1.70"\nreadme = "README.md"\n`,
      { "README.md": readme.replace("Core types.", `Core types, version ${v}.`) }));
  }
  publish(reg.crate("demo-app", "0.1.0", `description = "Uses demo-core"\nlicense = "MIT"\n[dependencies]\ndemo-core = { version = "1.2", registry = "local" }\n`));
  publish(reg.crate("hostile-readme", "0.1.0", `description = "README attacks"\nreadme = "README.md"\n`, { "README.md": HOSTILE }));
  adminCtx = await reg.browser.newContext();
  await adminCtx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  await setPassword(adminCtx, link, "owner password 1");
  // bob: a signed-in user who owns nothing.
  const users = await open(adminCtx, base + "/users");
  await users.fill("#invite-login", "bob");
  await users.click("#invite-form button[type=submit]");
  await users.waitForSelector("#invite-result:not([hidden])");
  const bobLink = (await users.textContent("#invite-link")).trim();
  bobCtx = await reg.browser.newContext();
  await setPassword(bobCtx, bobLink, "bob password 12");
});

after(async () => {
  if (reg) await reg.stop();
});

function watch(page, { dialogs = true } = {}) {
  if (dialogs) page.on("dialog", (d) => { pageErrors.push("dialog: " + d.message()); d.dismiss(); });
  page.on("pageerror", (e) => pageErrors.push("pageerror: " + e.message));
  return page;
}

test("find a crate by search, open its page and read the rendered README", async () => {
  const page = watch(await open(adminCtx, base + "/crates"));
  assert.equal(await page.locator("#crate-list li").count(), 3);
  await page.fill("#search-q", "demo-core");
  await Promise.all([page.waitForURL(/q=demo-core/), page.click("#search-form button[type=submit]")]);
  await page.waitForSelector("body[data-ready]");
  const names = await page.locator("#crate-list li .name").allTextContents();
  assert.deepEqual(names, ["demo-core", "demo-app"], "exact name first, then a description mentioning it");
  await shot(page, "20-crate-search");
  await Promise.all([page.waitForURL(/\/crates\/demo-core$/), page.click("#crate-list li[data-crate=demo-core] a.name")]);
  await page.waitForSelector("body[data-ready]");
  await page.waitForSelector("#crate:not([hidden])");
  assert.equal(await page.textContent("#crate-version"), "1.3.0");
  assert.equal(await page.locator("#readme h1").textContent(), "demo-core");
  assert.equal(await page.locator("#readme table td").first().textContent(), "std");
  assert.equal(await page.locator("#readme input[type=checkbox]").count(), 2);
  assert.equal(await page.locator("#readme a").first().getAttribute("href"), "https://github.com/acme/demo/blob/HEAD/docs/guide.md");
  assert.match(await page.textContent("#meta"), /Rust version≥ 1\.70/);
  assert.match(await page.textContent("#dependents"), /demo-app/);
  await shot(page, "21-crate-page");
});

test("switch versions and follow a dependency link", async () => {
  const page = watch(await open(adminCtx, base + "/crates/demo-core"));
  await page.waitForSelector("#crate:not([hidden])");
  await Promise.all([page.waitForURL(/\/crates\/demo-core\/1\.2\.0$/), page.click("#versions li[data-version='1.2.0'] a")]);
  await page.waitForSelector("#crate:not([hidden])");
  assert.equal(await page.textContent("#crate-version"), "1.2.0");
  assert.match(await page.textContent("#readme"), /version 1\.2\.0/);
  assert.equal(await page.getAttribute("#versions li[data-version='1.2.0'] a", "aria-current"), "page");
  await shot(page, "22-other-version");
  const app = watch(await open(adminCtx, base + "/crates/demo-app"));
  await app.waitForSelector("#crate:not([hidden])");
  assert.match(await app.textContent("#deps [data-kind=normal]"), /demo-core \^1\.2/);
  await Promise.all([app.waitForURL(/\/crates\/demo-core$/), app.click("#deps [data-kind=normal] a")]);
  await app.waitForSelector("#crate:not([hidden])");
  assert.equal(await app.textContent("#crate-name"), "demo-core");
});

test("the install snippet's copy button copies it", async () => {
  const page = watch(await open(adminCtx, base + "/crates/demo-core"));
  await page.waitForSelector("#crate:not([hidden])");
  const snippet = await page.textContent("#install-add");
  assert.equal(snippet, "cargo add demo-core --registry private");
  await page.locator("#install-add").locator("xpath=ancestor::div[contains(@class,'snippet')]").getByRole("button").click();
  await page.waitForFunction(() => [...document.querySelectorAll(".copy")].some((b) => b.textContent === "Copied"));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);
  assert.equal(await page.textContent("#install-toml"), 'demo-core = { version = "1.3.0", registry = "private" }');
  await shot(page, "23-copied");
});

test("an owner yanks and unyanks from the page; a non-owner sees no control and is refused", async () => {
  const page = watch(await open(adminCtx, base + "/crates/demo-core"), { dialogs: false });
  await page.waitForSelector("#crate:not([hidden])");
  page.once("dialog", (d) => d.accept());
  await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: "Yank demo-core 1.2.0" }).click()]);
  await page.waitForSelector("#crate:not([hidden])");
  assert.equal(await page.locator("#versions li[data-version='1.2.0'] .badge").textContent(), "yanked");
  const idx = await (await fetch(base + "/index/de/mo/demo-core", { headers: { Authorization: token } })).text();
  assert.match(idx.split("\n")[0], /"vers":"1\.2\.0".*"yanked":true/);
  await shot(page, "24-yanked");
  page.once("dialog", (d) => d.accept());
  await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: "Unyank demo-core 1.2.0" }).click()]);
  await page.waitForSelector("#crate:not([hidden])");
  assert.equal(await page.locator("#versions li[data-version='1.2.0'] .badge").count(), 0);

  const bob = watch(await open(bobCtx, base + "/crates/demo-core"));
  await bob.waitForSelector("#crate:not([hidden])");
  assert.equal(await bob.locator("#versions button").count(), 0, "no yank control for a non-owner");
  await shot(bob, "25-non-owner");
  const refused = await bob.evaluate(async () => {
    const s = await (await fetch("/web/api/session")).json();
    const r = await fetch("/web/api/crates/demo-core/versions/1.2.0/yank", {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf }, body: JSON.stringify({ value: true }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(refused.status, 403);
  assert.match(refused.body.errors[0].detail, /not an owner/);
  const after = await (await fetch(base + "/index/de/mo/demo-core", { headers: { Authorization: token } })).text();
  assert.match(after.split("\n")[0], /"yanked":false/);
});

test("a hostile README runs nothing and injects nothing", async () => {
  const page = watch(await open(adminCtx, base + "/crates/hostile-readme"));
  await page.waitForSelector("#crate:not([hidden])");
  await page.click("#readme", { position: { x: 5, y: 5 } }).catch(() => {});
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const found = await page.evaluate(() => {
    const r = document.getElementById("readme");
    const bad = [];
    for (const e of r.querySelectorAll("*")) {
      if (["SCRIPT", "IFRAME", "SVG", "STYLE", "OBJECT", "EMBED", "FORM", "BASE", "MATH"].includes(e.tagName.toUpperCase())) bad.push(e.tagName);
      for (const a of e.attributes) {
        if (a.name.startsWith("on") || a.name === "style" || a.name === "srcdoc") bad.push(`${e.tagName}[${a.name}]`);
        if (/^\s*(javascript|data|vbscript):/i.test(a.value)) bad.push(`${e.tagName}[${a.name}=${a.value}]`);
      }
    }
    return { bad, overlay: !!document.getElementById("overlay"), bodyVisible: getComputedStyle(document.body).display !== "none", base: document.querySelectorAll("base").length };
  });
  assert.deepEqual(found.bad, []);
  assert.equal(found.overlay, false);
  assert.equal(found.bodyVisible, true);
  assert.equal(found.base, 0);
  assert.deepEqual(pageErrors, [], "no dialog and no page error in any crate page");
  await shot(page, "26-hostile-readme");
});
