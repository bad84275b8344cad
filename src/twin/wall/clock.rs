//! The wall clock's text, as pure functions: `18:28:00` (always two digits a field), the
//! date in words, and the UTC offset's label.

use crate::twin::feeds::Timestamp;
use crate::twin::feeds::timefmt::civil_from_days;
use crate::twin::i18n::Lang;

/// Weekday names from Monday.
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
/// Weekdays in Chinese, Monday first.
const WEEKDAYS_ZH: [&str; 7] = [
    "星期一",
    "星期二",
    "星期三",
    "星期四",
    "星期五",
    "星期六",
    "星期日",
];
/// Seconds in a day.
const DAY_S: i64 = 86_400;
/// Milliseconds in an hour.
const HOUR_MS: f64 = 3_600_000.0;

/// `HH:MM:SS` of a number of seconds into the day, every field zero-padded to two digits
/// (`18:28:00`, `00:00:00`, `09:05:07`); seconds outside one day wrap round it.
pub fn clock_text(seconds_of_day: i64) -> String {
    let s = seconds_of_day.rem_euclid(DAY_S);
    format!("{:02}:{:02}:{:02}", s / 3_600, (s % 3_600) / 60, s % 60)
}

/// `Saturday 28 November 2026` and `21:04:05` of a timestamp shifted by `offset_h` hours.
pub fn local_date_time(t: Timestamp, offset_h: f64) -> (String, String) {
    let secs = (t.0 + (offset_h * HOUR_MS) as i64).div_euclid(1_000);
    let days = secs.div_euclid(DAY_S);
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[(days + 3).rem_euclid(7) as usize];
    let month = crate::twin::i18n::format::MONTHS_EN[(m as usize).clamp(1, 12) - 1];
    (format!("{weekday} {d} {month} {y}"), clock_text(secs))
}

/// [`local_date_time`] with the date as `lang` writes it: "Saturday 28 November 2026",
/// "2026年11月28日 星期六".
pub fn local_date_time_in(lang: Lang, t: Timestamp, offset_h: f64) -> (String, String) {
    match lang {
        Lang::En => local_date_time(t, offset_h),
        Lang::ZhCn => {
            let secs = (t.0 + (offset_h * HOUR_MS) as i64).div_euclid(1_000);
            let days = secs.div_euclid(DAY_S);
            let (y, m, d) = civil_from_days(days);
            let weekday = WEEKDAYS_ZH[(days + 3).rem_euclid(7) as usize];
            (format!("{y}年{m}月{d}日 {weekday}"), clock_text(secs))
        }
    }
}

/// "UTC", "UTC+2", "UTC−3:30".
pub fn offset_label(h: f64) -> String {
    if h == 0.0 {
        return "UTC".to_string();
    }
    let sign = if h > 0.0 { '+' } else { '−' };
    let minutes = (h.abs() * 60.0).round() as i64;
    if minutes % 60 == 0 {
        format!("UTC{sign}{}", minutes / 60)
    } else {
        format!("UTC{sign}{}:{:02}", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_fields_are_zero_padded() {
        assert_eq!(clock_text(18 * 3_600 + 28 * 60), "18:28:00");
        assert_eq!(clock_text(0), "00:00:00");
        assert_eq!(clock_text(DAY_S), "00:00:00", "midnight of the next day");
        assert_eq!(clock_text(9 * 3_600 + 5 * 60 + 7), "09:05:07");
        assert_eq!(clock_text(23 * 3_600 + 59 * 60 + 59), "23:59:59");
        assert_eq!(clock_text(-1), "23:59:59", "before midnight wraps back");
    }

    #[test]
    fn clock_text_of_known_instants() {
        // 2026-11-28 17:29:25 UTC was a Saturday.
        let t = Timestamp(1_795_886_965_000);
        assert_eq!(
            local_date_time(t, 0.0),
            ("Saturday 28 November 2026".to_string(), "17:29:25".to_string())
        );
        // Two hours east it is 19:29; seven hours east it is past midnight on Sunday.
        assert_eq!(local_date_time(t, 2.0).1, "19:29:25");
        assert_eq!(local_date_time(t, 7.0).0, "Sunday 29 November 2026");
        assert_eq!(local_date_time(t, 7.0).1, "00:29:25");
        assert_eq!(
            local_date_time(Timestamp(0), 0.0),
            ("Thursday 1 January 1970".to_string(), "00:00:00".to_string())
        );
        assert_eq!(offset_label(0.0), "UTC");
        assert_eq!(offset_label(2.0), "UTC+2");
        assert_eq!(offset_label(-3.5), "UTC−3:30");
    }
}
