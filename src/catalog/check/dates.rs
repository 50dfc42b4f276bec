//! Dates and times: TOML dates and datetimes read in China time when they carry no offset.

use super::{Checker, Datetime, S, rules};

impl Checker<'_> {
    /// `use_label.valid_date`: a bare TOML date, sent as `yyyy-MM-dd`.
    pub(super) fn date_only(&mut self, d: &S<Datetime>) -> Option<String> {
        match (d.get_ref().date, d.get_ref().time) {
            (Some(date), None) => Some(format!(
                "{:04}-{:02}-{:02}",
                date.year, date.month, date.day
            )),
            _ => {
                self.push(
                    rules::DATE_FORM,
                    d.span(),
                    "course.valid_until must be a date like 2027-12-31, without a time",
                );
                None
            }
        }
    }

    /// A TOML date or datetime as unix milliseconds; no offset means China time (+08:00).
    pub(super) fn timestamp_ms(&mut self, d: &S<Datetime>, field: &str) -> Option<i64> {
        match datetime_to_ms(d.get_ref()) {
            Some(ms) => Some(ms),
            None => {
                self.push(
                    rules::DATE_FORM,
                    d.span(),
                    format!("`{field}` must be a date or a date with a time"),
                );
                None
            }
        }
    }
}

/// China time: a TOML datetime without an offset, and a bare date, are read in +08:00
/// (PRODUCT.md "Settled details").
const CHINA_OFFSET_MINUTES: i16 = 8 * 60;

/// Converts a TOML date or datetime to unix milliseconds; no offset means +08:00.
pub fn datetime_to_ms(d: &Datetime) -> Option<i64> {
    let date = d.date?;
    let month = time::Month::try_from(date.month).ok()?;
    let day = time::Date::from_calendar_date(i32::from(date.year), month, date.day).ok()?;
    let tod = match d.time {
        Some(t) => time::Time::from_hms_nano(
            t.hour,
            t.minute,
            t.second.unwrap_or(0),
            t.nanosecond.unwrap_or(0),
        )
        .ok()?,
        None => time::Time::MIDNIGHT,
    };
    let minutes = match d.offset {
        Some(toml::value::Offset::Z) => 0,
        Some(toml::value::Offset::Custom { minutes }) => minutes,
        None => CHINA_OFFSET_MINUTES,
    };
    let offset = time::UtcOffset::from_whole_seconds(i32::from(minutes) * 60).ok()?;
    let at = time::PrimitiveDateTime::new(day, tod).assume_offset(offset);
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}
