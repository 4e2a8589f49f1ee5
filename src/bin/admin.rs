//! `scripts/admin`: user, token, index and backup administration of a
//! local (`wrangler dev` state) or deployed (`--remote`) registry. Every
//! command runs the service's own functions over the registry's admin API
//! (`connect`); `cli` reads the command line.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/import.rs"]
mod import;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/import_cmd.rs"]
mod import_cmd;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/archive.rs"]
mod archive;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/backup.rs"]
mod backup;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/scratch.rs"]
mod scratch;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/connect.rs"]
mod connect;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/commands.rs"]
mod commands;

#[cfg(not(target_arch = "wasm32"))]
#[path = "admin/cli.rs"]
mod cli;
