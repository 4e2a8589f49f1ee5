// Shared pieces of the browser tests: a Worker under `wrangler dev` with its
// own state, the first administrator, real `cargo` with its own home, and
// Playwright helpers that save screenshots to test-artifacts/browser/.
import assert from "node:assert/strict";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = path.join(ROOT, "test-artifacts", "browser");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

export async function waitFor(fn, what, ms = 90000) {
  const start = Date.now();
  for (;;) {
    try { if (await fn()) return; } catch (_) { /* not yet */ }
    if (Date.now() - start > ms) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Starts wrangler dev with fresh state (and `vars` overriding
 * wrangler.toml's [vars]), and Chromium. */
export async function startRegistry(name, { vars = {} } = {}) {
  const work = path.join(ROOT, "target", "browser-e2e", `${name}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const state = path.join(work, "state");
  execFileSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: ROOT, stdio: "ignore" });
  // The state's admin token and URL, as scripts/admin finds them.
  const envFile = path.join(state, "admin.env");
  writeFileSync(envFile, `ADMIN_TOKEN=${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  writeFileSync(path.join(state, "dev-url"), base);
  const wrangler = spawn(WRANGLER, ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state,
    "--env-file", envFile, "--log-level", "warn", "--show-interactive-dev-session=false",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])], {
    cwd: ROOT, detached: true, stdio: "ignore",
    env: { ...process.env, SKIP_BUILD: "1", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  await waitFor(async () => (await fetch(base + "/index/config.json")).status === 401, "wrangler dev");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const reg = {
    work, base, browser,
    admin(...args) {
      return execFileSync(path.join(ROOT, "scripts", "admin"), args, {
        env: { ...process.env, STATE_DIR: state, REGISTRY_URL: base },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    },
    /** Runs cargo with its own home configured for this registry as `local`. */
    cargo(home, cwd, token, ...args) {
      mkdirSync(home, { recursive: true });
      writeFileSync(path.join(home, "config.toml"),
        `[registries.local]\nindex = "sparse+${base}/index/"\ncredential-provider = "cargo:token"\n[net]\nretry = 0\n[term]\ncolor = "never"\n`);
      const env = { ...process.env, CARGO_HOME: home, CARGO_TARGET_DIR: path.join(work, "target"), CARGO_REGISTRIES_LOCAL_TOKEN: token };
      delete env.RUSTUP_TOOLCHAIN;
      const r = spawnSync("cargo", args, { cwd, env, encoding: "utf8" });
      return { ok: r.status === 0, out: (r.stdout || "") + (r.stderr || "") };
    },
    crate(name, version, extra = "", files = {}) {
      const dir = path.join(work, "pkgs", `${name}-${version}`);
      mkdirSync(path.join(dir, "src"), { recursive: true });
      writeFileSync(path.join(dir, "Cargo.toml"),
        `[package]\nname = "${name}"\nversion = "${version}"\nedition = "2021"\npublish = ["local"]\n${extra}`);
      writeFileSync(path.join(dir, "src", "lib.rs"), "pub fn f() -> u32 { 1 }\n");
      for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
      return dir;
    },
    async stop() {
      await browser.close();
      try { process.kill(-wrangler.pid, "SIGTERM"); } catch (_) { /* gone */ }
    },
  };
  return reg;
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
}

export async function open(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector("body[data-ready]");
  return page;
}

export async function signIn(context, base, login, password) {
  const page = await open(context, base + "/login");
  await page.fill("#login", login);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/tokens$/), page.click("button[type=submit]")]);
  await page.waitForSelector("body[data-ready]");
  return page;
}

/** Opens a one-time link and sets the password; lands signed in on Tokens. */
export async function setPassword(context, link, password) {
  const page = await open(context, link);
  await page.fill("#new-password", password);
  await page.fill("#confirm-password", password);
  await Promise.all([page.waitForURL(/\/tokens$/), page.click("button[type=submit]")]);
  await page.waitForSelector("body[data-ready]");
  return page;
}

/** Creates a token on the Tokens page and returns its value. */
export async function createToken(page, name, scopes) {
  await page.fill("#token-name", name);
  if (scopes) {
    for (const box of await page.$$("input[name=scope]")) {
      const v = await box.getAttribute("value");
      if (scopes.includes(v)) await box.check(); else await box.uncheck();
    }
  }
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#new-token:not([hidden])");
  const token = (await page.textContent("#new-token-value")).trim();
  assert.match(token, /^cfreg_[0-9a-f]{40}$/);
  return token;
}
