//! Numbers and dates as each language writes them (CLDR): grouping by thousands with ","
//! and "." as the decimal separator in both English and Chinese ("12,345.6"); dates as
//! "5 December 2026 18:28" in English and "2026年12月5日 18:28" in Chinese (UTC).

use crate::twin::feeds::Timestamp;
use crate::twin::feeds::timefmt::civil_from_days;
use crate::twin::i18n::Lang;

/// Month names in English, January first.
pub(crate) const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// The separators of a language: (grouping, decimal). CLDR gives "," and "." for both
/// `en` and `zh-Hans-CN`.
fn separators(lang: Lang) -> (char, char) {
    match lang {
        Lang::En | Lang::ZhCn => (',', '.'),
    }
}

/// `v` with `decimals` decimals and its integer digits grouped by thousands:
/// `format_number(Lang::En, 12345.6, 1)` is "12,345.6". Not finite: "–".
pub fn format_number(lang: Lang, v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let (group, decimal) = separators(lang);
    let plain = format!("{:.*}", decimals, v.abs());
    let (int, frac) = plain.split_once('.').unwrap_or((&plain, ""));
    let mut out = String::new();
    // A value that rounds to zero has no sign.
    if v < 0.0 && plain.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        out.push('-');
    }
    let digits: Vec<char> = int.chars().collect();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(group);
        }
        out.push(*c);
    }
    if !frac.is_empty() {
        out.push(decimal);
        out.push_str(frac);
    }
    out
}

/// A value with a sensible number of decimals for its size (none from 100, one from 10,
/// two below), grouped: "12,346", "81.6", "9.50".
pub fn format_value(lang: Lang, v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    format_number(lang, v, decimals)
}

/// A moment (UTC) as a date and a time of day: "5 December 2026 18:28",
/// "2026年12月5日 18:28".
pub fn format_date_time(lang: Lang, t: Timestamp) -> String {
    let days = t.0.div_euclid(DAY_MS);
    let ms = t.0.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm) = (ms / 3_600_000, (ms % 3_600_000) / 60_000);
    match lang {
        Lang::En => format!("{d} {} {y} {hh:02}:{mm:02}", MONTHS_EN[(m - 1) as usize]),
        Lang::ZhCn => format!("{y}年{m}月{d}日 {hh:02}:{mm:02}"),
    }
}
