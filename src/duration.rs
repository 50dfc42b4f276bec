//! Durations as people write them on the command line: `500ms`, `90s`, `10m`, `1h 30m` (parsed
//! by humantime), or a bare number of seconds. Bounded by [`MAX`], so that no deadline or
//! backoff computed from one can overflow (a panic is a bug).

use std::time::Duration;

/// The longest duration accepted anywhere: 366 days.
pub const MAX: Duration = Duration::from_hours(366 * 24);

/// Parses a duration; an error names the text and the accepted forms.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>().ok().map(Duration::from_secs)
    } else {
        humantime::parse_duration(text).ok()
    };
    let d =
        parsed.ok_or_else(|| format!("`{text}` is not a duration like 500ms, 90s, 10m or 1h"))?;
    if d > MAX {
        return Err(format!(
            "`{text}` is longer than the limit of {}",
            show(MAX)
        ));
    }
    Ok(d)
}

/// `1h`, `10m`, `90s`, `500ms`: the largest unit that divides it exactly.
pub fn show(d: Duration) -> String {
    if d.subsec_nanos() != 0 {
        return format!("{}ms", d.as_millis());
    }
    let s = d.as_secs();
    if s >= 86_400 && s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_people_write() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("10m"), Ok(Duration::from_mins(10)));
        assert_eq!(parse("1h"), Ok(Duration::from_hours(1)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_mins(90)));
        for bad in ["", "m", "-1s", "10 parsecs", "s10"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn huge_values_are_errors_not_overflows() {
        assert!(parse("367d").is_err());
        assert!(parse("18446744073709551615").is_err());
        assert!(parse("99999999999999999999999h").is_err());
        assert_eq!(parse("366d"), Ok(MAX));
    }

    #[test]
    fn shown_in_the_largest_exact_unit() {
        assert_eq!(show(Duration::from_mins(30)), "30m");
        assert_eq!(show(Duration::from_secs(90)), "90s");
        assert_eq!(show(Duration::from_hours(2)), "2h");
        assert_eq!(show(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show(MAX), "366d");
    }
}
