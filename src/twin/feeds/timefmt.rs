//! Time formats of feed payloads: RFC 3339 (`2024-05-01T12:30:00.250+03:00`) and Unix
//! epoch seconds or milliseconds, parsed to [`Timestamp`] without a date-time crate.

use serde::{Deserialize, Serialize};

use crate::twin::feeds::observation::Timestamp;

/// Epoch numbers above this are milliseconds under [`TimeFormat::Auto`] (year 5138 in s).
const AUTO_MS_THRESHOLD: f64 = 1.0e11;

/// How a time field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// RFC 3339 text, or epoch seconds / milliseconds told apart by size.
    #[default]
    Auto,
    /// RFC 3339 text.
    Rfc3339,
    /// Unix epoch seconds (may have a fraction).
    EpochS,
    /// Unix epoch milliseconds.
    EpochMs,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a count of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn num(s: &str, digits: usize) -> Option<i64> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses an RFC 3339 time (`T` or space between date and time, `Z` or `±hh:mm` offset,
/// any number of fraction digits).
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.len() < 20 || !s.is_ascii() {
        return None;
    }
    let (date, rest) = (&s[..10], &s[11..]);
    if !matches!(s.as_bytes()[10], b'T' | b't' | b' ') || &date[4..5] != "-" || &date[7..8] != "-" {
        return None;
    }
    let (y, mo, d) = (num(&date[..4], 4)?, num(&date[5..7], 2)?, num(&date[8..10], 2)?);
    if &rest[2..3] != ":" || &rest[5..6] != ":" {
        return None;
    }
    let (h, mi, se) = (num(&rest[..2], 2)?, num(&rest[3..5], 2)?, num(&rest[6..8], 2)?);
    let mut rest = &rest[8..];
    let mut frac_ms = 0i64;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let digits = &r[..n];
        let ms3: String = digits.chars().chain("000".chars()).take(3).collect();
        frac_ms = ms3.parse().ok()?;
        rest = &r[n..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && &rest[3..4] == ":" => {
            let sign = match &rest[..1] {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            sign * (num(&rest[1..3], 2)? * 60 + num(&rest[4..6], 2)?)
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&mo) && (1..=31).contains(&d) && h <= 23 && mi <= 59 && se <= 60;
    if !valid || civil_from_days(days_from_civil(y, mo, d)) != (y, mo as u32, d as u32) {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + se - offset_min * 60;
    Some(Timestamp(secs * 1_000 + frac_ms))
}

/// Writes a time as RFC 3339 UTC with milliseconds.
pub fn format_rfc3339(t: Timestamp) -> String {
    let days = t.0.div_euclid(Timestamp::DAY_MS);
    let ms = t.0.rem_euclid(Timestamp::DAY_MS);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000
    )
}

/// Converts an epoch number under a format.
pub fn from_epoch(n: f64, format: TimeFormat) -> Option<Timestamp> {
    if !n.is_finite() {
        return None;
    }
    let ms = match format {
        TimeFormat::EpochMs => n,
        TimeFormat::EpochS => n * 1_000.0,
        TimeFormat::Auto if n.abs() > AUTO_MS_THRESHOLD => n,
        TimeFormat::Auto => n * 1_000.0,
        TimeFormat::Rfc3339 => return None,
    };
    (ms.abs() <= Timestamp::LIMIT_MS as f64).then(|| Timestamp(ms.round() as i64))
}

/// Parses a time given as text under a format (epoch formats accept numeric text).
pub fn parse_time_text(s: &str, format: TimeFormat) -> Option<Timestamp> {
    match format {
        TimeFormat::Rfc3339 => parse_rfc3339(s),
        TimeFormat::Auto => parse_rfc3339(s).or_else(|| from_epoch(s.trim().parse().ok()?, format)),
        TimeFormat::EpochS | TimeFormat::EpochMs => from_epoch(s.trim().parse().ok()?, format),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_with_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(Timestamp(0)));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00.5Z"),
            Some(Timestamp(1_709_208_000_500))
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T14:00:00.500123+02:00"),
            Some(Timestamp(1_709_208_000_500))
        );
        assert_eq!(
            parse_rfc3339("2024-02-29 11:30:00-00:30"),
            Some(Timestamp(1_709_208_000_000))
        );
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:00:00",
            "yesterday",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_and_parses_back() {
        for t in [0, 1_709_208_000_500, -86_400_001, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339(Timestamp(t))), Some(Timestamp(t)));
        }
    }

    #[test]
    fn epoch_formats() {
        assert_eq!(
            from_epoch(1_700_000_000.25, TimeFormat::Auto),
            Some(Timestamp(1_700_000_000_250))
        );
        assert_eq!(
            from_epoch(1_700_000_000_250.0, TimeFormat::Auto),
            Some(Timestamp(1_700_000_000_250))
        );
        assert_eq!(from_epoch(1_700.0, TimeFormat::EpochMs), Some(Timestamp(1_700)));
        assert_eq!(from_epoch(f64::NAN, TimeFormat::Auto), None);
        assert_eq!(
            parse_time_text("1700000000", TimeFormat::EpochS),
            Some(Timestamp(1_700_000_000_000))
        );
        assert_eq!(
            parse_time_text("1970-01-01T00:00:01Z", TimeFormat::Auto),
            Some(Timestamp(1_000))
        );
    }
}
