//! Timestamp formats: storage keeps microseconds; clients see Flotiq's formats and send
//! dates in several shapes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

fn to_utc(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn push_two_digits(out: &mut String, value: u32) {
    out.push(char::from(b'0' + (value / 10 % 10) as u8));
    out.push(char::from(b'0' + (value % 10) as u8));
}

/// Content object timestamps: `2021-04-09T13:30:48+00:00`. Written digit by digit:
/// chrono's generic formatter parses its pattern on every call, which showed in
/// profiles of rendered lists (four timestamps per object).
pub fn format_iso(micros: i64) -> String {
    use chrono::{Datelike, Timelike};
    let time = to_utc(micros);
    let year = match u32::try_from(time.year()) {
        Ok(year) if year <= 9999 => year,
        // Outside four digits (never stored by this server): chrono's spelling.
        _ => return time.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
    };
    let mut out = String::with_capacity(25);
    push_two_digits(&mut out, year / 100);
    push_two_digits(&mut out, year % 100);
    for (separator, value) in [
        ('-', time.month()),
        ('-', time.day()),
        ('T', time.hour()),
        (':', time.minute()),
        (':', time.second()),
    ] {
        out.push(separator);
        push_two_digits(&mut out, value);
    }
    out.push_str("+00:00");
    out
}

/// Content type timestamps: `2019-10-25T13:00:50.000000+0000`.
pub fn format_definition(micros: i64) -> String {
    to_utc(micros)
        .format("%Y-%m-%dT%H:%M:%S%.6f+0000")
        .to_string()
}

/// A date as clients send it (RFC 3339, `YYYY-MM-DD HH:MM:SS` in UTC, with or without
/// seconds or a `T`, or a bare date), as microseconds since the epoch.
pub fn parse_client_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_micros());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(text, format) {
            return Some(dt.timestamp_micros());
        }
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, format) {
            return Some(dt.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_client_formats_parse_to_the_same_instant() {
        let a = parse_client_date("2024-01-01 10:00:00").unwrap();
        let b = parse_client_date("2024-01-01T10:00:00+00:00").unwrap();
        let c = parse_client_date("2024-01-01T12:00:00+0200").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(format_iso(a), "2024-01-01T10:00:00+00:00");
        assert!(parse_client_date("yesterday").is_none());
    }

    #[test]
    fn iso_timestamps_match_chrono() {
        let mut micros: i64 = -62_135_596_800_000_000; // year 1
        while micros < 253_402_300_799_000_000 {
            let expected = to_utc(micros).format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
            assert_eq!(format_iso(micros), expected, "{micros}");
            micros += 7_777_777_777_777; // about every three months, odd seconds
        }
        assert_eq!(
            format_iso(1_617_975_048_000_000),
            "2021-04-09T13:30:48+00:00"
        );
    }
}
