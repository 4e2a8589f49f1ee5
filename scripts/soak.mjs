// The load driver of scripts/soak: a bounded mixed load (index reads,
// downloads, publishes, yanks and unyanks) against one registry on
// loopback, then a check that every acknowledged publish is in the index
// with its checksum, downloads byte-identical, and shows the last
// acknowledged yank state. Prints errors (must be 0), p50/p99 per
// operation and throughput; exits non-zero on any error or mismatch.
//   node scripts/soak.mjs <base-url> <token> <bodies-dir> <seconds> <workers>
import { readdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";

const [base, token, dir, secsArg, workersArg] = process.argv.slice(2);
const secs = Number(secsArg || 120);
const workers = Number(workersArg || 8);
const auth = { Authorization: token };

function indexPath(name) {
  const n = name.toLowerCase();
  if (n.length === 1) return `1/${n}`;
  if (n.length === 2) return `2/${n}`;
  if (n.length === 3) return `3/${n[0]}/${n}`;
  return `${n.slice(0, 2)}/${n.slice(2, 4)}/${n}`;
}

// Queue of publishes: name, version, checksum of the .crate part.
const queue = readdirSync(dir).filter((f) => f.endsWith(".body")).sort().map((f) => {
  const body = readFileSync(path.join(dir, f));
  const jl = body.readUInt32LE(0);
  const meta = JSON.parse(body.subarray(4, 4 + jl).toString());
  const tar = body.subarray(8 + jl);
  return { body, name: meta.name, vers: meta.vers, cksum: createHash("sha256").update(tar).digest("hex") };
});
const published = [];       // acknowledged publishes
const yanked = new Map();   // "name@vers" -> last acknowledged state
const lat = {};             // op -> [ms]
const inflight = new Set(); // versions with a yank/unyank under way
let requests = 0;
const errors = [];

async function timed(op, fn) {
  const t0 = performance.now();
  try {
    await fn();
  } catch (e) {
    errors.push(`${op}: ${e.message}`);
  }
  (lat[op] ||= []).push(performance.now() - t0);
  requests++;
}

function pick(list) { return list[Math.floor(Math.random() * list.length)]; }

async function step() {
  const r = Math.random();
  if (published.length === 0 || (r < 0.10 && queue.length)) {
    const p = queue.shift();
    if (!p) return;
    await timed("publish", async () => {
      const resp = await fetch(`${base}/api/v1/crates/new`, { method: "PUT", headers: auth, body: p.body });
      const text = await resp.text();
      if (resp.status !== 200) throw new Error(`${p.name}@${p.vers}: ${resp.status} ${text}`);
      published.push(p);
    });
  } else if (r < 0.80) {
    const p = pick(published);
    await timed("index", async () => {
      const resp = await fetch(`${base}/index/${indexPath(p.name)}`, { headers: auth });
      const text = await resp.text();
      if (resp.status !== 200 || !text.includes(`"vers":"${p.vers}"`)) throw new Error(`index of ${p.name}: ${resp.status}, ${p.vers} missing`);
    });
  } else if (r < 0.95) {
    const p = pick(published);
    await timed("download", async () => {
      const resp = await fetch(`${base}/dl/${p.name}/${p.vers}/${p.cksum}`, { headers: auth });
      const bytes = Buffer.from(await resp.arrayBuffer());
      if (resp.status !== 200) throw new Error(`download ${p.name}@${p.vers}: ${resp.status}`);
      if (createHash("sha256").update(bytes).digest("hex") !== p.cksum) throw new Error(`download ${p.name}@${p.vers}: wrong bytes`);
    });
  } else {
    const p = pick(published);
    const key = `${p.name}@${p.vers}`;
    // One toggle per version at a time, so the last acknowledged state is
    // the server's state.
    if (inflight.has(key)) return;
    inflight.add(key);
    const to = !yanked.get(key);
    await timed(to ? "yank" : "unyank", async () => {
      const url = `${base}/api/v1/crates/${p.name}/${p.vers}/${to ? "yank" : "unyank"}`;
      const resp = await fetch(url, { method: to ? "DELETE" : "PUT", headers: auth });
      const text = await resp.text();
      if (resp.status !== 200) throw new Error(`${to ? "yank" : "unyank"} ${key}: ${resp.status} ${text}`);
      yanked.set(key, to);
    });
    inflight.delete(key);
  }
}

const end = Date.now() + secs * 1000;
const t0 = performance.now();
await Promise.all(Array.from({ length: workers }, async () => {
  while (Date.now() < end && errors.length < 50) await step();
}));
const elapsed = (performance.now() - t0) / 1000;

// Verification.
let checked = 0;
const byName = new Map();
for (const p of published) (byName.get(p.name) || byName.set(p.name, []).get(p.name)).push(p);
for (const [name, ps] of byName) {
  const resp = await fetch(`${base}/index/${indexPath(name)}`, { headers: auth });
  const lines = (await resp.text()).trim().split("\n").map((l) => JSON.parse(l));
  for (const p of ps) {
    const line = lines.find((l) => l.vers === p.vers);
    if (!line) { errors.push(`verify: ${p.name}@${p.vers} acknowledged but not in the index`); continue; }
    if (line.cksum !== p.cksum) errors.push(`verify: ${p.name}@${p.vers} cksum differs`);
    const want = yanked.get(`${p.name}@${p.vers}`) || false;
    if (line.yanked !== want) errors.push(`verify: ${p.name}@${p.vers} yanked=${line.yanked}, last acknowledged ${want}`);
    const dl = await fetch(`${base}/dl/${p.name}/${p.vers}/${p.cksum}`, { headers: auth });
    const bytes = Buffer.from(await dl.arrayBuffer());
    if (createHash("sha256").update(bytes).digest("hex") !== p.cksum) errors.push(`verify: ${p.name}@${p.vers} download differs`);
    checked++;
  }
}

const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
console.log(`soak: ${requests} requests in ${elapsed.toFixed(1)} s (${(requests / elapsed).toFixed(1)} req/s), ${workers} workers`);
console.log(`${"operation".padEnd(10)} ${"count".padStart(7)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}`);
for (const [op, xs] of Object.entries(lat)) {
  console.log(`${op.padEnd(10)} ${String(xs.length).padStart(7)} ${pct(xs, 0.5).toFixed(1).padStart(8)} ${pct(xs, 0.99).toFixed(1).padStart(8)}`);
}
console.log(`verified ${checked} acknowledged publishes (index line, checksum, yank state, download bytes)`);
console.log(`errors: ${errors.length}`);
for (const e of errors.slice(0, 20)) console.log("  " + e);
process.exit(errors.length ? 1 : 0);
