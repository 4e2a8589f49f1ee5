//! Search, in cargo's response shape: exact name first, then prefix, then
//! names and descriptions containing the query.

use serde::Serialize;

use super::{App, Stores};
use crate::auth::{Principal, Scope};
use crate::error::AppError;
use crate::store::CrateStore as _;

/// Largest page, as cargo caps `--limit` at 100.
pub const MAX_PER_PAGE: u32 = 100;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SearchCrate {
    pub name: String,
    pub max_version: String,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SearchMeta {
    pub total: u32,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SearchResponse {
    pub crates: Vec<SearchCrate>,
    pub meta: SearchMeta,
}

/// Runs a search. `per_page` defaults to 10 and is capped at 100 (0 gives
/// only the total, as `cargo search --limit 0` expects); `page` starts at 1.
/// Crates a token's patterns exclude are neither listed nor counted.
pub async fn search<S: Stores>(
    app: &App<S>,
    who: &Principal,
    q: &str,
    per_page: Option<u32>,
    page: Option<u32>,
) -> Result<SearchResponse, AppError> {
    who.require(Scope::Read, None)?;
    if q.len() > 200 {
        return Err(AppError::BadRequest(
            "search query too long: at most 200 characters".into(),
        ));
    }
    let per_page = per_page.unwrap_or(10).min(MAX_PER_PAGE);
    let page = page.unwrap_or(1).max(1);
    let offset = (page - 1).saturating_mul(per_page);
    let filter = who.read_filter();
    let (hits, total) = app
        .store
        .db()
        .search(q.trim(), &filter, who.viewer(), per_page, offset)
        .await?;
    let crates = hits
        .into_iter()
        .map(|c| SearchCrate {
            max_version: c.max_version.unwrap_or_else(|| "0.0.0".into()),
            name: c.name,
            description: c.description,
        })
        .collect();
    Ok(SearchResponse {
        crates,
        meta: SearchMeta { total },
    })
}
