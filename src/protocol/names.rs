//! Crate names: validation (crates.io rules), the canonical form used for
//! collision checks, reserved names, and the sparse-index path of a name.

/// Longest crate name accepted, as on crates.io.
pub const MAX_NAME_LEN: usize = 64;

/// Names that would shadow toolchain crates or break on Windows, compared in
/// canonical form.
const RESERVED: &[&str] = &[
    "alloc",
    "core",
    "std",
    "proc_macro",
    "proc-macro",
    "test",
    "rustc",
    "rustdoc",
    "cargo",
    "rust",
    "rustup",
    "compiler_builtins",
    "libc_macro",
    "panic_abort",
    "panic_unwind",
    "std_detect",
    "unwind",
    "profiler_builtins",
    "build_helper",
    "sysroot",
    "nul",
    "con",
    "prn",
    "aux",
    "com0",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt0",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

/// Why a name was refused; `Display` gives the message shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    StartsWithDigit(String),
    BadFirst(String),
    BadChar(String, char),
    Reserved(String),
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Empty => write!(f, "crate name cannot be empty"),
            NameError::TooLong => write!(
                f,
                "crate name is too long: the maximum is {MAX_NAME_LEN} characters"
            ),
            NameError::StartsWithDigit(n) => {
                write!(
                    f,
                    "invalid crate name `{n}`: the name cannot start with a digit"
                )
            }
            NameError::BadFirst(n) => write!(
                f,
                "invalid crate name `{n}`: the first character must be an ASCII letter"
            ),
            NameError::BadChar(n, c) => write!(
                f,
                "invalid crate name `{n}`: invalid character `{c}`; only ASCII letters, digits, `-` and `_` are allowed"
            ),
            NameError::Reserved(n) => write!(
                f,
                "cannot upload a crate with a reserved name: `{n}` is reserved (toolchain or Windows device name)"
            ),
        }
    }
}

fn check_chars(name: &str, allow_underscore_first: bool) -> Result<(), NameError> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(NameError::Empty);
    };
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    if first.is_ascii_digit() {
        return Err(NameError::StartsWithDigit(name.to_string()));
    }
    if !(first.is_ascii_alphabetic() || (allow_underscore_first && first == '_')) {
        return Err(NameError::BadFirst(name.to_string()));
    }
    for c in chars {
        if !(c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(NameError::BadChar(name.to_string(), c));
        }
    }
    Ok(())
}

/// A name a new crate may be published under.
pub fn validate_crate_name(name: &str) -> Result<(), NameError> {
    check_chars(name, false)?;
    if is_reserved(name) {
        return Err(NameError::Reserved(name.to_string()));
    }
    Ok(())
}

/// A name that may appear as a dependency (the real package name of a
/// dependency, which may live in another registry: no reserved-name check).
pub fn validate_dependency_name(name: &str) -> Result<(), NameError> {
    check_chars(name, false)
}

/// A dependency rename (`explicit_name_in_toml`), which may start with `_`.
pub fn validate_rename(name: &str) -> Result<(), NameError> {
    check_chars(name, true)
}

/// Whether a name is reserved, compared in canonical form.
pub fn is_reserved(name: &str) -> bool {
    let c = canonical(name);
    RESERVED.iter().any(|r| canonical(r) == c)
}

/// Canonical form: lowercase with `-` replaced by `_`. Two crates whose
/// canonical forms are equal cannot coexist.
pub fn canonical(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// The sparse index path of a crate (without the `/index/` prefix), exactly
/// as cargo computes it: lowercased, `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`.
/// Returns `None` for names that cannot be crate names.
pub fn index_path(name: &str) -> Option<String> {
    if name.is_empty() || !name.is_ascii() {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let path = match lower.len() {
        1 => format!("1/{lower}"),
        2 => format!("2/{lower}"),
        3 => format!("3/{}/{lower}", lower.get(..1)?),
        _ => format!("{}/{}/{lower}", lower.get(..2)?, lower.get(2..4)?),
    };
    Some(path)
}

/// Parses an index path back to its lowercase file name, accepting it only
/// when it is exactly the path cargo would request for that name.
pub fn parse_index_path(path: &str) -> Option<&str> {
    let file = path.rsplit('/').next()?;
    if check_chars(file, false).is_err() || file.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    if index_path(file)? == path {
        Some(file)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_match_cargo() {
        assert_eq!(index_path("a").as_deref(), Some("1/a"));
        assert_eq!(index_path("IO").as_deref(), Some("2/io"));
        assert_eq!(index_path("Syn").as_deref(), Some("3/s/syn"));
        assert_eq!(index_path("serde").as_deref(), Some("se/rd/serde"));
        assert_eq!(
            index_path("Serde_JSON").as_deref(),
            Some("se/rd/serde_json")
        );
        assert_eq!(index_path("abcd").as_deref(), Some("ab/cd/abcd"));
        assert_eq!(index_path(""), None);
        assert_eq!(index_path("é"), None);
    }

    #[test]
    fn parse_index_path_accepts_only_exact_paths() {
        assert_eq!(parse_index_path("se/rd/serde"), Some("serde"));
        assert_eq!(parse_index_path("1/a"), Some("a"));
        assert_eq!(parse_index_path("3/s/syn"), Some("syn"));
        assert_eq!(parse_index_path("3/x/syn"), None);
        assert_eq!(parse_index_path("se/rd/Serde"), None);
        assert_eq!(parse_index_path("se/rd/../serde"), None);
        assert_eq!(parse_index_path("serde"), None);
        assert_eq!(parse_index_path("se/rd/serde/"), None);
        assert_eq!(parse_index_path("2/a"), None);
    }

    #[test]
    fn name_rules() {
        assert!(validate_crate_name("foo-bar_2").is_ok());
        assert_eq!(validate_crate_name(""), Err(NameError::Empty));
        assert!(matches!(
            validate_crate_name("1abc"),
            Err(NameError::StartsWithDigit(_))
        ));
        assert!(matches!(
            validate_crate_name("_abc"),
            Err(NameError::BadFirst(_))
        ));
        assert!(matches!(
            validate_crate_name("-abc"),
            Err(NameError::BadFirst(_))
        ));
        assert!(matches!(
            validate_crate_name("ab.c"),
            Err(NameError::BadChar(_, '.'))
        ));
        assert!(matches!(
            validate_crate_name("abç"),
            Err(NameError::BadChar(_, 'ç'))
        ));
        assert_eq!(
            validate_crate_name(&"a".repeat(65)),
            Err(NameError::TooLong)
        );
        assert!(validate_crate_name(&"a".repeat(64)).is_ok());
        assert!(validate_rename("_json").is_ok());
        assert!(validate_crate_name("_json").is_err());
    }

    #[test]
    fn reserved_names_compare_canonically() {
        for n in [
            "std",
            "Core",
            "proc-macro",
            "PROC_MACRO",
            "nul",
            "Com1",
            "lpt9",
            "aux",
        ] {
            assert!(
                matches!(validate_crate_name(n), Err(NameError::Reserved(_))),
                "{n}"
            );
        }
        assert!(validate_crate_name("stdx").is_ok());
        assert!(validate_crate_name("com10").is_ok());
    }

    #[test]
    fn canonical_form() {
        assert_eq!(canonical("Foo-Bar_baz"), "foo_bar_baz");
        assert_eq!(canonical("foo_bar"), canonical("FOO-BAR"));
    }
}
