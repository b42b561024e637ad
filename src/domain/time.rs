//! Timestamps: stored as UTC without a zone, shown as RFC 3339 UTC.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde::{Serialize, Serializer};

pub fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    naive.and_utc()
}

/// Serializes a timestamp exactly as chrono's `Serialize` does (RFC 3339, `Z`, sub-second
/// digits only when there are any, in groups of 3, 6 or 9), as one string. chrono hands the
/// serializer its text in pieces of a character or two, and serde_json escapes each piece on its
/// own: 6% of the service's time in S2's profile, for the 160 timestamps of a dashboard. For
/// `#[serde(serialize_with)]` on the fields of the lists and details.
pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut text = [0u8; 30];
    match write_rfc3339(at, &mut text) {
        Some(len) => {
            let text = std::str::from_utf8(&text[..len]).map_err(serde::ser::Error::custom)?;
            serializer.serialize_str(text)
        }
        None => at.serialize(serializer),
    }
}

/// [`rfc3339`] for an optional timestamp (`null` when absent).
pub fn rfc3339_opt<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// Writes `YYYY-MM-DDTHH:MM:SS[.fff[fff[fff]]]Z`; `None` for what chrono writes otherwise (a
/// year outside 0-9999, a leap second), left to chrono.
fn write_rfc3339(at: &DateTime<Utc>, out: &mut [u8; 30]) -> Option<usize> {
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut text = Text { out, len: 0 };
    text.digits(4, year);
    text.byte(b'-');
    text.digits(2, at.month());
    text.byte(b'-');
    text.digits(2, at.day());
    text.byte(b'T');
    text.digits(2, at.hour());
    text.byte(b':');
    text.digits(2, at.minute());
    text.byte(b':');
    text.digits(2, at.second());
    if nanos != 0 {
        text.byte(b'.');
        if nanos.is_multiple_of(1_000_000) {
            text.digits(3, nanos / 1_000_000);
        } else if nanos.is_multiple_of(1_000) {
            text.digits(6, nanos / 1_000);
        } else {
            text.digits(9, nanos);
        }
    }
    text.byte(b'Z');
    Some(text.len)
}

struct Text<'a> {
    out: &'a mut [u8; 30],
    len: usize,
}

impl Text<'_> {
    fn byte(&mut self, byte: u8) {
        self.out[self.len] = byte;
        self.len += 1;
    }

    /// `value`'s last `count` decimal digits, zero-padded.
    fn digits(&mut self, count: u32, value: u32) {
        for place in (0..count).rev() {
            self.byte(b'0' + (value / 10u32.pow(place) % 10) as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "rfc3339")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "rfc3339_opt")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(Serialize)]
    struct Chronos {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    #[test]
    fn writes_what_chrono_writes() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let times = [
            day.and_hms_opt(0, 0, 0).expect("time"),
            day.and_hms_milli_opt(9, 5, 7, 120).expect("time"),
            day.and_hms_micro_opt(23, 59, 59, 1).expect("time"),
            day.and_hms_nano_opt(13, 14, 15, 123_456_789).expect("time"),
            day.and_hms_nano_opt(13, 14, 15, 100_000_001).expect("time"),
            day.and_hms_milli_opt(23, 59, 59, 1_500)
                .expect("leap second"),
            NaiveDate::from_ymd_opt(1, 1, 1)
                .expect("date")
                .and_hms_opt(1, 2, 3)
                .expect("time"),
            NaiveDate::from_ymd_opt(12345, 6, 7)
                .expect("date")
                .and_hms_opt(8, 9, 10)
                .expect("t"),
            NaiveDate::from_ymd_opt(-44, 3, 15)
                .expect("date")
                .and_hms_opt(12, 0, 0)
                .expect("t"),
        ];
        for naive in times {
            let at = Utc.from_utc_datetime(&naive);
            for maybe in [None, Some(at)] {
                let ours = serde_json::to_string(&Ours { at, maybe }).expect("ours");
                let chronos = serde_json::to_string(&Chronos { at, maybe }).expect("chrono's");
                assert_eq!(ours, chronos, "{naive:?}");
            }
        }
    }
}
