//! Token scopes (what a token may do) and crate-name patterns (which crates
//! it may do it to).

use crate::protocol::names::canonical;

/// One thing a token may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Index, downloads and search.
    Read,
    /// Publish the first version of a new crate.
    PublishNew,
    /// Publish a new version of an existing crate.
    PublishUpdate,
    /// Yank and unyank.
    Yank,
    /// Add and remove owners.
    ChangeOwners,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::PublishNew,
        Scope::PublishUpdate,
        Scope::Yank,
        Scope::ChangeOwners,
    ];

    fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::PublishNew => 2,
            Scope::PublishUpdate => 4,
            Scope::Yank => 8,
            Scope::ChangeOwners => 16,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::PublishNew => "publish-new",
            Scope::PublishUpdate => "publish-update",
            Scope::Yank => "yank",
            Scope::ChangeOwners => "change-owners",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A scope list or crate pattern that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    Unknown(String),
    Pattern {
        pattern: String,
        why: crate::protocol::names::NameError,
    },
}

impl std::fmt::Display for ScopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScopeError::Unknown(s) => write!(f, "unknown scope `{s}`"),
            ScopeError::Pattern { pattern, why } => {
                write!(f, "invalid crate pattern `{pattern}`: {why}")
            }
        }
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub fn all() -> Scopes {
        Scopes(Scope::ALL.iter().fold(0, |a, s| a | s.bit()))
    }

    pub fn has(self, s: Scope) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn from_list(list: &[Scope]) -> Scopes {
        Scopes(list.iter().fold(0, |a, s| a | s.bit()))
    }

    /// Parses a comma-separated list such as `read,yank`.
    pub fn parse(s: &str) -> Result<Scopes, ScopeError> {
        let mut out = 0;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let scope = Scope::parse(part).ok_or_else(|| ScopeError::Unknown(part.to_string()))?;
            out |= scope.bit();
        }
        Ok(Scopes(out))
    }

    /// The names of the scopes held, in `Scope::ALL` order.
    pub fn names(self) -> Vec<&'static str> {
        Scope::ALL
            .iter()
            .filter(|s| self.has(**s))
            .map(|s| s.as_str())
            .collect()
    }

    /// The comma-separated form (`read,yank`), as parsed back by `parse`.
    pub fn to_list_string(self) -> String {
        self.names().join(",")
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_list_string())
    }
}

/// A crate-name pattern: an exact name or a `prefix*`, compared in
/// canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CratePattern {
    Exact(String),
    Prefix(String),
}

impl CratePattern {
    pub fn parse(s: &str) -> Result<CratePattern, ScopeError> {
        let (body, prefix) = match s.strip_suffix('*') {
            Some(b) => (b, true),
            None => (s, false),
        };
        if !(prefix && body.is_empty()) {
            crate::protocol::names::validate_dependency_name(body).map_err(|why| {
                ScopeError::Pattern {
                    pattern: s.to_string(),
                    why,
                }
            })?;
        }
        Ok(if prefix {
            CratePattern::Prefix(canonical(body))
        } else {
            CratePattern::Exact(canonical(body))
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        self.matches_canonical(&canonical(name))
    }

    /// Matches a name already in canonical form (canonicalise once when
    /// checking several patterns).
    pub fn matches_canonical(&self, c: &str) -> bool {
        match self {
            CratePattern::Exact(e) => c == e,
            CratePattern::Prefix(p) => c.starts_with(p.as_str()),
        }
    }
}

impl std::fmt::Display for CratePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CratePattern::Exact(e) => write!(f, "{e}"),
            CratePattern::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

/// Whether any of `patterns` admits `name` (canonicalised once).
pub fn any_matches(patterns: &[CratePattern], name: &str) -> bool {
    let canon = canonical(name);
    patterns.iter().any(|p| p.matches_canonical(&canon))
}

/// The comma-separated form of a pattern list (as parsed back by
/// [`parse_patterns`]; empty means every crate).
pub fn patterns_text(patterns: &[CratePattern]) -> String {
    patterns
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a comma-separated pattern list.
pub fn parse_patterns(s: &str) -> Result<Vec<CratePattern>, ScopeError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(CratePattern::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_round_trip() {
        let s = Scopes::parse("read, yank").unwrap();
        assert!(s.has(Scope::Read) && s.has(Scope::Yank) && !s.has(Scope::PublishNew));
        assert_eq!(s.to_list_string(), "read,yank");
        assert_eq!(
            Scopes::parse(&Scopes::all().to_list_string()).unwrap(),
            Scopes::all()
        );
        assert!(Scopes::parse("read,admin").is_err());
    }

    #[test]
    fn patterns_match_canonically() {
        let p = CratePattern::parse("acme-*").unwrap();
        assert!(p.matches("acme_core") && p.matches("ACME-x") && !p.matches("acm"));
        let e = CratePattern::parse("Foo_Bar").unwrap();
        assert!(e.matches("foo-bar") && !e.matches("foo-bar2"));
        assert!(CratePattern::parse("*").unwrap().matches("anything"));
        assert!(CratePattern::parse("bad name").is_err());
        assert_eq!(parse_patterns("a, b*").unwrap().len(), 2);
    }
}
