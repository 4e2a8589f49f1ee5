// Single sign-on through a real OpenID provider (tests/oidc-idp.mjs, the
// npm `oidc-provider`) in Chromium: its own login and consent pages, then
// Tokens and a publish with the real cargo; a person outside the allowed
// group refused; admin rights following the provider's group at the next
// sign-in; the provider's signing key rotated (RSA to EC) without a
// registry restart; sign-out here and at the provider. Passwords are off.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startRegistry, shot, open, createToken } from "./harness.mjs";
import { startIdp } from "../oidc-idp.mjs";

// The registry fetches the key set again on an unknown kid at most this
// often (src/service/sso/provider.rs, REFETCH_SECS).
const REFETCH_MS = 30_000;

let idp, reg, base, browser;
let firstKeyFetch = 0;
const contexts = {};

before(async () => {
  idp = await startIdp();
  reg = await startRegistry("oidc", {
    vars: idp.vars({
      OIDC_NAME: "Acme SSO",
      OIDC_REQUIRED_GROUP: "registry-users",
      OIDC_ADMIN_GROUP: "registry-admins",
      OIDC_ALLOWED_DOMAINS: "acme.test",
      PASSWORD_SIGN_IN: "off",
    }),
  });
  idp.register(reg.base);
  base = reg.base;
  browser = reg.browser;
});

after(async () => {
  if (reg) await reg.stop();
  if (idp) await idp.stop();
});

/** A browser profile of its own; nothing leaves loopback (the provider's
 * pages link a web font). */
async function context(name) {
  const ctx = await browser.newContext();
  await ctx.route((url) => url.hostname !== "127.0.0.1", (route) => route.abort());
  contexts[name] = ctx;
  return ctx;
}

async function session(page) {
  const r = await page.request.get(base + "/web/api/session");
  return r.status() === 200 ? r.json() : null;
}

/** From the registry's sign-in page to the provider; gives the page. */
async function toProvider(ctx, shots) {
  const page = await open(ctx, base + "/login");
  if (shots) await shot(page, "oidc-01-registry-sign-in");
  await Promise.all([
    page.waitForURL((u) => u.origin === idp.issuer),
    page.getByRole("link", { name: "Sign in with Acme SSO" }).click(),
  ]);
  return page;
}

/** The provider's login page, then its consent page. */
async function providerPages(page, login, shots) {
  await page.waitForSelector("input[name=login]");
  assert.match(page.url(), new RegExp("^" + idp.issuer + "/interaction/"));
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password");
  if (shots) await shot(page, "oidc-02-provider-login");
  await Promise.all([page.waitForSelector("input[name=prompt][value=consent]", { state: "attached" }), page.click("button[type=submit]")]);
  if (shots) await shot(page, "oidc-03-provider-consent");
  await page.click("button[type=submit]");
}

test("sign in through the provider's pages, land on Tokens, publish with cargo", async () => {
  const ctx = await context("dana");
  const page = await toProvider(ctx, true);
  await Promise.all([page.waitForURL(base + "/tokens"), providerPages(page, "dana", true)]);
  firstKeyFetch = Date.now();
  await page.waitForSelector("body[data-ready]");
  await shot(page, "oidc-04-signed-in-tokens");
  const me = await session(page);
  assert.equal(me.login, "dana");
  assert.equal(me.is_admin, true, "dana is in the provider's admin group");
  // Her email and groups were not in the (thin) ID token: userinfo said.
  assert.ok(idp.userinfoCalls() >= 1, "the userinfo endpoint was read");
  assert.equal(await page.textContent("#menu-button span"), "dana");
  assert.equal(await page.isVisible("#change-password-form"), false, "passwords are off: nothing to change");

  const token = await createToken(page, "dana-laptop");
  const dir = reg.crate("sso-made", "0.1.0", 'description = "made by a single sign-on user"\nlicense = "MIT"\n');
  const home = path.join(reg.work, "cargo-dana");
  const pub = reg.cargo(home, dir, token, "publish", "--registry", "local", "--no-verify");
  assert.ok(pub.ok, pub.out);
  assert.match(pub.out, /Published sso-made v0\.1\.0/);
  const info = await page.request.get(base + "/web/api/crates/sso-made");
  assert.equal(info.status(), 200);
  assert.deepEqual((await info.json()).owners.map((o) => o.login), ["dana"]);
});

test("a person outside the required group is refused with a clear message", async () => {
  const ctx = await context("mallory");
  const page = await toProvider(ctx);
  await Promise.all([page.waitForURL(base + "/login?sso_error=group"), providerPages(page, "mallory")]);
  await page.waitForSelector("body[data-ready]");
  assert.equal(
    await page.textContent("#sso-error"),
    "Your account at the identity provider is not in the group allowed to use this registry. Ask an administrator.",
  );
  await shot(page, "oidc-05-refused-group");
  assert.equal(await session(page), null, "no session");
  const users = await contexts.dana.request.get(base + "/web/api/users");
  assert.equal(users.status(), 200);
  assert.deepEqual((await users.json()).users.map((u) => u.login).sort(), ["dana"], "no account was made");
});

test("leaving the provider's admin group takes admin rights away at the next sign-in", async () => {
  idp.users.dana.groups = ["registry-users"];
  const ctx = contexts.dana;
  // Still signed in at the provider: straight back, no pages.
  const page = await open(ctx, base + "/login");
  await Promise.all([
    page.waitForURL(base + "/tokens"),
    page.getByRole("link", { name: "Sign in with Acme SSO" }).click(),
  ]);
  await page.waitForSelector("body[data-ready]");
  const me = await session(page);
  assert.equal(me.login, "dana");
  assert.equal(me.is_admin, false);
  const users = await page.request.get(base + "/web/api/users");
  assert.equal(users.status(), 403);
  const menu = await page.$$eval("#user-menu a", (as) => as.map((a) => a.textContent));
  assert.equal(menu.includes("Users"), false, "no Users page in the menu: " + menu);
});

test("the provider rotates its signing key and sign-in goes on working", async () => {
  // Past the refetch limit since the key set was first fetched, so the
  // unknown kid makes the registry fetch the set again.
  const wait = firstKeyFetch + REFETCH_MS + 2000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  idp.rotate();
  const keys = await (await fetch(idp.issuer + "/jwks")).json();
  assert.deepEqual(keys.keys.map((k) => k.kid), ["ec-2", "rsa-1"]);
  const ctx = await context("erin");
  const page = await toProvider(ctx);
  await Promise.all([page.waitForURL(base + "/tokens"), providerPages(page, "erin")]);
  await page.waitForSelector("body[data-ready]");
  const me = await session(page);
  assert.equal(me.login, "erin");
  assert.equal(me.is_admin, false);
});

test("sign out here, then at the provider", async () => {
  const ctx = contexts.erin;
  const page = await open(ctx, base + "/tokens");
  await page.click("#menu-button");
  await Promise.all([page.waitForURL(base + "/login?signed_out=sso"), page.getByRole("menuitem", { name: "Sign out" }).click()]);
  await page.waitForSelector("body[data-ready]");
  assert.equal(await session(page), null, "the registry's session ended");
  assert.equal(await page.textContent("#signed-out-text"), "You are signed out of this registry.");
  const link = page.getByRole("link", { name: "Also sign out of Acme SSO" });
  assert.equal(await link.isVisible(), true);
  // Nobody is an administrator now (dana left the group): the hint says
  // how one is made.
  assert.match(await page.textContent("#no-admin"), /, or a member of the identity provider's administrators group signs in\.$/);
  await shot(page, "oidc-06-signed-out");
  await Promise.all([page.waitForURL((u) => u.origin === idp.issuer), link.click()]);
  await page.waitForSelector("button[name=logout]");
  await shot(page, "oidc-07-provider-sign-out");
  await Promise.all([page.waitForURL(base + "/login"), page.click("button[name=logout]")]);
  // Signed out there too: the next sign-in asks for the login again.
  const again = await toProvider(ctx);
  await again.waitForSelector("input[name=login]");
  assert.match(again.url(), new RegExp("^" + idp.issuer + "/interaction/"));
});
