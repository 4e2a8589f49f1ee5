// The sign-in page with single sign-on configured and passwords off:
// "Sign in with <provider>" is the one way in, it starts at the registry's
// own /auth/oidc/start with a same-origin `next`, and a refusal's reason
// code is shown as a sentence. (The flow through a real provider is the
// next step of issue 13.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startRegistry, shot, open } from "./harness.mjs";

let reg, base, browser;

before(async () => {
  reg = await startRegistry("sso", {
    vars: {
      // Nothing listens there: the page is tested, not the provider.
      OIDC_ISSUER: "http://127.0.0.1:9",
      OIDC_CLIENT_ID: "registry",
      OIDC_NAME: "Acme SSO",
      PASSWORD_SIGN_IN: "off",
    },
  });
  base = reg.base;
  browser = reg.browser;
});

after(async () => {
  if (reg) await reg.stop();
});

test("with single sign-on and no passwords, the provider's button is the way in", async () => {
  const ctx = await browser.newContext();
  const page = await open(ctx, base + "/login?next=/crates/serde");
  const button = page.getByRole("link", { name: "Sign in with Acme SSO" });
  assert.equal(await button.isVisible(), true);
  assert.equal(await button.getAttribute("href"), "/auth/oidc/start?next=%2Fcrates%2Fserde");
  assert.equal(await page.isVisible("#login-form"), false, "no password form");
  assert.equal(
    await page.textContent("#no-account"),
    "No account yet? Signing in with Acme SSO makes one, if your organisation allows it.",
  );
  assert.match(await page.textContent("#no-admin"), /--admin --oidc <subject at the identity provider>\.$/);
  await shot(page, "sso-01-sign-in-page");
  // A `next` elsewhere is not passed on.
  const other = await open(ctx, base + "/login?next=//evil.example/x");
  assert.equal(
    await other.getByRole("link", { name: "Sign in with Acme SSO" }).getAttribute("href"),
    "/auth/oidc/start?next=%2Ftokens",
  );
  // Password sign-in is refused by the server too.
  const r = await fetch(base + "/web/api/login", {
    method: "POST",
    headers: { "content-type": "application/json", origin: base },
    body: JSON.stringify({ login: "a", password: "a good password" }),
  });
  assert.equal(r.status, 403);
  await ctx.close();
});

test("a refused sign-in says why on the sign-in page", async () => {
  const ctx = await browser.newContext();
  for (const [code, text] of [
    ["group", "Your account at the identity provider is not in the group allowed to use this registry. Ask an administrator."],
    ["provider", "The sign-in was cancelled or refused at the identity provider."],
    ["<img src=x onerror=alert(1)>", "That sign-in is unknown, already used or expired. Start again."],
  ]) {
    const page = await open(ctx, base + "/login?sso_error=" + encodeURIComponent(code));
    assert.equal(await page.textContent("#sso-error"), text, code);
    assert.equal(await page.locator("#sso-error img").count(), 0);
    if (code === "group") await shot(page, "sso-02-refused");
  }
  await ctx.close();
});
