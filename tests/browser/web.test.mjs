// Browser tests: the web app in real headless Chromium (Debian's, driven by
// playwright-core) against the Worker under `wrangler dev`, with the real
// `cargo` using tokens made in the pages. Each test saves a screenshot of
// the page it checks to test-artifacts/browser/. Run by scripts/test
// (node --test tests/browser/), which builds the Worker first.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { ROOT, startRegistry, shot, open, signIn as signInAt, createToken } from "./harness.mjs";

const ADMIN_PASSWORD = "admin password 123";

let reg, base, browser, adminLink, WORK;

const admin = (...args) => reg.admin(...args);
const cargo = (...args) => reg.cargo(...args);
const crate = (name, version, deps = "") => reg.crate(name, version, deps);
const signIn = (context, login, password, url) => url
  ? (async () => { const page = await open(context, url); await page.fill("#login", login); await page.fill("#password", password);
      await Promise.all([page.waitForURL(/\/tokens$/), page.click("button[type=submit]")]); await page.waitForSelector("body[data-ready]"); return page; })()
  : signInAt(context, base, login, password);

before(async () => {
  reg = await startRegistry("web");
  base = reg.base;
  browser = reg.browser;
  WORK = reg.work;
  const out = admin("user", "add", "admin", "--admin");
  adminLink = out.trim().split("\n").pop();
  assert.ok(adminLink.startsWith(base + "/set-password#secret="), out);
});

after(async () => {
  if (reg) await reg.stop();
});

test("the first administrator sets a password from the command-line link", async () => {
  const ctx = await browser.newContext();
  const page = await open(ctx, adminLink);
  await shot(page, "01-set-password");
  await page.fill("#new-password", ADMIN_PASSWORD);
  await page.fill("#confirm-password", ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(/\/tokens$/), page.click("button[type=submit]")]);
  await page.waitForSelector("body[data-ready]");
  assert.match(await page.textContent("#menu-button"), /admin/);
  // The link works only once.
  const again = await open(await browser.newContext(), adminLink);
  await again.fill("#new-password", "another password 1");
  await again.fill("#confirm-password", "another password 1");
  await again.click("button[type=submit]");
  await again.waitForSelector("#password-error:not(:empty)");
  assert.match(await again.textContent("#password-error"), /invalid, used or expired/);
  await ctx.close();
});

test("a wrong password is refused with a clear message", async () => {
  const ctx = await browser.newContext();
  const page = await open(ctx, base + "/login");
  await page.fill("#login", "admin");
  await page.fill("#password", "not the password");
  await page.click("button[type=submit]");
  await page.waitForSelector("#login-error:not(:empty)");
  assert.equal(await page.textContent("#login-error"), "Wrong login or password.");
  await shot(page, "02-wrong-password");
  // An unknown login gets the very same answer.
  await page.fill("#login", "nobody-at-all");
  await page.fill("#password", "not the password");
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#password").value === "");
  assert.equal(await page.textContent("#login-error"), "Wrong login or password.");
  assert.match(page.url(), /\/login$/);
  await ctx.close();
});

test("sign in, and Help shows this registry's own index URL", async () => {
  const ctx = await browser.newContext();
  const page = await signIn(ctx, "admin", ADMIN_PASSWORD);
  await shot(page, "03-tokens-signed-in");
  const help = await open(ctx, base + "/");
  const config = await help.textContent("#config-snippet");
  assert.ok(config.includes(`index = "sparse+${base}/index/"`), config);
  assert.ok(config.includes('credential-provider = "cargo:token"'), config);
  assert.match(await help.textContent("#ci-var"), /^CARGO_REGISTRIES_PRIVATE_TOKEN$/);
  await shot(help, "04-help");
  await ctx.close();
});

test("a token made in the page publishes with cargo; once revoked, cargo is refused", async () => {
  const ctx = await browser.newContext();
  const page = await signIn(ctx, "admin", ADMIN_PASSWORD);
  const token = await createToken(page, "laptop");
  await shot(page, "05-token-created");
  const home = path.join(WORK, "home-laptop");
  const pub = cargo(home, crate("web-made", "1.0.0"), token, "publish", "--registry", "local", "--allow-dirty");
  assert.ok(pub.ok, pub.out);
  assert.match(pub.out, /Published web-made v1\.0\.0/);
  await page.reload();
  await page.waitForSelector("body[data-ready]");
  const row = page.locator("tr[data-token=laptop]");
  assert.notEqual((await row.locator("td").nth(3).textContent()).trim(), "—", "last used is recorded");
  page.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Revoke token laptop" }).click();
  await page.waitForFunction(() => document.querySelector("tr[data-token=laptop] td:nth-child(6)").textContent === "revoked");
  await shot(page, "06-token-revoked");
  const refused = cargo(home, crate("web-made", "1.0.1"), token, "publish", "--registry", "local", "--allow-dirty");
  assert.ok(!refused.ok, refused.out);
  assert.match(refused.out, /token rejected for `local`/);
  await ctx.close();
});

test("/me while signed out goes through sign-in and lands on Tokens", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(base + "/me");
  await page.waitForURL(/\/login\?next=%2Ftokens$/);
  await page.waitForSelector("body[data-ready]");
  await shot(page, "07-me-sign-in");
  await page.fill("#login", "admin");
  await page.fill("#password", ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(/\/tokens$/), page.click("button[type=submit]")]);
  // And /me when signed in goes straight there.
  await page.goto(base + "/me");
  await page.waitForURL(/\/tokens$/);
  await ctx.close();
});

test("the return-to address after sign-in stays on this registry, whatever its spelling", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const tokens = base + "/tokens";
  // Each raw `next` value, and where the page would go after signing in.
  const cases = [
    ["/crates?q=a#x", base + "/crates?q=a#x"],
    ["/crates/web-made", base + "/crates/web-made"],
    ["", tokens],
    ["//evil.example/phish", tokens],
    ["/\t/evil.example/phish", tokens],
    ["/\n/evil.example/phish", tokens],
    ["/\r\n/evil.example", tokens],
    ["\t//evil.example", tokens],
    ["/\\evil.example", tokens],
    ["\\\\evil.example", tokens],
    ["\\/evil.example", tokens],
    ["/.//evil.example", base + "//evil.example"],
    ["https://evil.example/", tokens],
    ["https:evil.example", tokens],
    ["http://127.0.0.1.evil.example/", tokens],
    [base + "@evil.example/", tokens],
    ["javascript:alert(document.domain)", tokens],
    ["JaVaScRiPt:alert(1)", tokens],
    ["\tjavascript:alert(1)", tokens],
    ["data:text/html,<script>alert(1)</script>", tokens],
    ["%2F%2Fevil.example", base + "/%2F%2Fevil.example"],
  ];
  for (const [raw, want] of cases) {
    await page.goto(base + "/login?next=" + encodeURIComponent(raw));
    await page.waitForSelector("body[data-ready]");
    const got = await page.evaluate(() => safeNext());
    assert.equal(got, want, JSON.stringify(raw));
    assert.equal(new URL(got).origin, base, JSON.stringify(raw));
  }
  // The reviewed payload, through a real sign-in: the browser stays here.
  await page.goto(base + "/login?next=%2F%09%2Fevil.example%2Fphish");
  await page.waitForSelector("body[data-ready]");
  await page.fill("#login", "admin");
  await page.fill("#password", ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(/\/tokens$/), page.click("button[type=submit]")]);
  assert.equal(new URL(page.url()).origin, base);
  await ctx.close();
});

test("a read-only token builds a consumer but cannot publish", async () => {
  const ctx = await browser.newContext();
  const page = await signIn(ctx, "admin", ADMIN_PASSWORD);
  const full = await createToken(page, "publisher");
  const home = path.join(WORK, "home-ro");
  assert.ok(cargo(home, crate("ro-lib", "0.1.0"), full, "publish", "--registry", "local", "--allow-dirty").ok);
  await page.reload();
  await page.waitForSelector("body[data-ready]");
  const ro = await createToken(page, "ci-read", ["read"]);
  await shot(page, "08-read-only-token");
  const consumer = path.join(WORK, "pkgs", "ro-consumer");
  mkdirSync(path.join(consumer, "src"), { recursive: true });
  writeFileSync(path.join(consumer, "Cargo.toml"),
    '[package]\nname = "ro-consumer"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nro-lib = { version = "0.1", registry = "local" }\n');
  writeFileSync(path.join(consumer, "src", "main.rs"), "fn main() { println!(\"{}\", ro_lib::f()); }\n");
  const built = cargo(home, consumer, ro, "run");
  assert.ok(built.ok, built.out);
  const refused = cargo(home, crate("ro-lib", "0.1.1"), ro, "publish", "--registry", "local", "--allow-dirty");
  assert.ok(!refused.ok);
  assert.match(refused.out, /403/);
  // Refused on scope before any crate is looked up, so it names no crate.
  assert.ok(refused.out.includes("(status 403 Forbidden): this token lacks the `publish-new` or `publish-update` scope needed for this request; create a token with that scope"), refused.out);
  await ctx.close();
});

test("an admin invites a user who then signs in; disabling them stops their token", async () => {
  const adminCtx = await browser.newContext();
  const adminPage = await signIn(adminCtx, "admin", ADMIN_PASSWORD);
  const users = await open(adminCtx, base + "/users");
  await users.fill("#invite-login", "bob");
  await users.click("#invite-form button[type=submit]");
  await users.waitForSelector("#invite-result:not([hidden])");
  const link = (await users.textContent("#invite-link")).trim();
  assert.ok(link.startsWith(base + "/set-password#secret="), link);
  await shot(users, "09-users-invite");

  const bobCtx = await browser.newContext();
  const bob = await open(bobCtx, link);
  await bob.fill("#new-password", "bob's own password");
  await bob.fill("#confirm-password", "bob's own password");
  await Promise.all([bob.waitForURL(/\/tokens$/), bob.click("button[type=submit]")]);
  await bob.waitForSelector("body[data-ready]");
  assert.match(await bob.textContent("#menu-button"), /bob/);
  // bob signs in again with the password he chose.
  const bob2 = await signIn(await browser.newContext(), "bob", "bob's own password");
  await shot(bob2, "10-invited-user-signed-in");
  // bob is not an administrator: no Users entry, and the API refuses.
  await bob.click("#menu-button");
  assert.equal(await bob.locator("#user-menu a[href='/users']").count(), 0);
  const token = await createToken(bob, "bob-laptop");
  const home = path.join(WORK, "home-bob");
  const ok = cargo(home, WORK, token, "search", "web", "--registry", "local");
  assert.ok(ok.ok, ok.out);

  await users.reload();
  await users.waitForSelector("body[data-ready]");
  users.once("dialog", (d) => d.accept());
  await users.getByRole("button", { name: "Disable bob" }).click();
  await users.waitForFunction(() => document.querySelector("tr[data-user=bob] td:nth-child(3)").textContent === "disabled");
  await shot(users, "11-user-disabled");
  const refused = cargo(home, WORK, token, "search", "web", "--registry", "local");
  assert.ok(!refused.ok, refused.out);
  assert.match(refused.out, /disabled/);
  // bob's sessions ended too.
  await bob.goto(base + "/tokens");
  await bob.waitForURL(/\/login\?next=%2Ftokens$/);
  // Re-enabled, the token works again.
  await users.getByRole("button", { name: "Enable bob" }).click();
  await users.waitForFunction(() => document.querySelector("tr[data-user=bob] td:nth-child(3)").textContent === "active");
  assert.ok(cargo(home, WORK, token, "search", "web", "--registry", "local").ok);
  await adminCtx.close();
  await bobCtx.close();
  void adminPage;
});

test("pages work at 375 px wide and with the keyboard", async () => {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await signIn(ctx, "admin", ADMIN_PASSWORD);
  for (const p of ["/", "/tokens", "/users", "/login", "/crates", "/crates/web-made"]) {
    const pg = await open(ctx, base + p);
    const overflow = await pg.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${p} overflows by ${overflow}px at 375px`);
    await shot(pg, "12-narrow" + (p === "/" ? "-help" : p.replace("/", "-")));
  }
  // Every input has a label.
  for (const p of ["/tokens", "/users", "/login", "/crates"]) {
    const pg = await open(ctx, base + p);
    const unlabeled = await pg.evaluate(() => [...document.querySelectorAll("input, select")]
      .filter((i) => !(i.labels && i.labels.length) && !i.getAttribute("aria-label")).map((i) => i.id || i.name));
    assert.deepEqual(unlabeled, [], p);
  }
  // The cog menu opens, moves and closes with the keyboard.
  await page.focus("#menu-button");
  await page.keyboard.press("Enter");
  assert.equal(await page.getAttribute("#menu-button", "aria-expanded"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Tokens");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Crates");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Users");
  await shot(page, "13-keyboard-menu");
  await page.keyboard.press("Escape");
  assert.equal(await page.getAttribute("#menu-button", "aria-expanded"), "false");
  assert.equal(await page.evaluate(() => document.activeElement.id), "menu-button");
  // Sign out from the menu.
  await page.click("#menu-button");
  await Promise.all([page.waitForURL(/\/login\?signed_out=1$/), page.getByRole("menuitem", { name: "Sign out" }).click()]);
  await page.waitForSelector("body[data-ready]");
  // Without single sign-on, only the local sign-out is mentioned.
  assert.equal(await page.textContent("#signed-out-text"), "You are signed out of this registry.");
  assert.equal(await page.isVisible("#provider-sign-out"), false);
  const resp = await page.request.get(base + "/web/api/session");
  assert.equal(resp.status(), 401);
  await ctx.close();
});

test("security headers are on every page, and the CSP allows no inline script", async () => {
  for (const p of ["/", "/login", "/js/common.js", "/js/tokens.js", "/index/config.json"]) {
    const r = await fetch(base + p, { redirect: "manual" });
    if (p.startsWith("/js/")) {
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get("content-type") || "", /^text\/javascript/, p);
    }
    const csp = r.headers.get("content-security-policy") || "";
    assert.match(csp, /frame-ancestors 'none'/, p);
    assert.match(csp, /script-src 'self'/, p);
    assert.doesNotMatch(csp, /unsafe-inline/, p);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff", p);
    assert.ok(r.headers.get("referrer-policy"), p);
  }
  // No page carries inline script.
  const pages = readdirSync(path.join(ROOT, "public")).filter((f) => f.endsWith(".html"));
  assert.ok(pages.length >= 7, pages.join(", "));
  for (const f of pages) {
    const html = readFileSync(path.join(ROOT, "public", f), "utf8");
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, f);
    assert.doesNotMatch(html, /\son[a-z]+=/, f);
  }
});
