//! A private Cargo registry for Cloudflare Workers: the sparse index from
//! KV, `.crate` files in R2, users, tokens and versions in D1.
//!
//! Everything but `cf` is plain Rust that runs and is tested natively; `cf`
//! is the thin wasm-only adapter to the Workers runtime.

pub mod auth;
pub mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
pub mod protocol;
pub mod service;
pub mod store;
pub mod web;

#[cfg(target_arch = "wasm32")]
mod cf;
