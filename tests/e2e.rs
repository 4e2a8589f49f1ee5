//! End-to-end: the built Worker under real `wrangler dev` (workerd, local
//! KV/R2/D1), driven by the real stable `cargo` (and nightly for the old
//! `-Z registry-auth` setup). Needs the Worker built and Node 22 on PATH;
//! `scripts/test` provides both and runs these with `--ignored`.

mod common;
#[path = "e2e/import.rs"]
mod import;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn work() -> PathBuf {
    root()
        .join("target")
        .join("e2e")
        .join(std::process::id().to_string())
}

struct Server {
    base: String,
    state: PathBuf,
}

static SERVER: OnceLock<Server> = OnceLock::new();

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn curl(args: &[&str]) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "-", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn wrangler() -> String {
    std::env::var("WRANGLER").unwrap_or_else(|_| {
        root()
            .join("node_modules/.bin/wrangler")
            .display()
            .to_string()
    })
}

/// Runs `scripts/admin` against the test server's state; returns stdout.
fn admin(args: &[&str]) -> String {
    let s = server();
    let out = Command::new(root().join("scripts/admin"))
        .args(args)
        .env("STATE_DIR", &s.state)
        .output()
        .expect("scripts/admin runs");
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn new_token(login: &str) -> String {
    admin(&["token", "create", login, "--name", "e2e"])
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

fn server() -> &'static Server {
    SERVER.get_or_init(start)
}

fn start() -> Server {
    let dir = work();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state");
    let base = spawn_registry(&state);
    Server { base, state }
}

/// Applies the migrations to `state` and serves it with wrangler dev on a
/// free port; returns the base URL once it answers.
fn spawn_registry(state: &Path) -> String {
    // Two wrangler devs starting at once can race for an internal port:
    // start one at a time.
    static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    let port = free_port();
    let st = Command::new(wrangler())
        .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
        .arg(state)
        .current_dir(root())
        .stdout(Stdio::null())
        .status()
        .expect("wrangler runs");
    assert!(st.success(), "migrations apply failed");
    let base = format!("http://127.0.0.1:{port}");
    // The state's admin token and URL, as scripts/admin finds them.
    let env_file = state.join("admin.env");
    if !env_file.exists() {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).unwrap();
        std::fs::write(
            &env_file,
            format!(
                "ADMIN_TOKEN={}\n",
                edge_registry::protocol::index::to_hex(&random)
            ),
        )
        .unwrap();
    }
    std::fs::write(state.join("dev-url"), &base).unwrap();
    let log = state.with_extension("log");
    // wrangler runs in its own process group, watched by a shell that
    // ends the group when this test process exits (even on panic).
    let script = format!(
        "\"$WRANGLER\" dev --ip 127.0.0.1 --port {port} --persist-to \"$STATE\" --env-file \"$STATE/admin.env\" --log-level warn --show-interactive-dev-session=false --test-scheduled > \"$LOG\" 2>&1 & W=$!; \
         while kill -0 \"$TEST_PID\" 2>/dev/null && kill -0 $W 2>/dev/null; do sleep 1; done; kill -TERM -- -$$"
    );
    // Never waited on: the watcher outlives nothing but this process.
    #[allow(clippy::zombie_processes)]
    Command::new("setsid")
        .args(["bash", "-c", &script])
        .env("WRANGLER", wrangler())
        .env("STATE", state)
        .env("LOG", &log)
        .env("TEST_PID", std::process::id().to_string())
        .env("SKIP_BUILD", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("X_LOCAL_OBSERVABILITY", "false")
        .current_dir(root())
        .stdin(Stdio::null())
        .spawn()
        .expect("wrangler dev starts");
    let start = Instant::now();
    loop {
        let (status, _, _) = curl(&[&format!("{base}/index/config.json")]);
        if status == 401 {
            return base;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("wrangler dev did not come up (last status {status}):\n{text}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn srv() -> &'static Server {
    server()
}

fn alice() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| {
        srv();
        new_token("alice")
    })
}

/// A cargo home configured for the test registry as `local`.
struct Cargo {
    home: PathBuf,
    token: Option<String>,
    toolchain: Option<&'static str>,
}

impl Cargo {
    fn new(name: &str, token: Option<&str>) -> Cargo {
        Self::with_config(name, token, "credential-provider = \"cargo:token\"\n")
    }

    fn with_config(name: &str, token: Option<&str>, extra: &str) -> Cargo {
        Self::for_base(&srv().base, name, token, extra)
    }

    fn for_base(base: &str, name: &str, token: Option<&str>, extra: &str) -> Cargo {
        let home = work().join("homes").join(name);
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(
            home.join("config.toml"),
            format!(
                "[registries.local]\nindex = \"sparse+{}/index/\"\n{extra}\n[net]\nretry = 2\n[term]\ncolor = \"never\"\n",
                base
            ),
        )
        .unwrap();
        Cargo {
            home,
            token: token.map(str::to_string),
            toolchain: None,
        }
    }

    fn cmd(&self, cwd: &Path, args: &[&str]) -> Command {
        let mut c = Command::new("cargo");
        if let Some(t) = self.toolchain {
            c.arg(format!("+{t}"));
        }
        c.args(args)
            .current_dir(cwd)
            .env("CARGO_HOME", &self.home)
            .env("CARGO_TARGET_DIR", work().join("target"))
            .env_remove("CARGO_REGISTRIES_LOCAL_TOKEN")
            .env_remove("RUSTUP_TOOLCHAIN");
        if let Some(t) = &self.token {
            c.env("CARGO_REGISTRIES_LOCAL_TOKEN", t);
        }
        c
    }

    fn run(&self, cwd: &Path, args: &[&str]) -> Output {
        self.cmd(cwd, args).output().expect("cargo runs")
    }

    /// Runs and asserts success; returns stdout + stderr.
    fn ok(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.run(cwd, args);
        let text = both(&out);
        assert!(out.status.success(), "cargo {args:?} failed:\n{text}");
        text
    }

    /// Runs and asserts failure; returns stdout + stderr.
    fn fails(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.run(cwd, args);
        let text = both(&out);
        assert!(!out.status.success(), "cargo {args:?} should fail:\n{text}");
        text
    }
}

fn both(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes a package directory.
fn package(dir: &str, manifest: &str, files: &[(&str, &str)]) -> PathBuf {
    let p = work().join("pkgs").join(dir);
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(p.join("Cargo.toml"), manifest).unwrap();
    for (f, text) in files {
        let path = p.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    p
}

fn lib(name: &str, version: &str, extra: &str, body: &str) -> PathBuf {
    package(
        &format!("{name}-{version}"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\ndescription = \"e2e crate {name}\"\nlicense = \"MIT\"\npublish = [\"local\"]\n{extra}"
        ),
        &[("src/lib.rs", body), ("README.md", "# readme\n")],
    )
}

fn index_line(name: &str, vers: &str) -> serde_json::Value {
    let s = srv();
    let path = edge_registry::protocol::names::index_path(name).unwrap();
    let (status, _, body) = curl(&[
        "-H",
        &format!("Authorization: {}", alice()),
        &format!("{}/index/{path}", s.base),
    ]);
    assert_eq!(status, 200, "index of {name}");
    body.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["vers"] == vers)
        .unwrap_or_else(|| panic!("{name}@{vers} not in index:\n{body}"))
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn login_publish_every_dependency_shape_and_build_a_consumer() {
    let s = srv();
    let c = Cargo::new("shapes", None);
    let tmp = work();
    // cargo login takes the token on stdin.
    let mut login = c.cmd(&tmp, &["login", "--registry", "local"]);
    login
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = login.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", alice()).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "login: {}", both(&out));
    assert!(
        both(&out).contains("Login token for `local` saved"),
        "{}",
        both(&out)
    );

    let base = lib(
        "e2e-base",
        "1.0.0",
        "rust-version = \"1.70\"\nlinks = \"e2ebase\"\nbuild = \"build.rs\"\n[features]\nextra = []\n",
        "pub fn base() -> u32 { 1 }\n",
    );
    std::fs::write(base.join("build.rs"), "fn main() {}\n").unwrap();
    let out = c.ok(&base, &["publish", "--registry", "local", "--allow-dirty"]);
    assert!(
        out.contains("Published e2e-base v1.0.0 at registry `local`"),
        "{out}"
    );
    assert!(!out.contains("timed out"), "{out}");

    let util = lib("e2e-util", "0.2.0", "", "pub fn util() -> u32 { 2 }\n");
    c.ok(&util, &["publish", "--registry", "local", "--allow-dirty"]);
    let extra = lib("e2e-extra", "0.1.0", "[features]\nextra = []\n", "");
    c.ok(&extra, &["publish", "--registry", "local", "--allow-dirty"]);

    let app = lib(
        "e2e-app-lib",
        "0.1.0+build.5",
        r#"
[dependencies]
util = { package = "e2e-util", version = "0.2", registry = "local" }
itoa = { version = "1", optional = true }
e2e-extra = { version = "0.1", registry = "local", optional = true }

[target.'cfg(unix)'.dependencies]
e2e-base = { version = "1", registry = "local" }

[build-dependencies]
e2e-base = { version = "1", registry = "local" }

[dev-dependencies]
e2e-base = { version = "1", registry = "local" }

[features]
fast = ["dep:itoa"]
more = ["e2e-extra?/extra"]
"#,
        "pub fn total() -> u32 { util::util() + e2e_base::base() }\n",
    );
    std::fs::write(
        app.join("build.rs"),
        "fn main() { let _ = e2e_base::base(); }\n",
    )
    .unwrap();
    let out = c.ok(&app, &["publish", "--registry", "local", "--allow-dirty"]);
    assert!(
        out.contains("Published e2e-app-lib v0.1.0+build.5"),
        "{out}"
    );

    let line = index_line("e2e-app-lib", "0.1.0+build.5");
    let deps = line["deps"].as_array().unwrap();
    let find = |n: &str, k: &str| {
        deps.iter()
            .find(|d| d["name"] == n && d["kind"] == k)
            .unwrap_or_else(|| panic!("{n}/{k} in {deps:?}"))
    };
    assert_eq!(find("util", "normal")["package"], "e2e-util");
    assert_eq!(find("util", "normal")["registry"], serde_json::Value::Null);
    assert_eq!(
        find("itoa", "normal")["registry"],
        "https://github.com/rust-lang/crates.io-index"
    );
    assert_eq!(find("itoa", "normal")["optional"], true);
    assert_eq!(find("e2e-base", "normal")["target"], "cfg(unix)");
    assert_eq!(find("e2e-base", "build")["req"], "^1");
    assert_eq!(find("e2e-base", "dev")["kind"], "dev");
    assert_eq!(line["features2"]["fast"], serde_json::json!(["dep:itoa"]));
    assert_eq!(
        line["features2"]["more"],
        serde_json::json!(["e2e-extra?/extra"])
    );
    assert_eq!(line["v"], 2);
    let base_line = index_line("e2e-base", "1.0.0");
    assert_eq!(base_line["rust_version"], "1.70");
    assert_eq!(base_line["links"], "e2ebase");
    let pubtime = base_line["pubtime"].as_str().unwrap();
    assert_eq!(pubtime.len(), 20);
    assert!(pubtime.ends_with('Z'));

    // A consumer resolves, fetches, builds and runs against the registry.
    let consumer = package(
        "consumer",
        "[package]\nname = \"consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\ne2e-app-lib = { version = \"0.1\", registry = \"local\", features = [\"fast\", \"more\"] }\n",
        &[(
            "src/main.rs",
            "fn main() { println!(\"total={}\", e2e_app_lib::total()); }\n",
        )],
    );
    let fresh = Cargo::new("consumer", Some(alice()));
    let out = fresh.ok(&consumer, &["run"]);
    assert!(out.contains("total=3"), "{out}");
    let lock = std::fs::read_to_string(consumer.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains(&format!("sparse+{}/index/", s.base)),
        "{lock}"
    );

    // Publishing an existing version fails with a clear message.
    let out = c.fails(&util, &["publish", "--registry", "local", "--allow-dirty"]);
    assert!(out.contains("e2e-util@0.2.0 already exists"), "{out}");

    // cargo info shows metadata, including rust-version.
    let out = fresh.ok(&consumer, &["info", "e2e-base", "--registry", "local"]);
    assert!(out.contains("rust-version: 1.70"), "{out}");
    assert!(out.contains("license: MIT"), "{out}");
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn workspace_publish_of_interdependent_crates() {
    let c = Cargo::new("workspace", Some(alice()));
    let ws = package(
        "ws",
        "[workspace]\nmembers = [\"a\", \"b\"]\nresolver = \"2\"\n",
        &[
            (
                "a/Cargo.toml",
                "[package]\nname = \"e2e-ws-a\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"a\"\npublish = [\"local\"]\n",
            ),
            ("a/src/lib.rs", "pub fn a() -> u32 { 10 }\n"),
            (
                "b/Cargo.toml",
                "[package]\nname = \"e2e-ws-b\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"b\"\npublish = [\"local\"]\n\n[dependencies]\ne2e-ws-a = { path = \"../a\", version = \"0.1\", registry = \"local\" }\n",
            ),
            ("b/src/lib.rs", "pub fn b() -> u32 { e2e_ws_a::a() + 1 }\n"),
        ],
    );
    let out = c.ok(
        &ws,
        &[
            "publish",
            "--workspace",
            "--registry",
            "local",
            "--allow-dirty",
        ],
    );
    assert!(out.contains("Published e2e-ws-a v0.1.0"), "{out}");
    assert!(out.contains("Published e2e-ws-b v0.1.0"), "{out}");
    assert!(!out.contains("timeout"), "{out}");
    assert_eq!(
        index_line("e2e-ws-b", "0.1.0")["deps"][0]["name"],
        "e2e-ws-a"
    );
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn yank_and_undo_change_resolution() {
    let c = Cargo::new("yank", Some(alice()));
    for v in ["0.3.0", "0.3.1"] {
        c.ok(
            &lib("e2e-yanky", v, "", "pub fn v() {}\n"),
            &["publish", "--registry", "local", "--allow-dirty"],
        );
    }
    let consumer = package(
        "yank-consumer",
        "[package]\nname = \"yank-consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ne2e-yanky = { version = \"0.3\", registry = \"local\" }\n",
        &[("src/main.rs", "fn main() {}\n")],
    );
    let resolved = |c: &Cargo| {
        let _ = std::fs::remove_file(consumer.join("Cargo.lock"));
        c.ok(&consumer, &["generate-lockfile"]);
        let lock = std::fs::read_to_string(consumer.join("Cargo.lock")).unwrap();
        let i = lock.find("name = \"e2e-yanky\"").unwrap();
        lock[i..].lines().nth(1).unwrap().to_string()
    };
    assert_eq!(resolved(&c), "version = \"0.3.1\"");
    let out = c.ok(
        &consumer,
        &[
            "yank",
            "--version",
            "0.3.1",
            "e2e-yanky",
            "--registry",
            "local",
        ],
    );
    assert!(out.contains("Yank e2e-yanky@0.3.1"), "{out}");
    assert_eq!(index_line("e2e-yanky", "0.3.1")["yanked"], true);
    assert_eq!(resolved(&c), "version = \"0.3.0\"");
    c.ok(
        &consumer,
        &[
            "yank",
            "--undo",
            "--version",
            "0.3.1",
            "e2e-yanky",
            "--registry",
            "local",
        ],
    );
    assert_eq!(resolved(&c), "version = \"0.3.1\"");
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn owners_search_and_info() {
    let c = Cargo::new("owners", Some(alice()));
    let _bob = new_token("bob");
    let p = lib("e2e-owned", "1.0.0", "", "pub fn o() {}\n");
    c.ok(&p, &["publish", "--registry", "local", "--allow-dirty"]);
    let out = c.ok(
        &p,
        &["owner", "--add", "bob", "e2e-owned", "--registry", "local"],
    );
    assert!(out.contains("`bob`"), "{out}");
    let out = c.ok(&p, &["owner", "--list", "e2e-owned", "--registry", "local"]);
    assert!(out.contains("alice") && out.contains("bob"), "{out}");
    c.ok(
        &p,
        &[
            "owner",
            "--remove",
            "bob",
            "e2e-owned",
            "--registry",
            "local",
        ],
    );
    let out = c.ok(&p, &["owner", "--list", "e2e-owned", "--registry", "local"]);
    assert!(out.contains("alice") && !out.contains("bob"), "{out}");
    let out = c.fails(
        &p,
        &[
            "owner",
            "--add",
            "nobody-here",
            "e2e-owned",
            "--registry",
            "local",
        ],
    );
    assert!(
        out.contains("could not find a user with login `nobody-here`"),
        "{out}"
    );

    for n in ["e2e-search-one", "e2e-search-two"] {
        c.ok(
            &lib(n, "0.1.0", "", ""),
            &["publish", "--registry", "local", "--allow-dirty"],
        );
    }
    let out = c.ok(&p, &["search", "e2e-search", "--registry", "local"]);
    assert!(
        out.contains("e2e-search-one = \"0.1.0\"") && out.contains("e2e-search-two = \"0.1.0\""),
        "{out}"
    );
    let out = c.ok(
        &p,
        &[
            "search",
            "e2e-search",
            "--registry",
            "local",
            "--limit",
            "1",
        ],
    );
    assert!(out.contains("and 1 crates more"), "{out}");

    // Every query length the API takes works on real D1 (LIKE patterns
    // over 50 bytes failed there), and `_`/`%` match literally.
    let long = format!("e2e-{}", "l".repeat(60));
    c.ok(
        &lib(&long, "0.1.0", "", ""),
        &["publish", "--registry", "local", "--allow-dirty"],
    );
    let out = c.ok(&p, &["search", &long, "--registry", "local"]);
    assert!(out.contains(&format!("{long} = \"0.1.0\"")), "{out}");
    let search = |q: &str, token: &str| {
        let url = format!("{}/api/v1/crates?q={q}&per_page=100", srv().base);
        let (status, _, body) = curl(&["-H", &format!("Authorization: {token}"), &url]);
        assert_eq!(status, 200, "q={q}: {body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    assert_eq!(search(&"_".repeat(25), alice())["meta"]["total"], 0);
    assert_eq!(search(&"%25".repeat(60), alice())["meta"]["total"], 0);
    assert_eq!(search(&"q".repeat(200), alice())["meta"]["total"], 0);
    // A token limited to one crate neither lists nor counts the others.
    let narrow = admin(&[
        "token",
        "create",
        "alice",
        "--name",
        "narrow",
        "--scopes",
        "read",
        "--crates",
        "e2e-owned",
    ])
    .lines()
    .last()
    .unwrap()
    .trim()
    .to_string();
    assert_eq!(
        search("e2e-search", &narrow),
        serde_json::json!({"crates": [], "meta": {"total": 0}})
    );
    assert_eq!(search("e2e-owned", &narrow)["meta"]["total"], 1);
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn auth_failures_missing_crates_and_revalidation() {
    let s = srv();
    let consumer = package(
        "auth-consumer",
        "[package]\nname = \"auth-consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ndoes-not-exist-here = { version = \"1\", registry = \"local\" }\n",
        &[("src/main.rs", "fn main() {}\n")],
    );
    // No credential provider configured: cargo's own message.
    let c = Cargo::with_config("noprovider", Some(alice()), "");
    let out = c.fails(&consumer, &["generate-lockfile"]);
    assert!(
        out.contains("authenticated registries require a credential-provider"),
        "{out}"
    );
    // No token at all.
    let out = Cargo::new("notoken", None).fails(&consumer, &["generate-lockfile"]);
    assert!(out.contains("no token found for `local`"), "{out}");
    // A wrong token.
    let out = Cargo::new(
        "badtoken",
        Some("cfreg_0000000000000000000000000000000000000000"),
    )
    .fails(&consumer, &["generate-lockfile"]);
    assert!(out.contains("token rejected for `local`"), "{out}");
    // A good token and a crate that does not exist.
    let out = Cargo::new("missing", Some(alice())).fails(&consumer, &["generate-lockfile"]);
    assert!(
        out.contains("no matching package named `does-not-exist-here` found"),
        "{out}"
    );

    // The raw protocol: 401 challenge, 404, strong ETag and 304.
    let (status, head, _) = curl(&[&format!("{}/index/config.json", s.base)]);
    assert_eq!(status, 401);
    assert!(
        head.to_lowercase().contains(&format!(
            "www-authenticate: cargo login_url=\"{}/me\"",
            s.base
        )),
        "{head}"
    );
    let auth = format!("Authorization: {}", alice());
    let (status, _, body) = curl(&[
        "-H",
        &auth,
        &format!("{}/index/do/es/does-not-exist-here", s.base),
    ]);
    assert_eq!(status, 404, "{body}");
    Cargo::new("etag-publisher", Some(alice())).ok(
        &lib("e2e-etag", "1.0.0", "", ""),
        &["publish", "--registry", "local", "--allow-dirty"],
    );
    let url = format!("{}/index/e2/e-/e2e-etag", s.base);
    let (status, head, _) = curl(&["-H", &auth, &url]);
    assert_eq!(status, 200);
    let etag = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("etag: ")
                .or_else(|| l.strip_prefix("ETag: "))
        })
        .unwrap_or_else(|| panic!("no etag in {head}"))
        .trim()
        .to_string();
    let (status, head304, body) =
        curl(&["-H", &auth, "-H", &format!("If-None-Match: {etag}"), &url]);
    assert_eq!(status, 304);
    assert!(body.is_empty());
    // The security headers (copied from a template made once per isolate)
    // are on index answers exactly once, with their values.
    for h in [&head, &head304] {
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
        ] {
            let found: Vec<&str> = h
                .lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .collect();
            assert_eq!(found, [value], "{name} in {h}");
        }
        assert!(
            h.to_ascii_lowercase()
                .contains("content-security-policy: default-src 'self'"),
            "{h}"
        );
    }
    let (status, _, _) = curl(&["-H", &format!("Authorization: Bearer {}", alice()), &url]);
    assert_eq!(status, 200, "Bearer tokens work");

    // cargo itself revalidates: a second update gets 304s.
    let dep_consumer = package(
        "etag-consumer",
        "[package]\nname = \"etag-consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ne2e-etag = { version = \"1\", registry = \"local\" }\n",
        &[("src/main.rs", "fn main() {}\n")],
    );
    let c = Cargo::new("etag", Some(alice()));
    c.ok(&dep_consumer, &["generate-lockfile"]);
    let out = c
        .cmd(&dep_consumer, &["update"])
        .env("CARGO_LOG", "network=debug")
        .env("CARGO_HTTP_DEBUG", "true")
        .output()
        .unwrap();
    let text = both(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("304"),
        "no 304 in cargo's network log:\n{text}"
    );
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn nightly_with_the_old_registry_auth_flag_still_works() {
    let mut c = Cargo::with_config(
        "nightly",
        Some(alice()),
        "credential-provider = \"cargo:token\"\n\n[unstable]\nregistry-auth = true\n",
    );
    c.toolchain = Some("nightly");
    let p = lib("e2e-nightly", "0.1.0", "", "pub fn n() -> u32 { 7 }\n");
    let out = c.ok(
        &p,
        &[
            "-Z",
            "registry-auth",
            "publish",
            "--registry",
            "local",
            "--allow-dirty",
        ],
    );
    assert!(out.contains("Published e2e-nightly v0.1.0"), "{out}");
    let consumer = package(
        "nightly-consumer",
        "[package]\nname = \"nightly-consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ne2e-nightly = { version = \"0.1\", registry = \"local\" }\n",
        &[(
            "src/main.rs",
            "fn main() { println!(\"n={}\", e2e_nightly::n()); }\n",
        )],
    );
    let out = c.ok(&consumer, &["-Z", "registry-auth", "run"]);
    assert!(out.contains("n=7"), "{out}");
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn dev_script_prints_the_index_url_and_stops_on_sigterm() {
    // Two wrangler dev processes starting at the same moment can race for
    // the same internal port: let the shared server finish starting first.
    srv();
    let port = free_port();
    let state = work().join("dev-state");
    let log = work().join("dev.log");
    std::fs::create_dir_all(work()).unwrap();
    let mut child = Command::new(root().join("scripts/dev"))
        .env("PORT", port.to_string())
        .env("STATE_DIR", &state)
        // The optimised build scripts/test made: no rebuild under the other tests.
        .env("BUILD_FLAGS", "")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(work().join("dev.err")).unwrap())
        .spawn()
        .expect("scripts/dev starts");
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while curl(&[&format!("{base}/index/config.json")]).0 != 401 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "scripts/dev did not come up"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "scripts/dev exited early"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let printed = std::fs::read_to_string(work().join("dev.err")).unwrap()
        + &std::fs::read_to_string(&log).unwrap();
    assert!(
        printed.contains(&format!("sparse+{base}/index/")),
        "{printed}"
    );
    assert!(printed.contains("scripts/admin token create"), "{printed}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "scripts/dev exit status {status:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "scripts/dev ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "wrangler still listening after SIGTERM"
    );
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn verify_reports_kv_drift_and_the_cron_and_reindex_repair_it() {
    let s = srv();
    let c = Cargo::new("drift", Some(alice()));
    for n in ["e2e-drift-a", "e2e-drift-b", "e2e-drift-c"] {
        c.ok(
            &lib(n, "1.0.0", "", ""),
            &["publish", "--registry", "local", "--allow-dirty"],
        );
    }
    let good: Vec<serde_json::Value> = ["e2e-drift-a", "e2e-drift-b", "e2e-drift-c"]
        .iter()
        .map(|n| index_line(n, "1.0.0"))
        .collect();
    // `wrangler kv key` opens the local KV store beside the running
    // registry (and the other tests' D1 commands); it sometimes answers
    // "500 Internal Server Error" while the store is busy. That is the
    // test's own tool, not the registry, so such a failure is retried.
    let kv = |args: &[&str]| {
        for attempt in 1.. {
            let st = Command::new(wrangler())
                .args(["kv", "key"])
                .args(args)
                .args(["--binding", "INDEX", "--local", "--persist-to"])
                .arg(&s.state)
                .current_dir(root())
                .output()
                .unwrap();
            if st.status.success() {
                return;
            }
            let busy = both(&st).contains("500 Internal Server Error");
            assert!(busy && attempt < 5, "{}", both(&st));
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    };
    let auth = format!("Authorization: {}", alice());
    let get = |path: &str| curl(&["-H", &auth, &format!("{}/index/{path}", s.base)]);
    let verify = |deep: bool| {
        let mut a = vec!["verify"];
        if deep {
            a.push("--deep");
        }
        Command::new(root().join("scripts/admin"))
            .args(&a)
            .env("STATE_DIR", &s.state)
            .output()
            .unwrap()
    };
    // Damage, as an operator editing KV by hand could: a file rewritten
    // without the registry's metadata, one with forged bytes under
    // plausible metadata (the Worker would serve it), one deleted, and an
    // orphan file for a crate that does not exist (also served).
    let damage = || {
        kv(&["put", "e2/e-/e2e-drift-a", "{\"garbage\":true}\n"]);
        kv(&[
            "put",
            "e2/e-/e2e-drift-c",
            "{\"name\":\"e2e-drift-c\",\"vers\":\"6.6.6\"}\n",
            "--metadata",
            r#"{"etag":"\"forged\"","rev":1}"#,
        ]);
        kv(&["delete", "e2/e-/e2e-drift-b"]);
        kv(&[
            "put",
            "e2/e-/e2e-drift-ghost",
            "{\"name\":\"e2e-drift-ghost\",\"vers\":\"1.0.0\"}\n",
            "--metadata",
            r#"{"etag":"\"ghost\"","rev":1}"#,
        ]);
        let (st, _, body) = get("e2/e-/e2e-drift-c");
        assert_eq!(
            (st, body.contains("6.6.6")),
            (200, true),
            "forged file served"
        );
        assert_eq!(get("e2/e-/e2e-drift-ghost").0, 200, "orphan served");
    };
    let all_good = || {
        for (n, g) in ["e2e-drift-a", "e2e-drift-b", "e2e-drift-c"]
            .iter()
            .zip(&good)
        {
            assert_eq!(&index_line(n, "1.0.0"), g, "{n}");
            let (_, _, body) = get(&format!("e2/e-/{n}"));
            assert_eq!(body.lines().count(), 1, "{n}: {body}");
        }
        assert_eq!(get("e2/e-/e2e-drift-ghost").0, 404, "orphan gone");
    };

    damage();
    let out = verify(true);
    let text = both(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify reports drift with a failing status:\n{text}"
    );
    for (n, why) in [
        ("e2e-drift-a", "no ETag metadata"),
        ("e2e-drift-b", "missing"),
        ("e2e-drift-c", "stale"),
    ] {
        assert!(
            text.contains(&format!("DRIFT `{n}`")) && text.contains(why),
            "{n}: {text}"
        );
    }
    assert!(text.contains("e2e-drift-ghost"), "orphan reported: {text}");
    // verify changes nothing: a second run finds the same drift (other
    // tests publish meanwhile, so only the drift lines are compared).
    let drift_lines = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("DRIFT"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(drift_lines(&both(&verify(true))), drift_lines(&text));

    // The cron trigger repairs all of it (wrangler dev --test-scheduled)
    // within its bound: each run sweeps 100 crates, and other tests share
    // this registry, so run it as often as the crate count requires.
    let crates: usize = text
        .split_whitespace()
        .zip(text.split_whitespace().skip(1))
        .find(|(_, w)| *w == "crates")
        .and_then(|(n, _)| n.parse().ok())
        .expect("verify prints how many crates it checked");
    for _ in 0..crates / edge_registry::service::repair::SWEEP_BATCH + 3 {
        let (st, _, body) = curl(&[&format!("{}/__scheduled?cron=*/10+*+*+*+*", s.base)]);
        assert_eq!(st, 200, "{body}");
    }
    // Verify before reading: reads repair missing files themselves.
    let out = verify(true);
    assert!(out.status.success(), "after the cron:\n{}", both(&out));
    assert!(both(&out).contains("0 drifted"));
    all_good();

    // The same damage again; this time `scripts/admin reindex` repairs the
    // crates' files (orphans are the cron's job).
    damage();
    admin(&["reindex"]);
    for (n, g) in ["e2e-drift-a", "e2e-drift-b", "e2e-drift-c"]
        .iter()
        .zip(&good)
    {
        assert_eq!(&index_line(n, "1.0.0"), g, "{n}");
    }
    let out = verify(true);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(both(&out).contains("e2e-drift-ghost"), "{}", both(&out));
    kv(&["delete", "e2/e-/e2e-drift-ghost"]);
    let out = verify(true);
    assert!(out.status.success(), "after reindex:\n{}", both(&out));
    assert!(both(&out).contains("0 drifted"));
    all_good();
}

/// A publish body (no cargo involved) for concurrency tests; `salt` makes
/// the bytes differ.
fn raw_publish_body(name: &str, vers: &str, salt: &str) -> Vec<u8> {
    common::CrateSpec::new(name, vers)
        .file("salt.txt", salt.as_bytes())
        .body()
}

/// PUTs publish bodies all at once (one curl process each); returns
/// (status, body) per request.
fn publish_in_parallel(bodies: Vec<Vec<u8>>) -> Vec<(u16, String)> {
    let reqs = bodies
        .into_iter()
        .map(|b| {
            (
                "PUT",
                "/api/v1/crates/new".to_string(),
                alice().to_string(),
                b,
            )
        })
        .collect();
    in_parallel(reqs)
}

/// Sends (method, path, token, body) requests all at once, one curl
/// process each; returns (status, body) per request, in order.
fn in_parallel(reqs: Vec<(&'static str, String, String, Vec<u8>)>) -> Vec<(u16, String)> {
    let s = srv();
    let dir = work().join("parallel");
    std::fs::create_dir_all(&dir).unwrap();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let handles: Vec<_> = reqs
        .into_iter()
        .map(|(method, path, token, b)| {
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let f = dir.join(format!("{n}.body"));
            std::fs::write(&f, b).unwrap();
            let url = format!("{}{path}", s.base);
            let auth = format!("Authorization: {token}");
            std::thread::spawn(move || {
                let (status, _, body) = curl(&[
                    "-X",
                    method,
                    "-H",
                    &auth,
                    "--data-binary",
                    &format!("@{}", f.display()),
                    &url,
                ]);
                (status, body)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn parallel_yanks_and_owner_changes_converge_on_real_d1() {
    let s = srv();
    let (a, bob) = (alice().to_string(), new_token("bob"));
    for v in ["1.0.0", "1.0.1", "1.0.2", "1.0.3"] {
        let r = publish_in_parallel(vec![raw_publish_body("e2e-churn", v, v)]);
        assert_eq!(r[0].0, 200, "{:?}", r[0]);
    }
    let yank = |v: &str| ("DELETE", format!("/api/v1/crates/e2e-churn/{v}/yank"));
    let unyank = |v: &str| ("PUT", format!("/api/v1/crates/e2e-churn/{v}/unyank"));
    // 1.0.1 starts yanked.
    let (m, p) = yank("1.0.1");
    assert_eq!(in_parallel(vec![(m, p, a.clone(), vec![])])[0].0, 200);
    let owners_json = |users: &[&str]| {
        serde_json::json!({ "users": users })
            .to_string()
            .into_bytes()
    };
    let owners_path = "/api/v1/crates/e2e-churn/owners".to_string();
    // dave starts as an owner; carol does not exist until now.
    new_token("carol");
    new_token("dave");
    let r = in_parallel(vec![(
        "PUT",
        owners_path.clone(),
        a.clone(),
        owners_json(&["dave"]),
    )]);
    assert_eq!(r[0].0, 200, "{:?}", r[0]);

    // All at once: five yanks of 1.0.0, five unyanks of 1.0.1, ten toggles
    // of 1.0.2, five adds of bob and of carol, five removals of dave.
    let mut reqs = Vec::new();
    for i in 0..5 {
        let (m, p) = yank("1.0.0");
        reqs.push((m, p, a.clone(), vec![]));
        let (m, p) = unyank("1.0.1");
        reqs.push((m, p, a.clone(), vec![]));
        let (m, p) = if i % 2 == 0 {
            yank("1.0.2")
        } else {
            unyank("1.0.2")
        };
        reqs.push((m, p, a.clone(), vec![]));
        let (m, p) = if i % 2 == 0 {
            unyank("1.0.2")
        } else {
            yank("1.0.2")
        };
        reqs.push((m, p, a.clone(), vec![]));
        reqs.push(("PUT", owners_path.clone(), a.clone(), owners_json(&["bob"])));
        reqs.push((
            "PUT",
            owners_path.clone(),
            a.clone(),
            owners_json(&["carol"]),
        ));
        reqs.push((
            "DELETE",
            owners_path.clone(),
            a.clone(),
            owners_json(&["dave"]),
        ));
    }
    let results = in_parallel(reqs);
    for (st, body) in &results {
        assert_eq!(
            *st, 200,
            "every request succeeds (they are idempotent): {body}"
        );
    }
    // The index (served) agrees with the database: the deterministic
    // outcomes are there, and verify --deep finds no drift for it.
    let lines: Vec<serde_json::Value> = ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
        .iter()
        .map(|v| index_line("e2e-churn", v))
        .collect();
    assert_eq!(lines[0]["yanked"], true);
    assert_eq!(lines[1]["yanked"], false);
    assert_eq!(lines[3]["yanked"], false);
    let out = Command::new(root().join("scripts/admin"))
        .args(["verify", "--deep"])
        .env("STATE_DIR", &s.state)
        .output()
        .unwrap();
    assert!(
        !both(&out).contains("`e2e-churn`"),
        "the churned crate's index converged:\n{}",
        both(&out)
    );
    // One more toggle of 1.0.2 lands where expected: the state is coherent.
    let was = lines[2]["yanked"].as_bool().unwrap();
    let (m, p) = if was { unyank("1.0.2") } else { yank("1.0.2") };
    assert_eq!(in_parallel(vec![(m, p, a.clone(), vec![])])[0].0, 200);
    assert_eq!(index_line("e2e-churn", "1.0.2")["yanked"], !was);

    let owners = || -> Vec<String> {
        let (st, _, body) = curl(&[
            "-H",
            &format!("Authorization: {a}"),
            &format!("{}{owners_path}", s.base),
        ]);
        assert_eq!(st, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut l: Vec<String> = v["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["login"].as_str().unwrap().to_string())
            .collect();
        l.sort();
        l
    };
    assert_eq!(owners(), ["alice", "bob", "carol"]);

    // Two owners removing each other at once: one wins, the crate is never
    // left without an owner, and the loser is told why.
    let r = in_parallel(vec![(
        "DELETE",
        owners_path.clone(),
        a.clone(),
        owners_json(&["carol"]),
    )]);
    assert_eq!(r[0].0, 200);
    let results = in_parallel(vec![
        (
            "DELETE",
            owners_path.clone(),
            a.clone(),
            owners_json(&["bob"]),
        ),
        (
            "DELETE",
            owners_path.clone(),
            bob.clone(),
            owners_json(&["alice"]),
        ),
    ]);
    let left = owners();
    assert_eq!(left.len(), 1, "{left:?} after {results:?}");
    let ok = results.iter().filter(|(st, _)| *st == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    for (st, body) in results.iter().filter(|(st, _)| *st != 200) {
        assert!(
            (*st == 400 && body.contains("cannot remove every owner"))
                || (*st == 403 && body.contains("not an owner")),
            "{st} {body}"
        );
    }
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn concurrent_publishes_on_real_d1_lose_nothing_and_one_duplicate_wins() {
    let s = srv();
    let first = publish_in_parallel(vec![raw_publish_body("e2e-busy", "0.0.1", "seed")]);
    assert_eq!(first[0].0, 200, "{:?}", first[0]);
    let bodies: Vec<Vec<u8>> = (1..=20)
        .map(|i| raw_publish_body("e2e-busy", &format!("1.0.{i}"), "x"))
        .collect();
    let expected: Vec<(String, String)> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let jl = u32::from_le_bytes(b[0..4].try_into().unwrap()) as usize;
            (
                format!("1.0.{}", i + 1),
                edge_registry::protocol::index::sha256_hex(&b[8 + jl..]),
            )
        })
        .collect();
    for (status, body) in publish_in_parallel(bodies) {
        assert_eq!(status, 200, "{body}");
    }
    let auth = format!("Authorization: {}", alice());
    let (_, _, index) = curl(&["-H", &auth, &format!("{}/index/e2/e-/e2e-busy", s.base)]);
    let lines: Vec<serde_json::Value> = index
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        21,
        "every acknowledged publish is in the index:\n{index}"
    );
    for (vers, cksum) in &expected {
        let line = lines
            .iter()
            .find(|l| l["vers"] == vers.as_str())
            .unwrap_or_else(|| panic!("{vers} missing"));
        assert_eq!(line["cksum"], cksum.as_str());
        let out = Command::new("curl")
            .args([
                "-s",
                "-H",
                &auth,
                &format!("{}/dl/e2e-busy/{vers}/{cksum}", s.base),
            ])
            .output()
            .unwrap();
        assert_eq!(
            edge_registry::protocol::index::sha256_hex(&out.stdout),
            *cksum,
            "download of {vers} is byte-identical"
        );
    }
    // Ten publishes of one version with different bytes: exactly one wins.
    let same: Vec<Vec<u8>> = (0..10)
        .map(|i| raw_publish_body("e2e-busy", "2.0.0", &format!("variant {i}")))
        .collect();
    let results = publish_in_parallel(same);
    let wins = results.iter().filter(|(st, _)| *st == 200).count();
    assert_eq!(wins, 1, "{results:?}");
    for (st, body) in results.iter().filter(|(st, _)| *st != 200) {
        assert_eq!(*st, 400, "{body}");
        assert!(body.contains("already uploaded"), "{body}");
    }
    let (_, _, index) = curl(&["-H", &auth, &format!("{}/index/e2/e-/e2e-busy", s.base)]);
    assert_eq!(index.lines().count(), 22);
    assert_eq!(
        index
            .lines()
            .filter(|l| l.contains("\"vers\":\"2.0.0\""))
            .count(),
        1
    );
}

/// Runs `scripts/admin` against `state`: (success, stdout + stderr, stdout).
fn admin_at(state: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(root().join("scripts/admin"))
        .args(args)
        .env("STATE_DIR", state)
        .output()
        .unwrap();
    (
        out.status.success(),
        both(&out),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A registry with two crates (one yanked version, a same-registry
/// dependency, READMEs) and its backup, made once for the backup tests.
struct BackedUp {
    src: String,
    token: String,
    archive: PathBuf,
}

fn backed_up() -> &'static BackedUp {
    static B: OnceLock<BackedUp> = OnceLock::new();
    B.get_or_init(|| {
        // Its own registry, so no other test changes it between backup and
        // comparison.
        srv();
        let src_state = work().join("backup-src");
        let src = spawn_registry(&src_state);
        let (ok, log, out) = admin_at(&src_state, &["token", "create", "carol"]);
        assert!(ok, "{log}");
        let token = out.lines().last().unwrap().trim().to_string();
        let c = Cargo::for_base(
            &src,
            "backup",
            Some(&token),
            "credential-provider = \"cargo:token\"\n",
        );
        c.ok(
            &lib("e2e-backed", "1.0.0", "", ""),
            &["publish", "--registry", "local", "--allow-dirty"],
        );
        c.ok(
            &lib("e2e-backed", "1.1.0", "", ""),
            &["publish", "--registry", "local", "--allow-dirty"],
        );
        c.ok(
            &lib(
                "e2e-backed-dep",
                "0.1.0",
                "[dependencies]\ne2e-backed = { version = \"1\", registry = \"local\" }\n",
                "",
            ),
            &["publish", "--registry", "local", "--allow-dirty"],
        );
        c.ok(
            &work().join("pkgs"),
            &[
                "yank",
                "--version",
                "1.0.0",
                "e2e-backed",
                "--registry",
                "local",
            ],
        );
        let archive = work().join("backup.tar.gz");
        let (ok, log, _) = admin_at(&src_state, &["backup", archive.to_str().unwrap()]);
        assert!(ok, "{log}");
        BackedUp {
            src,
            token,
            archive,
        }
    })
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn backup_and_restore_round_trip() {
    let BackedUp {
        src,
        token,
        archive,
    } = backed_up();
    let src = src.as_str();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(archive).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the backup holds password hashes");
    }
    let state = work().join("restored-state");
    std::fs::create_dir_all(&state).unwrap();
    let (ok, log, _) = admin_at(&state, &["restore", archive.to_str().unwrap()]);
    assert!(ok, "{log}");
    let (ok, log, _) = admin_at(&state, &["restore", archive.to_str().unwrap()]);
    assert!(!ok && log.contains("not empty"), "{log}");
    let restored = spawn_registry(&state);

    // The same token works; index files and blobs are identical.
    let auth = format!("Authorization: {token}");
    let mut compared = 0;
    for name in ["e2e-backed", "e2e-backed-dep"] {
        let path = edge_registry::protocol::names::index_path(name).unwrap();
        let (st_a, _, a) = curl(&["-H", &auth, &format!("{src}/index/{path}")]);
        let (st_b, _, b) = curl(&["-H", &auth, &format!("{restored}/index/{path}")]);
        assert_eq!((st_a, st_b), (200, 200), "{name}");
        assert_eq!(a, b, "index file of {name} differs after restore");
        for line in b.lines() {
            let l: serde_json::Value = serde_json::from_str(line).unwrap();
            let (vers, ck) = (l["vers"].as_str().unwrap(), l["cksum"].as_str().unwrap());
            let dl = Command::new("curl")
                .args([
                    "-s",
                    "-H",
                    &auth,
                    &format!("{restored}/dl/{name}/{vers}/{ck}"),
                ])
                .output()
                .unwrap();
            assert_eq!(
                edge_registry::protocol::index::sha256_hex(&dl.stdout),
                ck,
                "blob of {name}@{vers}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 3);
    let owners = Command::new("curl")
        .args([
            "-s",
            "-H",
            &auth,
            &format!("{restored}/api/v1/crates/e2e-backed/owners"),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&owners.stdout).contains("carol"));
}

/// Every table of the registry at `state`, read with wrangler (no server
/// needed): what "nothing changed" is checked against.
fn d1_dump(state: &Path) -> serde_json::Value {
    let tables = [
        "users",
        "tokens",
        "sessions",
        "user_links",
        "crates",
        "versions",
        "owners",
        "dependencies",
        "audit",
    ];
    let sql = tables
        .iter()
        .map(|t| format!("SELECT * FROM {t} ORDER BY rowid"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = Command::new(wrangler())
        .args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
        .arg(state)
        .args(["--command", &sql])
        .current_dir(root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut dump = serde_json::Map::new();
    for (t, r) in tables.iter().zip(v.as_array().unwrap()) {
        dump.insert(t.to_string(), r["results"].clone());
    }
    serde_json::Value::Object(dump)
}

/// Whether R2 at `state` holds `crates/<cksum>.crate`; its bytes.
fn r2_blob(state: &Path, cksum: &str) -> Option<Vec<u8>> {
    let out = Command::new(wrangler())
        .args(["r2", "object", "get"])
        .arg(format!("edge-registry-crates/crates/{cksum}.crate"))
        .args(["--local", "--pipe", "--persist-to"])
        .arg(state)
        .current_dir(root())
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    out.status.success().then_some(out.stdout)
}

/// One member of a backup archive: path, kind, bytes.
type MemberBytes = (String, tar::EntryType, Vec<u8>);

/// The members of a backup archive.
fn archive_members(path: &Path) -> Vec<MemberBytes> {
    use std::io::Read;
    let f = std::fs::File::open(path).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let p = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let kind = e.header().entry_type();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (p, kind, data)
        })
        .collect()
}

/// Writes an archive of raw members (a symlink's data is its target), with
/// the names exactly as given.
fn write_archive(path: &Path, members: &[MemberBytes]) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut b = tar::Builder::new(gz);
    for (p, kind, data) in members {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..p.len()].copy_from_slice(p.as_bytes());
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        if *kind == tar::EntryType::Symlink {
            h.set_link_name(std::str::from_utf8(data).unwrap()).unwrap();
            h.set_size(0);
            h.set_cksum();
            b.append(&h, std::io::empty()).unwrap();
        } else {
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, data.as_slice()).unwrap();
        }
    }
    b.into_inner().unwrap().finish().unwrap();
}

/// The archive's database.json, changed by `edit`, with the same blobs.
fn with_database(
    members: &[MemberBytes],
    edit: impl Fn(&mut serde_json::Value),
) -> Vec<MemberBytes> {
    members
        .iter()
        .map(|(p, k, d)| {
            if p.ends_with("database.json") {
                let mut db: serde_json::Value = serde_json::from_slice(d).unwrap();
                edit(&mut db);
                (p.clone(), *k, serde_json::to_vec(&db).unwrap())
            } else {
                (p.clone(), *k, d.clone())
            }
        })
        .collect()
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn backup_restore_refuses_hostile_archives_and_changes_nothing() {
    let b = backed_up();
    let members = archive_members(&b.archive);
    let db_of = |m: &[MemberBytes]| -> serde_json::Value {
        let (_, _, d) = m
            .iter()
            .find(|(p, _, _)| p.ends_with("database.json"))
            .unwrap();
        serde_json::from_slice(d).unwrap()
    };
    let original = db_of(&members);
    let (blob_path, cksum) = members
        .iter()
        .find_map(|(p, _, _)| {
            let ck = p.strip_prefix("blobs/")?.strip_suffix(".crate")?;
            Some((p.clone(), ck.to_string()))
        })
        .expect("a blob in the backup");

    // One registry restored from the good backup (the target of --force),
    // and one left empty.
    let full = work().join("hostile-full");
    std::fs::create_dir_all(&full).unwrap();
    let (ok, log, _) = admin_at(&full, &["restore", b.archive.to_str().unwrap()]);
    assert!(ok, "{log}");
    let empty = work().join("hostile-empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (ok, log, _) = admin_at(&empty, &["verify"]);
    assert!(ok, "{log}");
    let full_before = d1_dump(&full);
    let empty_before = d1_dump(&empty);
    assert!(full_before["audit"].as_array().unwrap().len() >= 3);

    let secret = work().join("secret-file");
    std::fs::write(&secret, b"TOP SECRET local file").unwrap();
    let forged: Vec<u8> = {
        let (_, _, d) = members.iter().find(|(p, _, _)| *p == blob_path).unwrap();
        d.iter().map(|b| b ^ 0x5a).collect()
    };
    let forged_hash = edge_registry::protocol::index::sha256_hex(&forged);
    let injected = "is_admin) VALUES (1, 'x', 1, 0, 0); UPDATE users SET is_admin = 1; --";
    let cases: Vec<(&str, Vec<MemberBytes>, String)> = vec![
        (
            "symlinked blob",
            members
                .iter()
                .map(|(p, k, d)| {
                    if *p == blob_path {
                        (
                            p.clone(),
                            tar::EntryType::Symlink,
                            secret.to_str().unwrap().as_bytes().to_vec(),
                        )
                    } else {
                        (p.clone(), *k, d.clone())
                    }
                })
                .collect(),
            format!(
                "the archive entry `{blob_path}` is a symbolic link; a backup holds only regular files and directories"
            ),
        ),
        (
            "injected column",
            with_database(&members, |db| {
                db["users"][0]
                    .as_object_mut()
                    .unwrap()
                    .insert(injected.into(), 1.into());
            }),
            format!("table `users` row 1 has an unknown column `{injected}`"),
        ),
        (
            "blob with the wrong bytes",
            members
                .iter()
                .map(|(p, k, d)| {
                    if *p == blob_path {
                        (p.clone(), *k, forged.clone())
                    } else {
                        (p.clone(), *k, d.clone())
                    }
                })
                .collect(),
            format!("blob {cksum} does not match its checksum (its bytes hash to {forged_hash})"),
        ),
        (
            "dangling reference",
            with_database(&members, |db| {
                db["owners"][0]["user_id"] = 999.into();
            }),
            "table `owners` row 1: user_id 999 is not a user in the backup".to_string(),
        ),
    ];
    for (what, archive, problem) in cases {
        let file = work().join(format!("hostile-{}.tar.gz", what.replace(' ', "-")));
        write_archive(&file, &archive);
        let expected = format!("error: refusing to restore: {problem}; nothing was changed");
        for (state, args, before) in [
            (
                &empty,
                vec!["restore", file.to_str().unwrap()],
                &empty_before,
            ),
            (
                &full,
                vec!["restore", file.to_str().unwrap(), "--force"],
                &full_before,
            ),
        ] {
            let (ok, log, out) = admin_at(state, &args);
            assert!(!ok, "{what}: accepted:\n{log}");
            assert!(
                log.lines().any(|l| l == expected),
                "{what}: expected `{expected}` in:\n{log}"
            );
            assert!(!out.contains("restored"), "{what}: {out}");
            assert_eq!(&d1_dump(state), before, "{what}: the database changed");
        }
        // Nothing reached R2 either: not the planted local file, not the
        // blob, not the forged bytes.
        assert_eq!(r2_blob(&empty, &cksum), None, "{what}: R2 was written");
        assert_eq!(r2_blob(&empty, &forged_hash), None, "{what}");
    }
    assert_eq!(
        r2_blob(&full, &cksum).map(|b| edge_registry::protocol::index::sha256_hex(&b)),
        Some(cksum.clone()),
        "the restored blob is the real one"
    );

    // A hostile readme_html is never stored: it is rendered again from the
    // README text, with the publish renderer.
    let readme_md = "# Hello\n\n<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">\n\n[docs](docs/x.md)\n";
    let hostile = with_database(&members, |db| {
        for v in db["versions"].as_array_mut().unwrap() {
            v["readme_html"] =
                "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">".into();
        }
        db["versions"][0]["readme"] = readme_md.into();
    });
    let file = work().join("hostile-readme.tar.gz");
    write_archive(&file, &hostile);
    let fresh = work().join("hostile-readme-state");
    std::fs::create_dir_all(&fresh).unwrap();
    let (ok, log, _) = admin_at(&fresh, &["restore", file.to_str().unwrap()]);
    assert!(ok, "{log}");
    let restored = d1_dump(&fresh);
    let versions = restored["versions"].as_array().unwrap();
    assert_eq!(
        versions.len(),
        original["versions"].as_array().unwrap().len()
    );
    for v in versions {
        let html = v["readme_html"].as_str().unwrap_or("");
        assert!(
            !html.contains("http-equiv") && !html.contains("evil.example"),
            "{html}"
        );
        let expected = v["readme"]
            .as_str()
            .filter(|r| !r.trim().is_empty())
            .map(|r| edge_registry::protocol::readme::render(r, v["repository"].as_str()));
        assert_eq!(v["readme_html"].as_str(), expected.as_deref());
    }
    assert!(
        versions[0]["readme_html"]
            .as_str()
            .unwrap()
            .contains("<h1>Hello</h1>")
    );

    // --force merges new rows and keeps the audit log: the registry's rows
    // stay as they were (same ids), the backup's are appended after them,
    // and the restore itself is recorded.
    let disjoint = vec![
        ("./".to_string(), tar::EntryType::Directory, vec![]),
        (
            "./database.json".to_string(),
            tar::EntryType::Regular,
            serde_json::to_vec(&serde_json::json!({
                "users": [{"id": 500, "login": "erin", "name": null, "is_admin": 0, "disabled": 0,
                           "created_at": 5, "password_hash": null}],
                "tokens": [], "crates": [], "versions": [], "owners": [], "dependencies": [],
                "audit": [{"id": 1, "at": 5, "actor": 500, "action": "owner-add",
                           "crate_id": null, "detail": "restored history"}]
            }))
            .unwrap(),
        ),
        ("./blobs/".to_string(), tar::EntryType::Directory, vec![]),
    ];
    let file = work().join("disjoint.tar.gz");
    write_archive(&file, &disjoint);
    let (ok, log, _) = admin_at(&full, &["restore", file.to_str().unwrap()]);
    assert!(!ok && log.contains("not empty"), "{log}");
    assert_eq!(d1_dump(&full), full_before);
    let (ok, log, _) = admin_at(&full, &["restore", file.to_str().unwrap(), "--force"]);
    assert!(ok, "{log}");
    let after = d1_dump(&full);
    let old = full_before["audit"].as_array().unwrap();
    let new = after["audit"].as_array().unwrap();
    assert_eq!(
        &new[..old.len()],
        old.as_slice(),
        "existing audit rows kept"
    );
    assert_eq!(new.len(), old.len() + 2, "{new:?}");
    let max_old = old.iter().map(|r| r["id"].as_i64().unwrap()).max().unwrap();
    let appended = &new[old.len()];
    assert!(appended["id"].as_i64().unwrap() > max_old);
    assert_eq!(
        (
            &appended["at"],
            &appended["actor"],
            &appended["action"],
            &appended["detail"]
        ),
        (
            &serde_json::json!(5),
            &serde_json::json!(500),
            &serde_json::json!("owner-add"),
            &serde_json::json!("restored history")
        )
    );
    assert_eq!(new[old.len() + 1]["action"], "restore");
    assert_eq!(
        after["users"].as_array().unwrap().len(),
        full_before["users"].as_array().unwrap().len() + 1
    );
    for t in ["tokens", "crates", "versions", "owners", "dependencies"] {
        assert_eq!(after[t], full_before[t], "{t}");
    }
    // Merging the same rows again collides and is refused as a whole.
    let (ok, log, _) = admin_at(&full, &["restore", file.to_str().unwrap(), "--force"]);
    assert!(!ok);
    assert!(
        log.lines().any(|l| l == "error: refusing to restore: user `erin` (id 500) is already in this registry; nothing was changed"),
        "{log}"
    );
    assert_eq!(d1_dump(&full), after);
}

/// POSTs JSON to the web API (as the pages do); (status, body).
fn web_post(path: &str, body: &serde_json::Value) -> (u16, String) {
    let url = format!("{}{path}", srv().base);
    let (status, _, body) = curl(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "--data-binary",
        &body.to_string(),
        &url,
    ]);
    (status, body)
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn concurrent_sign_in_guesses_on_real_d1_reach_the_password_check_five_times() {
    let out = admin(&["user", "add", "e2e-locky"]);
    let link = out.lines().last().unwrap().trim().to_string();
    let secret = link.split("#secret=").nth(1).expect("a one-time link");
    let (status, body) = web_post(
        "/web/api/set-password",
        &serde_json::json!({"secret": secret, "password": "locky password 1"}),
    );
    assert_eq!(status, 200, "{body}");
    let guesses: Vec<_> = (0..25)
        .map(|i| {
            std::thread::spawn(move || {
                web_post(
                    "/web/api/login",
                    &serde_json::json!({"login": "e2e-locky", "password": format!("guess {i}!")}),
                )
            })
        })
        .collect();
    let results: Vec<(u16, String)> = guesses.into_iter().map(|h| h.join().unwrap()).collect();
    let checked = results.iter().filter(|(s, _)| *s == 401).count();
    let locked: Vec<_> = results.iter().filter(|(s, _)| *s == 429).collect();
    assert_eq!(checked, 5, "{results:?}");
    assert_eq!(locked.len(), 20, "{results:?}");
    for (_, body) in &locked {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            v["errors"][0]["detail"],
            "too many failed sign-ins for this login; try again in 15 minute(s)"
        );
    }
    // The right password is refused while locked.
    let (status, _) = web_post(
        "/web/api/login",
        &serde_json::json!({"login": "e2e-locky", "password": "locky password 1"}),
    );
    assert_eq!(status, 429);
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn admin_remote_acts_through_the_admin_api_with_the_admin_token() {
    // `--remote` is the local path with another URL and token source:
    // pointed at this real workerd, it must work with the state's token
    // and be refused, changing nothing, with any other.
    let s = srv();
    let text = std::fs::read_to_string(s.state.join("admin.env")).unwrap();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("ADMIN_TOKEN="))
        .unwrap()
        .to_string();
    let remote = |admin_token: &str, args: &[&str]| {
        Command::new(root().join("scripts/admin"))
            .arg("--remote")
            .args(args)
            .env("REGISTRY_URL", &s.base)
            .env("ADMIN_TOKEN", admin_token)
            .env_remove("STATE_DIR")
            .output()
            .unwrap()
    };
    let wrong = "f".repeat(64);
    let out = remote(
        &wrong,
        &["token", "create", "e2e-remote", "--scopes", "read"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        both(&out).contains(&format!(
            "the registry at {} answered 401: this route needs the registry's admin token",
            s.base
        )),
        "{}",
        both(&out)
    );
    let out = remote(&token, &["token", "list", "e2e-remote"]);
    assert!(out.status.success(), "{}", both(&out));
    assert!(
        both(&out).contains("no tokens for `e2e-remote`"),
        "the refused call created nothing: {}",
        both(&out)
    );
    let out = remote(
        &token,
        &["token", "create", "e2e-remote", "--scopes", "read"],
    );
    assert!(out.status.success(), "{}", both(&out));
    let made = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let (st, _, _) = curl(&[
        "-H",
        &format!("Authorization: {made}"),
        &format!("{}/index/config.json", s.base),
    ]);
    assert_eq!(st, 200, "the token made through --remote works");
    // The same registry seen locally lists it.
    let listed = admin(&["token", "list", "e2e-remote"]);
    assert!(
        listed.contains("read") && listed.contains("active"),
        "{listed}"
    );
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn admin_names_an_oidc_user_in_advance_and_a_subject_links_once() {
    let s = srv();
    let run = |issuer: Option<&str>, args: &[&str]| {
        let mut c = Command::new(root().join("scripts/admin"));
        c.args(args).env("STATE_DIR", &s.state);
        match issuer {
            Some(i) => c.env("OIDC_ISSUER", i),
            None => c.env_remove("OIDC_ISSUER"),
        };
        c.output().unwrap()
    };
    let iss = "https://idp.e2e.example";
    let out = run(
        None,
        &["user", "add", "e2e-sso-root", "--admin", "--oidc", "sub-1"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        both(&out).contains(
            "error: --oidc needs OIDC_ISSUER (in wrangler.toml [vars] or the environment)"
        ),
        "{}",
        both(&out)
    );
    let out = run(
        Some(iss),
        &["user", "add", "e2e-sso-root", "--admin", "--oidc", "sub-1"],
    );
    assert!(out.status.success(), "{}", both(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("created administrator `e2e-sso-root`"),
        "{text}"
    );
    assert!(
        text.contains("linked `e2e-sso-root` to the subject `sub-1` of https://idp.e2e.example; they sign in with single sign-on"),
        "{text}"
    );
    assert!(!text.contains("set-password"), "no password link: {text}");
    // The subject belongs to that account: another cannot take it.
    let out = run(
        Some(iss),
        &["user", "add", "e2e-sso-other", "--oidc", "sub-1"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        both(&out).contains(
            "error: the subject `sub-1` of https://idp.e2e.example is already linked to `e2e-sso-root`"
        ),
        "{}",
        both(&out)
    );
    let out = run(None, &["user", "link", "e2e-sso-other"]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(
        both(&out).contains("error: no user `e2e-sso-other`"),
        "the refused command created no user: {}",
        both(&out)
    );
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn admin_makes_teams_and_changes_their_members() {
    let s = srv();
    let run = |args: &[&str]| {
        Command::new(root().join("scripts/admin"))
            .args(args)
            .env("STATE_DIR", &s.state)
            .output()
            .unwrap()
    };
    new_token("e2e-team-mia");
    new_token("e2e-team-max");
    let out = run(&["team", "add", "e2e-core"]);
    assert!(out.status.success(), "{}", both(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("created team `e2e-core` (id "),
        "{}",
        both(&out)
    );
    let out = run(&["team", "add", "E2E-core"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        both(&out).contains("error: team `E2E-core` already exists"),
        "{}",
        both(&out)
    );
    let out = run(&[
        "team",
        "member",
        "add",
        "e2e-core",
        "e2e-team-mia",
        "--maintainer",
    ]);
    assert!(out.status.success(), "{}", both(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "`e2e-team-mia` is a maintainer of team `e2e-core`\n"
    );
    let out = run(&["team", "member", "add", "e2e-core", "e2e-team-max"]);
    assert!(out.status.success(), "{}", both(&out));
    let list = admin(&["team", "list"]);
    assert!(
        list.lines()
            .any(|l| l == "e2e-core\t2 members\te2e-team-max, e2e-team-mia (maintainer)"),
        "{list}"
    );
    let out = run(&["team", "member", "remove", "e2e-core", "e2e-team-max"]);
    assert!(out.status.success(), "{}", both(&out));
    let out = run(&["team", "member", "remove", "e2e-core", "e2e-team-max"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        both(&out).contains("error: `e2e-team-max` is not a member of team `e2e-core`"),
        "{}",
        both(&out)
    );
    let out = run(&["team", "member", "add", "nope", "e2e-team-max"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        both(&out).contains("error: team `nope` does not exist; an administrator can create it"),
        "{}",
        both(&out)
    );
    let list = admin(&["team", "list"]);
    assert!(
        list.lines()
            .any(|l| l == "e2e-core\t1 member\te2e-team-mia (maintainer)"),
        "{list}"
    );
}

#[test]
#[ignore = "needs wrangler dev; run by scripts/test"]
fn a_restricted_crate_is_hidden_through_real_kv_metadata() {
    let s = srv();
    let r = publish_in_parallel(vec![raw_publish_body("e2e-vault", "1.0.0", "v")]);
    assert_eq!(r[0].0, 200, "{}", r[0].1);
    let olga = new_token("e2e-olga");
    admin(&["team", "add", "e2e-vault-readers"]);
    let gus = new_token("e2e-gus");
    admin(&["team", "member", "add", "e2e-vault-readers", "e2e-gus"]);
    let url = format!("{}/index/e2/e-/e2e-vault", s.base);
    let get = |t: &str| curl(&["-H", &format!("Authorization: {t}"), &url]);
    assert_eq!(get(&olga).0, 200);
    let out = admin(&["crate", "visibility", "e2e-vault", "restricted"]);
    assert_eq!(
        out,
        "`e2e-vault` is now restricted to its owners and granted readers\n"
    );
    // The readers live in the file's KV metadata under workerd.
    let (status, _, body) = get(&olga);
    assert_eq!(status, 404);
    assert_eq!(
        body,
        r#"{"errors":[{"detail":"no such crate in this registry"}]}"#
    );
    assert_eq!(get(alice()).0, 200, "the owner");
    assert_eq!(get(&gus).0, 404);
    let out = admin(&["crate", "grant", "e2e-vault", "team:e2e-vault-readers"]);
    assert_eq!(out, "`team:e2e-vault-readers` may read `e2e-vault`\n");
    // gus's token was cached with his teams: a new token sees it at once.
    let gus2 = new_token("e2e-gus");
    assert_eq!(get(&gus2).0, 200);
    let search = |t: &str| {
        curl(&[
            "-H",
            &format!("Authorization: {t}"),
            &format!("{}/api/v1/crates?q=e2e-vault", s.base),
        ])
        .2
    };
    assert!(search(&gus2).contains("\"total\":1"), "{}", search(&gus2));
    assert!(search(&olga).contains("\"total\":0"), "{}", search(&olga));
    admin(&["crate", "visibility", "e2e-vault", "registry"]);
    assert_eq!(get(&olga).0, 200);
    let out = Command::new(root().join("scripts/admin"))
        .args(["crate", "visibility", "e2e-vault", "secret"])
        .env("STATE_DIR", &s.state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        both(&out).contains("error: visibility is `registry` or `restricted`, not `secret`"),
        "{}",
        both(&out)
    );
}
