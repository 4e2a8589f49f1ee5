//! How `scripts/admin` reaches a registry: the admin store API
//! (`/_admin/v1/`, see `web::admin_api`) of a running Worker, with the
//! admin token. The service's own functions then run here over these
//! stores, so the local state and `--remote` take one code path:
//! - local: the `wrangler dev` serving the state directory (its URL in
//!   `$STATE/dev-url`, its token in `$STATE/admin.env`, both written by
//!   whoever starts it); when none answers, one is started for the
//!   command and stopped after it;
//! - `--remote`: `REGISTRY_URL` or `PUBLIC_URL` from `wrangler.toml`, the
//!   token from `ADMIN_TOKEN` or `.wrangler/admin-token`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use edge_registry::auth::{Readers, Visibility};
use edge_registry::store::exec::{Executor, Outcome, Stmt, statement_name};
use edge_registry::store::sql::SqlStore;
use edge_registry::store::{
    Blob, BlobMeta, BlobStore, IndexFile, IndexStore, StoreError, StoreResult,
};
use edge_registry::web::admin_api::MAX_BODY;
use serde_json::{Value, json};

/// The admin API of one registry.
pub struct Api {
    agent: ureq::Agent,
    pub base: String,
    token: String,
}

fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl Api {
    pub fn new(base: &str, token: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .new_agent();
        Api {
            agent,
            base: base.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_admin/v1/{path}", self.base)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// The error a refused call gives, with the registry's own message.
    fn refused(&self, status: u16, body: &str) -> StoreError {
        let detail = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["errors"][0]["detail"].as_str().map(str::to_string))
            .unwrap_or_else(|| body.chars().take(200).collect());
        let hint = match status {
            401 => " (the admin token does not match the registry's ADMIN_TOKEN)",
            404 => {
                " (the registry has no ADMIN_TOKEN secret set, or is older than this scripts/admin)"
            }
            _ => "",
        };
        StoreError(format!(
            "the registry at {} answered {status}: {detail}{hint}",
            self.base
        ))
    }

    fn post(&self, path: &str, body: &Value) -> StoreResult<Value> {
        let mut r = self
            .agent
            .post(self.url(path))
            .header("Authorization", &self.bearer())
            .header("Content-Type", "application/json")
            .send(&serde_json::to_vec(body).map_err(fail)?)
            .map_err(|e| fail(format!("cannot reach the registry at {}: {e}", self.base)))?;
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(fail)?;
        if status != 200 {
            return Err(self.refused(status, &text));
        }
        serde_json::from_str(&text).map_err(fail)
    }

    /// Whether the admin API answers with this token.
    pub fn ping(&self) -> StoreResult<()> {
        self.post("d1", &json!({"statements": []})).map(|_| ())
    }

    /// The body of a `d1` call, refused here when the registry would
    /// refuse its size.
    fn d1_body(batch: bool, stmts: &[Stmt]) -> StoreResult<Value> {
        let statements = stmts
            .iter()
            .map(|s| {
                let name =
                    statement_name(s.sql).ok_or_else(|| fail("a statement outside sql::ALL"))?;
                Ok(json!({"name": name, "args": s.args}))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let body = json!({"batch": batch, "statements": statements});
        let size = serde_json::to_vec(&body).map_err(fail)?.len();
        if size as u64 > MAX_BODY {
            return Err(fail(format!(
                "these statements are {size} bytes, more than the registry's admin API takes in one call ({MAX_BODY} bytes)"
            )));
        }
        Ok(body)
    }

    /// Whether `stmts` can run as one batch call.
    pub fn fits_one_batch(stmts: &[Stmt]) -> StoreResult<()> {
        Self::d1_body(true, stmts).map(drop)
    }

    fn d1(&self, batch: bool, stmts: &[Stmt]) -> StoreResult<Vec<Outcome>> {
        let v = self.post("d1", &Self::d1_body(batch, stmts)?)?;
        serde_json::from_value(v["results"].clone()).map_err(fail)
    }
}

/// The database, through the admin API.
pub struct HttpExec(pub Arc<Api>);

impl Executor for HttpExec {
    async fn execute(&self, stmt: &Stmt) -> StoreResult<Outcome> {
        self.0
            .d1(false, std::slice::from_ref(stmt))?
            .into_iter()
            .next()
            .ok_or_else(|| fail("no result for a statement"))
    }
    async fn batch(&self, stmts: &[Stmt]) -> StoreResult<Vec<Outcome>> {
        self.0.d1(true, stmts)
    }
}

/// The index store, through the admin API.
pub struct HttpKv(pub Arc<Api>);

impl IndexStore for HttpKv {
    async fn get_file(&self, key: &str) -> StoreResult<Option<IndexFile>> {
        let v = self.0.post("kv", &json!({"op": "get", "key": key}))?;
        if v["file"].is_null() {
            return Ok(None);
        }
        let f = &v["file"];
        let readers = serde_json::from_value::<Option<Readers>>(f["r"].clone())
            .map_err(|e| StoreError(format!("admin API: bad readers of {key}: {e}")))?;
        Ok(Some(IndexFile {
            body: f["body"].as_str().unwrap_or_default().to_string(),
            etag: f["etag"].as_str().unwrap_or_default().to_string(),
            rev: f["rev"].as_i64().unwrap_or(0),
            visibility: Visibility::from_stored(readers, f["large"].as_bool().unwrap_or(false)),
        }))
    }
    async fn put_file(&self, key: &str, file: &IndexFile) -> StoreResult<()> {
        let (r, large) = file.visibility.stored();
        let f =
            json!({"body": file.body, "etag": file.etag, "rev": file.rev, "r": r, "large": large});
        self.0
            .post("kv", &json!({"op": "put", "key": key, "file": f}))
            .map(|_| ())
    }
    async fn delete_file(&self, key: &str) -> StoreResult<()> {
        self.0
            .post("kv", &json!({"op": "delete", "key": key}))
            .map(|_| ())
    }
    async fn list_files(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<String>, Option<String>)> {
        let v = self.0.post(
            "kv",
            &json!({"op": "list", "cursor": cursor, "limit": limit}),
        )?;
        let keys = serde_json::from_value(v["keys"].clone()).map_err(fail)?;
        Ok((keys, v["cursor"].as_str().map(str::to_string)))
    }
}

/// The blob store, through the admin API.
pub struct HttpR2(pub Arc<Api>);

impl BlobStore for HttpR2 {
    async fn put_blob(&self, key: &str, bytes: &[u8], meta: &BlobMeta) -> StoreResult<()> {
        let api = &self.0;
        let mut r = api
            .agent
            .put(api.url(&format!("r2/{key}")))
            .header("Authorization", &api.bearer())
            .header("x-blob-name", &meta.name)
            .header("x-blob-version", &meta.version)
            .send(bytes)
            .map_err(|e| fail(format!("cannot reach the registry at {}: {e}", api.base)))?;
        let status = r.status().as_u16();
        if status != 200 {
            let text = r.body_mut().read_to_string().unwrap_or_default();
            return Err(api.refused(status, &text));
        }
        Ok(())
    }
    async fn get_blob(&self, key: &str) -> StoreResult<Option<Blob>> {
        let api = &self.0;
        let mut r = api
            .agent
            .get(api.url(&format!("r2/{key}")))
            .header("Authorization", &api.bearer())
            .call()
            .map_err(|e| fail(format!("cannot reach the registry at {}: {e}", api.base)))?;
        let status = r.status().as_u16();
        let header = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let meta = BlobMeta {
            name: header("x-blob-name"),
            version: header("x-blob-version"),
        };
        let bytes = r
            .body_mut()
            .with_config()
            .limit(1024 * 1024 * 1024)
            .read_to_vec()
            .map_err(fail)?;
        match status {
            200 => Ok(Some(Blob { bytes, meta })),
            404 => Ok(None),
            s => Err(api.refused(s, &String::from_utf8_lossy(&bytes))),
        }
    }
}

/// Every store of a registry, through its admin API.
pub struct RemoteStores {
    index: HttpKv,
    blobs: HttpR2,
    db: SqlStore<HttpExec>,
}

impl RemoteStores {
    pub fn new(api: Arc<Api>) -> Self {
        RemoteStores {
            index: HttpKv(api.clone()),
            blobs: HttpR2(api.clone()),
            db: SqlStore::new(HttpExec(api)),
        }
    }
}

impl edge_registry::service::Stores for RemoteStores {
    type Index = HttpKv;
    type Blobs = HttpR2;
    type Exec = HttpExec;
    type Kdf = edge_registry::auth::password::NativeKdf;
    type Jws = edge_registry::auth::jwt::RingVerifier;
    type Fetch = edge_registry::service::fetch::NoFetch;
    fn index(&self) -> &HttpKv {
        &self.index
    }
    fn blobs(&self) -> &HttpR2 {
        &self.blobs
    }
    fn db(&self) -> &SqlStore<HttpExec> {
        &self.db
    }
    fn kdf(&self) -> &Self::Kdf {
        &edge_registry::auth::password::NativeKdf
    }
    fn jws(&self) -> &Self::Jws {
        &edge_registry::auth::jwt::RingVerifier
    }
    fn fetch(&self) -> &Self::Fetch {
        &edge_registry::service::fetch::NoFetch
    }
}

/// The local admin token file of a state directory (`ADMIN_TOKEN=...`, read
/// by `wrangler dev --env-file`), made with mode 0600 when missing.
pub fn local_token(state: &Path) -> Result<String, String> {
    let file = state.join("admin.env");
    if !file.exists() {
        std::fs::create_dir_all(state).map_err(|e| format!("{}: {e}", state.display()))?;
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
        let text = format!(
            "ADMIN_TOKEN={}\n",
            edge_registry::protocol::index::to_hex(&random)
        );
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
        {
            Ok(mut f) => f
                .write_all(text.as_bytes())
                .map_err(|e| format!("{}: {e}", file.display()))?,
            // Made meanwhile by whoever started a server: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("{}: {e}", file.display())),
        }
    }
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("ADMIN_TOKEN="))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("{} holds no ADMIN_TOKEN", file.display()))
}

/// A registry reached for one command: its admin API and, when this
/// command started it, the `wrangler dev` to stop afterwards.
pub struct Connection {
    pub api: Arc<Api>,
    server: Option<Child>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(child) = &mut self.server {
            // Its own process group: wrangler and the workerd it started.
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The local registry of `state`: the running one, or one started now.
pub fn local(root: &Path, state: &Path, wrangler: &str) -> Result<Connection, String> {
    let token = local_token(state)?;
    if let Ok(url) = std::fs::read_to_string(state.join("dev-url")) {
        let api = Api::new(url.trim(), &token);
        match api.ping() {
            Ok(()) => {
                return Ok(Connection {
                    api: Arc::new(api),
                    server: None,
                });
            }
            // Something answers but refuses the token: say so, rather than
            // starting a second server on the same state.
            Err(e) if !e.0.starts_with("cannot reach") => return Err(e.0),
            Err(_) => {}
        }
    }
    // Two wrangler devs starting at once can race for workerd's internal
    // sockets; the loser exits at once, and a new attempt succeeds.
    let mut attempt = 1;
    loop {
        match start(root, state, wrangler, &token) {
            Err(Start::Raced(_)) if attempt < 5 => attempt += 1,
            Err(Start::Raced(e) | Start::Failed(e)) => return Err(e),
            Ok(conn) => return Ok(conn),
        }
    }
}

/// Why a `wrangler dev` did not come up.
enum Start {
    /// It lost a race for a socket: try again.
    Raced(String),
    Failed(String),
}

/// Starts a `wrangler dev` on `state` for this command.
fn start(root: &Path, state: &Path, wrangler: &str, token: &str) -> Result<Connection, Start> {
    let failed = |e: String| Start::Failed(e);
    let port = free_port().map_err(failed)?;
    let log = state.with_extension("admin.log");
    let log_file =
        std::fs::File::create(&log).map_err(|e| failed(format!("{}: {e}", log.display())))?;
    use std::os::unix::process::CommandExt;
    let child = Command::new(wrangler)
        .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .arg("--persist-to")
        .arg(state)
        .arg("--env-file")
        .arg(state.join("admin.env"))
        .args([
            "--log-level",
            "warn",
            "--show-interactive-dev-session=false",
        ])
        .env("SKIP_BUILD", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| failed(e.to_string()))?)
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .map_err(|e| failed(format!("cannot start wrangler dev: {e}")))?;
    let mut conn = Connection {
        api: Arc::new(Api::new(&format!("http://127.0.0.1:{port}"), token)),
        server: Some(child),
    };
    let began = Instant::now();
    loop {
        match conn.api.ping() {
            Ok(()) => return Ok(conn),
            Err(e) if !e.0.starts_with("cannot reach") => return Err(failed(e.0)),
            Err(_) => {}
        }
        let exited = conn
            .server
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
        if exited || began.elapsed() > Duration::from_secs(90) {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let e = format!("wrangler dev did not start on {}:\n{text}", state.display());
            return Err(if text.contains("Address already in use") {
                Start::Raced(e)
            } else {
                Start::Failed(e)
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The deployed registry: `REGISTRY_URL` or `PUBLIC_URL`, with `ADMIN_TOKEN`
/// or the token `scripts/setup-cloudflare` kept in `.wrangler/admin-token`.
pub fn remote(root: &Path, public_url: Option<String>) -> Result<Connection, String> {
    let base = std::env::var("REGISTRY_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or(public_url)
        .ok_or(
            "--remote needs the registry's URL: set PUBLIC_URL in wrangler.toml or REGISTRY_URL",
        )?;
    let token = match std::env::var("ADMIN_TOKEN") {
        Ok(t) if !t.trim().is_empty() => t,
        _ => {
            let file: PathBuf = root.join(".wrangler/admin-token");
            std::fs::read_to_string(&file).map_err(|_| {
                format!(
                    "--remote needs the admin token: set ADMIN_TOKEN, or keep it in {} (scripts/setup-cloudflare does)",
                    file.display()
                )
            })?
        }
    };
    Ok(Connection {
        api: Arc::new(Api::new(&base, &token)),
        server: None,
    })
}
