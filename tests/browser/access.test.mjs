// Cloudflare Access mode against real workerd, in Chromium: the team's certs
// served from loopback, assertions minted with its RSA key and added to
// every request as Access's edge would; someone Access let through lands on
// Tokens without a second sign-in; a browser without an assertion is not
// signed in; expired, wrong-audience and wrong-key assertions open no
// session and make no account.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { ROOT, startRegistry, shot, open, createToken } from "./harness.mjs";

const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const SUB = "7335d417-61da-459d-899c-0a01c76a2f94";
const team = { key: generateKeyPairSync("rsa", { modulusLength: 2048 }), kid: "team-1" };
const stranger = { key: generateKeyPairSync("rsa", { modulusLength: 2048 }), kid: "team-1" };

let certs, team_domain, reg, base, browser;

const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** An application token as Access signs it; `over` changes claims. */
function assertion(signer, over = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: [AUD], email: "dana@acme.test", exp: now + 3600, iat: now, nbf: now,
    iss: team_domain, type: "app", identity_nonce: "6ei69kawdKzMIAPF", sub: SUB, country: "DE", ...over,
  };
  const input = b64({ alg: "RS256", kid: signer.kid, typ: "JWT" }) + "." + b64(claims);
  return input + "." + sign("sha256", Buffer.from(input), signer.key.privateKey).toString("base64url");
}

before(async () => {
  // The team's certs endpoint, in Access's shape.
  certs = http.createServer((req, res) => {
    if (req.url !== "/cdn-cgi/access/certs") { res.writeHead(404).end(); return; }
    const jwk = { ...team.key.publicKey.export({ format: "jwk" }), kid: team.kid, alg: "RS256", use: "sig" };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk], public_cert: { kid: team.kid, cert: "" }, public_certs: [] }));
  });
  await new Promise((ok) => certs.listen(0, "127.0.0.1", ok));
  team_domain = `http://127.0.0.1:${certs.address().port}`;
  reg = await startRegistry("access", { vars: { ACCESS_TEAM_DOMAIN: team_domain, ACCESS_AUD: AUD } });
  base = reg.base;
  browser = reg.browser;
});

after(async () => {
  if (reg) await reg.stop();
  if (certs) certs.close();
});

/** Rows in the registry's local D1. */
function count(table) {
  const out = execFileSync(path.join(ROOT, "node_modules", ".bin", "wrangler"),
    ["d1", "execute", "DB", "--local", "--persist-to", path.join(reg.work, "state"), "--json",
      "--command", `SELECT COUNT(*) AS n FROM ${table}`], { cwd: ROOT, encoding: "utf8" });
  return JSON.parse(out)[0].results[0].n;
}

test("someone Access let through lands on Tokens without a second sign-in", async () => {
  const ctx = await browser.newContext({ extraHTTPHeaders: { "cf-access-jwt-assertion": assertion(team) } });
  const page = await open(ctx, base + "/tokens");
  assert.equal(new URL(page.url()).pathname, "/tokens");
  assert.equal(await page.textContent("#menu-button span"), "dana");
  await shot(page, "access-01-tokens-through-access");
  const token = await createToken(page, "laptop");
  const r = await fetch(base + "/index/config.json", { headers: { authorization: token } });
  assert.equal(r.status, 200);
  // The sign-in page goes on by itself too.
  const login = await ctx.newPage();
  await Promise.all([login.waitForURL(base + "/tokens"), login.goto(base + "/login")]);
  assert.equal(count("users"), 1);
  assert.equal(count("identities"), 1);
  await ctx.close();
});

test("a browser without an assertion is not signed in, and is told why", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(base + "/tokens");
  await page.waitForURL(/\/login\?sso_error=access$/);
  await page.waitForSelector("body[data-ready]");
  assert.equal((await page.textContent("#sso-error")).trim(),
    "This request did not come through Cloudflare Access. Open the registry at its Access-protected address.");
  assert.equal(await page.getByRole("link", { name: "Sign in with Cloudflare Access" }).count(), 1);
  await shot(page, "access-02-no-assertion");
  const s = await page.request.get(base + "/web/api/session");
  assert.equal(s.status(), 401);
  await ctx.close();
});

test("expired, wrong-audience and wrong-key assertions open no session and make no account", async () => {
  const users = count("users");
  const now = Math.floor(Date.now() / 1000);
  const cases = {
    expired: assertion(team, { sub: "expired-person", exp: now - 300, iat: now - 4000, nbf: now - 4000 }),
    "wrong aud": assertion(team, { sub: "other-app-person", aud: ["another-application"] }),
    "wrong key": assertion(stranger, { sub: "forger" }),
    missing: null,
  };
  for (const [what, jwt] of Object.entries(cases)) {
    const r = await fetch(base + "/auth/access?next=/tokens", {
      redirect: "manual", headers: jwt ? { "cf-access-jwt-assertion": jwt } : {},
    });
    assert.equal(r.status, 302, what);
    assert.equal(r.headers.get("location"), jwt ? "/login?sso_error=token" : "/login?sso_error=access", what);
    assert.equal(r.headers.get("set-cookie"), null, what);
  }
  assert.equal(count("users"), users);
  assert.equal(count("identities"), users);
});
