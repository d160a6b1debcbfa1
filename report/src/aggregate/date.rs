//! Unix time to a UTC civil date, without a date crate.

/// `YYYY-MM-DD HH:MM:SS UTC` for `secs` since the Unix epoch.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian (year, month, day) of `z` days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`: eras of 400 years starting in March, so the leap
/// day is the last day of the shifted year).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        // 2000-02-29 (leap day of a 400-year leap year) 12:34:56
        assert_eq!(format_utc(951_827_696), "2000-02-29 12:34:56 UTC");
        // 2026-02-09 00:00:00
        assert_eq!(format_utc(1_770_595_200), "2026-02-09 00:00:00 UTC");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
