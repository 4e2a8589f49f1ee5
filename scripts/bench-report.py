"""Turns the measurements of scripts/bench into docs/benchmarks.md form.

argv: results file ("metric value" per line), runs, duration, connection
levels, repetitions; stdin: the native benchmark's METRIC lines.
"""

import os
import platform
import statistics
import subprocess
import sys
from collections import defaultdict

results, runs, duration, conns, reps = sys.argv[1:6]
conns = conns.split()
values = defaultdict(list)
for line in open(results):
    parts = line.split()
    if len(parts) == 2:
        try:
            values[parts[0]].append(float(parts[1]))
        except ValueError:
            pass
native = {}
for line in sys.stdin:
    p = line.split()
    if len(p) == 5 and p[0] == "METRIC":
        native[p[1]] = [float(x) for x in p[2:]]


def mmm(metric, fmt="{:.0f}"):
    v = values.get(metric)
    if not v:
        return "n/a | n/a | n/a"
    return " | ".join(fmt.format(x) for x in (min(v), statistics.median(v), max(v)))


def cmd(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception:
        return "n/a"


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


mem = "unknown"
try:
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) // (1024 * 1024)} GiB"
except OSError:
    pass
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
wrangler = cmd(os.path.join(root, "node_modules/.bin/wrangler"), "--version")

out = []
w = out.append
w("# Benchmarks\n")
w("Produced by `scripts/bench --write`; every figure is from one invocation on")
w("one machine, loopback only. Throughput ratios are taken within each run")
w("(registry and ceiling measured minutes apart on the same machine), then")
w("summarised as min / median / max over the runs.\n")
w("## Reproduce\n")
w("```sh")
w(f"RUNS={runs} DURATION={duration} CONNECTIONS=\"{' '.join(conns)}\" REPS={reps} scripts/bench --write")
w("```\n")
w("## Machine\n")
w(f"- {os.cpu_count()} CPUs ({cpu()}), {mem} RAM, {platform.system()} {platform.release()}")
w(f"- {cmd('rustc', '--version')}; {cmd('cargo', '--version')}")
w(f"- wrangler {wrangler} (workerd, local KV/R2/D1); nginx-light and wrk from Debian")
w(f"- commit {cmd('git', '-C', root, 'rev-parse', '--short', 'HEAD')}, {cmd('date', '-u', '+%Y-%m-%d %H:%M UTC')}")
w("- The machine is shared and noisy: compare ratios, not absolute figures.\n")

w("## Index reads\n")
w(f"`wrk -d{duration}s` (2 threads; 1 at c=1) against one index file (`serde_json`), {runs} runs.")
w("\"asset, no Worker\" is the same bytes served as a static asset by the same")
w("wrangler, from an assets-only Worker (no Worker code runs: the platform's")
w("ceiling); \"page from the Worker\" is `/style.css`, one of the pages compiled")
w("into the registry's Worker (the Worker's own cost with no storage and no")
w("token); \"one-KV-read JS Worker\"")
w("(`bench/kv-floor`) answers with one KV `getWithMetadata` and nothing else, the")
w("floor of a design that reads KV once per index GET, and \"one-KV-read Rust")
w("Worker\" (`bench/rs-floor`) does the same with the `worker` crate this project")
w("uses; \"nginx\" is a plain static-file server holding the")
w("same index tree (the protocol's ceiling); \"index 200\" is an authenticated GET,")
w("\"index 304\" the same with `If-None-Match`. \"index 200\" and \"asset, no Worker\" are")
w("each measured twice, in the order asset, index 200, index 304, index 200, asset,")
w("and averaged, so that the machine's drift during a run cancels out of their ratio.\n")
w("| target | conns | req/s min | median | max | p50 ms (median) | p99 ms (median) |")
w("|---|---|---|---|---|---|---|")
for c in conns:
    for key, label in [("floor", "one-KV-read JS Worker (floor)"), ("rsfloor", "one-KV-read Rust Worker (floor)"), ("direct", "asset, no Worker (ceiling)"), ("asset", "page from the Worker"), ("nginx", "nginx (ceiling)"), ("index200", "index 200"), ("index304", "index 304")]:
        p50 = values.get(f"p50ms_{key}_c{c}")
        p99 = values.get(f"p99ms_{key}_c{c}")
        lat = " | ".join(f"{statistics.median(v):.2f}" if v else "n/a" for v in (p50, p99))
        w(f"| {label} | {c} | {mmm(f'rps_{key}_c{c}')} | {lat} |")
w("")
w("| ratio (per run) | conns | min | median | max |")
w("|---|---|---|---|---|")
for c in conns:
    w(f"| index 200 / asset, no Worker | {c} | {mmm(f'ratio_index200_direct_c{c}', '{:.2f}')} |")
    w(f"| index 304 / asset, no Worker | {c} | {mmm(f'ratio_index304_direct_c{c}', '{:.2f}')} |")
    w(f"| index 200 / one-KV-read JS Worker | {c} | {mmm(f'ratio_index200_floor_c{c}', '{:.2f}')} |")
    w(f"| index 200 / one-KV-read Rust Worker | {c} | {mmm(f'ratio_index200_rsfloor_c{c}', '{:.2f}')} |")
    w(f"| one-KV-read JS Worker / asset, no Worker | {c} | {mmm(f'ratio_floor_direct_c{c}', '{:.2f}')} |")
    w(f"| index 200 / page from the Worker | {c} | {mmm(f'ratio_index200_asset_c{c}', '{:.2f}')} |")
    w(f"| index 200 / nginx | {c} | {mmm(f'ratio_index200_nginx_c{c}', '{:.2f}')} |")
w("")
head = values.get("head_answered", [])
w(f"`HEAD` on an index file answered 200 with no body: {'yes' if head and min(head) == 1 else 'NO'}.\n")

w("## Cold resolution\n")
w(f"A consumer with this project's `Cargo.toml`, crates.io replaced by the mirror and an")
w(f"empty `CARGO_HOME` each time; {runs} runs × {reps} repetitions. The registry needs a")
w("token; nginx, and the assets-only Worker under the same wrangler (\"direct\"),")
w("serve the exported index and `.crate` files without one.\n")
w("| step | via | seconds min | median | max |")
w("|---|---|---|---|---|")
for step in ["resolve", "fetch"]:
    for via in ["registry", "nginx", "direct"]:
        w(f"| `cargo {'generate-lockfile' if step == 'resolve' else 'fetch'}` | {via} | {mmm(f'{step}_{via}_s', '{:.2f}')} |")
w("")
w("| ratio | min | median | max |")
w("|---|---|---|---|")
for t, label in [("nginx", "nginx"), ("direct", "static assets of the same wrangler")]:
    w(f"| resolve, registry / {label} | {mmm(f'ratio_resolve_registry_{t}', '{:.2f}')} |")
    w(f"| fetch, registry / {label} | {mmm(f'ratio_fetch_registry_{t}', '{:.2f}')} |")
w("")
files = statistics.median(values["index_files"]) if values.get("index_files") else None
c1 = [c for c in conns if c == "1"]
if files and c1 and values.get("p50ms_direct_c1") and values.get("p50ms_nginx_c1"):
    peak = max(statistics.median(values[f"rps_direct_c{c}"]) for c in conns if values.get(f"rps_direct_c{c}"))
    w(f"Why resolution is slower than nginx, whatever the Worker does: cargo fetches the")
    w(f"{files:.0f} index files (plus `config.json`) over at most 2 connections per host, so")
    w(f"over plain HTTP/1.1 it is a chain of about {files / 2:.0f} round trips. A round trip")
    w(f"to a static file of the same wrangler, with no Worker code at all, takes")
    w(f"{statistics.median(values['p50ms_direct_c1']):.2f} ms (c=1 above), to nginx {statistics.median(values['p50ms_nginx_c1']):.2f} ms; and even fully")
    w(f"parallel, {files:.0f} requests at that static server's best {peak:.0f} req/s take")
    w(f"{files / peak:.2f} s of the platform's own time. The registry's resolution is measured")
    w("against the platform's static files for that reason (the \"static assets\" rows).\n")

w("## Publishing\n")
w("| measure | min | median | max |")
w("|---|---|---|---|")
w(f"| `cargo publish` until \"Published\", s (5 per run) | {mmm('publish_s', '{:.2f}')} |")
w(f"| `scripts/admin import` of this project's lockfile into an empty registry, imports/s (whole command: resolve, cached fetch, publish) | {mmm('imports_per_s', '{:.1f}')} |")
w(f"| packages imported per run | {mmm('imported')} |")
w("")

w("## Size and CPU\n")
raw = values.get("wasm_raw_bytes", [0])[0]
gz = values.get("wasm_gzip_bytes", [0])[0]
w(f"- Worker wasm (optimised, stripped): {raw:,.0f} bytes raw, {gz:,.0f} bytes gzip -9.")
w("- Native per-request cost through the router on the in-memory store")
w("  (`cargo run --release --example bench_handlers`, 5 batches):\n")
w("| handler | ns min | median | max |")
w("|---|---|---|---|")
for key, label in [("native_index_get_ns", "index GET (token cached, 20-version file)"), ("native_publish_ns", "publish of a small new crate (with README)")]:
    v = native.get(key)
    w(f"| {label} | " + (" | ".join(f"{x:,.0f}" for x in v) if v else "n/a | n/a | n/a") + " |")
w("")
w("- Storage operations per index GET in steady state: one KV read, no D1")
w("  query (asserted by `tests/fast_path.rs`, also for `HEAD` and 304).")
print("\n".join(out))
