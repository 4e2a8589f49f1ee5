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
    /// The teams the user was in when the principal was made (a token's
    /// is cached with it, so a membership change reaches it within the
    /// token-cache bound).
    pub teams: std::sync::Arc<[i64]>,
}

/// Who may read a restricted crate besides administrators: its owners and
/// granted readers, users and teams.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Readers {
    #[serde(rename = "u", default)]
    pub users: Vec<i64>,
    #[serde(rename = "t", default)]
    pub teams: Vec<i64>,
}

/// A crate's visibility, as every read decides it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Every user may read it.
    #[default]
    Registry,
    /// Only administrators and these readers.
    Restricted(Readers),
    /// Restricted, with more readers than the index file's metadata
    /// holds: the database decides.
    RestrictedLarge,
}

/// The most reader ids kept beside an index file (KV metadata holds 1024
/// bytes); a crate with more is `RestrictedLarge`.
pub const MAX_STORED_READERS: usize = 80;

impl Visibility {
    /// As kept beside an index file: the readers whole when they fit.
    pub fn capped(self) -> Self {
        match self {
            Visibility::Restricted(r) if r.users.len() + r.teams.len() > MAX_STORED_READERS => {
                Visibility::RestrictedLarge
            }
            v => v,
        }
    }

    /// As stored beside an index file: the readers, and whether there are
    /// too many to store (both absent for a registry-visible crate).
    pub fn stored(&self) -> (Option<Readers>, bool) {
        match self {
            Visibility::Registry => (None, false),
            Visibility::Restricted(r) => (Some(r.clone()), false),
            Visibility::RestrictedLarge => (None, true),
        }
    }

    /// Back from [`Visibility::stored`].
    pub fn from_stored(readers: Option<Readers>, large: bool) -> Self {
        match (readers, large) {
            (_, true) => Visibility::RestrictedLarge,
            (Some(r), false) => Visibility::Restricted(r),
            (None, false) => Visibility::Registry,
        }
    }
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
            teams: Vec::new().into(),
        }
    }

    /// The same principal in these teams.
    pub fn with_teams(self, teams: Vec<i64>) -> Self {
        Principal {
            teams: teams.into(),
            ..self
        }
    }

    /// Whose reads the store's lists filter by: `None` for an
    /// administrator, who reads every crate.
    pub fn viewer(&self) -> Option<i64> {
        (!self.is_admin).then_some(self.user_id)
    }

    /// Whether this user may read a crate of this visibility (the token's
    /// scopes and patterns are checked apart). `RestrictedLarge` must be
    /// resolved from the database first; here it reads as no.
    pub fn may_see(&self, v: &Visibility) -> bool {
        match v {
            Visibility::Registry => true,
            _ if self.is_admin => true,
            Visibility::Restricted(r) => {
                r.users.contains(&self.user_id) || self.teams.iter().any(|t| r.teams.contains(t))
            }
            Visibility::RestrictedLarge => false,
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
