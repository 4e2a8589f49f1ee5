//! Versions: semver parsing with crates.io's limits, and the form without
//! build metadata that uniqueness is checked on.

/// Longest version string accepted, as on crates.io.
pub const MAX_VERSION_LEN: usize = 150;

/// A validated version: the canonical text and the text without `+build`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub parsed: semver::Version,
    /// Canonical form, build metadata included (`1.0.0+foo`).
    pub text: String,
    /// Canonical form without build metadata (`1.0.0`).
    pub no_build: String,
}

/// Why a version string is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    TooLong,
    /// The text and semver's reason.
    Invalid(String, String),
}

impl std::fmt::Display for VersionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionError::TooLong => write!(
                f,
                "version is too long: the maximum is {MAX_VERSION_LEN} characters"
            ),
            VersionError::Invalid(text, why) => write!(
                f,
                "\"{}\" is an invalid semver version: {why}",
                printable(text)
            ),
        }
    }
}

/// Parses and validates a version string.
pub fn parse_version(s: &str) -> Result<Version, VersionError> {
    if s.len() > MAX_VERSION_LEN {
        return Err(VersionError::TooLong);
    }
    let parsed = semver::Version::parse(s)
        .map_err(|e| VersionError::Invalid(s.to_string(), e.to_string()))?;
    let text = parsed.to_string();
    let mut nb = parsed.clone();
    nb.build = semver::BuildMetadata::EMPTY;
    Ok(Version {
        text,
        no_build: nb.to_string(),
        parsed,
    })
}

/// Shortens and sanitises user input for echoing in an error message.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_strips_build() {
        let v = parse_version("1.2.3-alpha.1+build.5").unwrap();
        assert_eq!(v.text, "1.2.3-alpha.1+build.5");
        assert_eq!(v.no_build, "1.2.3-alpha.1");
    }

    #[test]
    fn rejects_invalid_and_long() {
        assert_eq!(
            parse_version("1.0").unwrap_err().to_string(),
            "\"1.0\" is an invalid semver version: unexpected end of input while parsing minor version number"
        );
        assert!(parse_version("01.0.0").is_err());
        assert!(parse_version("").is_err());
        let long = format!("1.0.0-{}", "a".repeat(150));
        assert_eq!(parse_version(&long).unwrap_err(), VersionError::TooLong);
        assert_eq!(
            VersionError::TooLong.to_string(),
            "version is too long: the maximum is 150 characters"
        );
    }

    #[test]
    fn printable_truncates_and_masks() {
        assert_eq!(printable("a\nb"), "a?b");
        assert_eq!(printable(&"x".repeat(100)).chars().count(), 81);
    }
}
