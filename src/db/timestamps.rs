//! How a stored timestamp is read. PostgreSQL sends it as a binary count of microseconds; SQLite
//! stores the text diesel writes, `YYYY-MM-DD HH:MM:SS[.fraction]`, and diesel reads it back
//! with chrono's `parse_from_str`, which interprets its format string afresh each time: 17% of
//! the instructions of a SQLite dashboard (issue 13, phase 6). That one shape is read here by
//! hand; anything else (another format, a leap second, a year beyond four digits) goes to
//! diesel's own parser, so every value it accepted is still accepted, as the same moment.
//! The patched derive (`vendor/diesel_derives/PATCH.md`) leaves this one impl to this file.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

use super::{MultiBackend, MultiRawValue};

impl FromSql<Timestamp, MultiBackend> for NaiveDateTime {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        match value {
            MultiRawValue::Sqlite(mut raw) => match parse_stored(raw.read_text()) {
                Some(moment) => Ok(moment),
                None => <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(raw),
            },
            MultiRawValue::Postgres(raw) => {
                <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(raw)
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1 to 9 digits of fraction, exactly as chrono's
/// `%F %T%.f` reads it; `None` for any other text.
fn parse_stored(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b' '
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(&bytes[0..4])?).ok()?,
        digits(&bytes[5..7])?,
        digits(&bytes[8..10])?,
    )?;
    let nanos = match &bytes[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(fraction)? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let seconds = digits(&bytes[17..19])?;
    if seconds > 59 {
        return None; // a leap second: chrono's parser knows how it is represented
    }
    let time = NaiveTime::from_hms_nano_opt(
        digits(&bytes[11..13])?,
        digits(&bytes[14..16])?,
        seconds,
        nanos,
    )?;
    Some(date.and_time(time))
}

/// The value of a run of ASCII digits (at most 9, so it fits); `None` if any byte is not one.
fn digits(run: &[u8]) -> Option<u32> {
    run.iter().try_fold(0u32, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    use super::*;

    fn chronos(text: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(text, "%F %T%.f").ok()
    }

    proptest! {
        /// Whatever diesel writes (`%F %T%.f`) for a moment of years 0-9999 is read here, as
        /// that moment (3,652,425 days from 0000-01-01 end on 9999-12-31).
        #[test]
        fn what_diesel_writes_is_read_back_as_the_same_moment(
            days in 0i64..3_652_425,
            seconds in 0u32..86_400,
            nanos in 0u32..1_000_000_000,
        ) {
            let date = NaiveDate::from_ymd_opt(0, 1, 1).expect("date") + chrono::Duration::days(days);
            let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos).expect("time");
            let moment = date.and_time(time);
            let written = moment.format("%F %T%.f").to_string();
            prop_assert_eq!(parse_stored(&written), Some(moment), "{}", written);
        }

        /// Any text read here is read as chrono reads it: a written moment with one or two of
        /// its bytes replaced by a digit, a separator, a sign, a letter or a multi-byte character,
        /// or cut short.
        #[test]
        fn what_is_read_here_chrono_reads_the_same(
            seconds in 0i64..315_537_897_599,
            nanos in 0u32..1_000_000_000,
            edits in proptest::collection::vec((0usize..32, "[0-9 :.+\\-TZa\u{e9}\u{20ac}]"), 1..3),
            cut in 17usize..33,
        ) {
            let moment = chrono::DateTime::from_timestamp(seconds - 62_167_219_200, nanos)
                .expect("moment")
                .naive_utc();
            let mut text: Vec<String> = moment
                .format("%F %T%.f")
                .to_string()
                .chars()
                .map(String::from)
                .collect();
            for (at, with) in edits {
                if at < text.len() {
                    text[at] = with;
                }
            }
            let text: String = text.into_iter().take(cut).collect();
            if let Some(read) = parse_stored(&text) {
                prop_assert_eq!(Some(read), chronos(&text), "{}", text);
            }
        }

        /// A well-shaped text with any digits: read here exactly when chrono reads it, except a
        /// leap second, which is left to chrono.
        #[test]
        fn a_well_shaped_text_is_read_exactly_when_chrono_reads_it(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?",
        ) {
            let chrono = chronos(&text);
            let leap = chrono.is_some_and(|m| m.nanosecond() >= 1_000_000_000);
            if !leap {
                prop_assert_eq!(parse_stored(&text), chrono, "{}", text);
            }
        }
    }

    #[test]
    fn other_shapes_are_left_to_diesels_parser() {
        for text in [
            "2026-12-02T10:00:00",
            "2026-12-02 10:00",
            "2026-12-02 10:00:00Z",
            "2026-12-02 10:00:00+00:00",
            "2026-12-02 10:00:00.",
            "2026-12-02 10:00:00.1234567890",
            "2016-12-31 23:59:60",
            "12026-12-02 10:00:00",
            "2459580.5",
        ] {
            assert_eq!(parse_stored(text), None, "{text}");
        }
        let leap = chronos("2016-12-31 23:59:60.5").expect("chrono reads a leap second");
        assert_eq!(leap.second(), 59);
        assert_eq!(leap.year(), 2016);
    }
}
