//! Identity: token format and hashing, the `Authorization` header, scopes
//! and crate-name patterns, and the principal a request acts as.

pub mod jwt;
pub mod oidc;
pub mod password;
pub mod scopes;
pub mod token;

pub use scopes::{CratePattern, Scope, Scopes};

use crate::error::AppError;

/// Which crates a caller may read. Every list, count, search and message a
/// caller sees is computed after this one filter, in the store's query
/// (before counting and paging), never by trimming a page afterwards.
/// Per-crate visibility (teams) is to be added here, so every reader of
/// the filter gets it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFilter {
    /// Every crate (a web session, a token without crate patterns).
    All,
    /// Only crates matching one of these patterns (never empty).
    Patterns(std::sync::Arc<[CratePattern]>),
}

impl ReadFilter {
    /// Whether a crate of this name passes the filter.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            ReadFilter::All => true,
            ReadFilter::Patterns(ps) => scopes::any_matches(ps, name),
        }
    }

    /// The canonical exact names and prefixes the filter admits (both
    /// empty for `All`), as the store's queries take them.
    pub fn exact_and_prefixes(&self) -> (Vec<&str>, Vec<&str>) {
        let mut exact = Vec::new();
        let mut prefixes = Vec::new();
        if let ReadFilter::Patterns(ps) = self {
            for p in ps.iter() {
                match p {
                    CratePattern::Exact(e) => exact.push(e.as_str()),
                    CratePattern::Prefix(x) => prefixes.push(x.as_str()),
                }
            }
        }
        (exact, prefixes)
    }
}

/// Who a request acts as: a user, through a valid token (its scopes and
/// crate patterns) or a web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub login: String,
    pub is_admin: bool,
    /// How the request proved it is this user.
    pub via: Via,
    pub scopes: Scopes,
    /// Empty means every crate.
    /// Shared, so the cached principal is cheap to hand out per request.
    pub patterns: std::sync::Arc<[CratePattern]>,
}

/// What a request authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An API token (its id).
    Token(i64),
    /// A signed-in web session (the pages), which may do whatever its user
    /// may: every scope, every crate.
    Session,
}

impl Principal {
    /// A signed-in user acting through the web app.
    pub fn session(user: &crate::store::User) -> Self {
        Principal {
            user_id: user.id,
            login: user.login.clone(),
            is_admin: user.is_admin,
            via: Via::Session,
            scopes: Scopes::all(),
            patterns: Vec::new().into(),
        }
    }

    /// The crates this token may read.
    pub fn read_filter(&self) -> ReadFilter {
        if self.patterns.is_empty() {
            ReadFilter::All
        } else {
            ReadFilter::Patterns(self.patterns.clone())
        }
    }

    /// Index reads: allowed with `read`, or with any scope that acts on
    /// the crate (cargo reads the index while publishing, yanking and
    /// changing owners, so a publish-only token must see its crates).
    pub fn require_index(&self, crate_name: Option<&str>) -> Result<(), AppError> {
        let acts = [
            Scope::PublishNew,
            Scope::PublishUpdate,
            Scope::Yank,
            Scope::ChangeOwners,
        ];
        if self.scopes.has(Scope::Read) || acts.iter().any(|s| self.scopes.has(*s)) {
            let held = if self.scopes.has(Scope::Read) {
                Scope::Read
            } else {
                acts.into_iter()
                    .find(|s| self.scopes.has(*s))
                    .unwrap_or(Scope::Read)
            };
            return self.require(held, crate_name);
        }
        self.require(Scope::Read, crate_name)
    }

    /// Checks that the token has `scope`, and, when a crate is named, that
    /// the crate matches the token's patterns.
    pub fn require(&self, scope: Scope, crate_name: Option<&str>) -> Result<(), AppError> {
        self.require_one_of(&[scope], crate_name)
    }

    /// Like `require`, with any one of `scopes` sufficing.
    pub fn require_one_of(
        &self,
        scopes: &[Scope],
        crate_name: Option<&str>,
    ) -> Result<(), AppError> {
        if !scopes.iter().any(|s| self.scopes.has(*s)) {
            let names: Vec<String> = scopes.iter().map(|s| format!("`{}`", s.as_str())).collect();
            return Err(AppError::Forbidden(format!(
                "this token lacks the {} scope needed for this request; create a token with that scope",
                names.join(" or ")
            )));
        }
        if let Some(name) = crate_name
            && !self.patterns.is_empty()
            && !scopes::any_matches(&self.patterns, name)
        {
            return Err(AppError::Forbidden(format!(
                "this token is limited to the crates {} and cannot act on `{name}`",
                self.patterns
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(())
    }
}
