//! Time formatting for the index: `pubtime` must be exactly
//! `YYYY-MM-DDTHH:MM:SSZ` (20 characters, UTC, no fractions).

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`. Times before 1970 are
/// clamped to the epoch (the registry never produces them).
pub fn format_utc(unix_secs: i64) -> String {
    let secs = unix_secs.max(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's civil-from-days algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_772_706_030), "2026-03-05T10:20:30Z");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(format_utc(-5), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn always_twenty_chars() {
        for t in (0..4_000_000_000i64).step_by(37_000_001) {
            let s = format_utc(t);
            assert_eq!(s.len(), 20, "{s}");
            assert!(s.ends_with('Z'));
        }
    }
}
