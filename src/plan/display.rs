//! Values in the author's language, for the human and markdown plans (PRODUCT.md "Reports and
//! editors"): the canonical payload holds the platform's values (milliseconds, fen, category
//! codes), and the JSON plan keeps them; here a time reads `2027-12-01 00:00 +08:00`, a price
//! `¥49.00 (4900 fen)`, a category `10300 少儿编程`, a gift type by its name, and field changes
//! come in the course file's documented order.

use std::fmt::Write as _;

use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

use super::FieldChange;
use crate::catalog::{categories, codes, fields};

/// China time: the platform's zone, and how coursesync reads a time written without an offset.
const CHINA: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("+08:00 is a valid offset"),
};

/// The field changes in the course file's documented order.
pub fn ordered(changes: &[FieldChange]) -> Vec<&FieldChange> {
    let mut out: Vec<&FieldChange> = changes.iter().collect();
    out.sort_by_cached_key(|f| fields::sort_key(&f.path));
    out
}

/// A payload value at `path` as the author would write or read it; JSON text otherwise.
pub fn value(path: &str, v: &Value) -> String {
    let shown = match (path, v) {
        ("course.start" | "course.end", Value::Number(n)) => n.as_i64().and_then(datetime),
        ("course.valid_until", Value::String(s)) => Some(s.clone()),
        (
            "price.price" | "price.real_price" | "price.range_min_price" | "price.range_max_price",
            Value::Number(n),
        ) => n.as_i64().map(yuan),
        ("first_class", Value::Number(n)) => {
            n.as_i64().map(|c| category(c, categories::first_name(c)))
        }
        ("second_class", Value::Number(n)) => {
            n.as_i64().map(|c| category(c, categories::second_name(c)))
        }
        ("gift.type", Value::Number(n)) => n.as_i64().and_then(|code| {
            codes::GIFT_KINDS
                .iter()
                .find(|(_, c)| *c == code)
                .map(|(name, _)| format!("{name:?}"))
        }),
        _ => None,
    };
    shown.unwrap_or_else(|| v.to_string())
}

/// Milliseconds since 1970 in China time: `2027-12-01 00:00 +08:00`, with seconds and
/// milliseconds only when there are any.
fn datetime(ms: i64) -> Option<String> {
    // Checked: a time near the end of year 9999 has no China time (a saved plan may say so).
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .checked_to_offset(CHINA)?;
    let mut text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    );
    if t.second() != 0 || t.millisecond() != 0 {
        let _ = write!(text, ":{:02}", t.second());
    }
    if t.millisecond() != 0 {
        let _ = write!(text, ".{:03}", t.millisecond());
    }
    text.push_str(" +08:00");
    Some(text)
}

/// Fen as yuan beside the fen: `¥49.00 (4900 fen)`.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}¥{}.{:02} ({fen} fen)", abs / 100, abs % 100)
}

/// A category code with its name when the offline table knows one: `10300 少儿编程`.
fn category(code: i64, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{code} {name}"),
        None => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn times_read_in_china_time() {
        assert_eq!(
            value("course.end", &json!(1_827_590_400_000_i64)),
            "2027-12-01 00:00 +08:00"
        );
        assert_eq!(
            value("course.start", &json!(1_796_054_400_000_i64 + 30_500)),
            "2026-12-01 00:00:30.500 +08:00"
        );
        assert_eq!(
            value("course.start", &json!(1_796_054_400_000_i64 + 7_000)),
            "2026-12-01 00:00:07 +08:00"
        );
        assert_eq!(
            value("course.valid_until", &json!("2027-12-31")),
            "2027-12-31"
        );
        // Out of range for a calendar: the number as it is.
        assert_eq!(
            value("course.start", &json!(i64::MAX)),
            i64::MAX.to_string()
        );
        // The last UTC millisecond of year 9999 is in year 10000 in China: no panic, the number
        // (found by the saved-plan property test).
        let last = 253_402_300_799_999_i64;
        assert_eq!(value("course.end", &json!(last)), last.to_string());
    }

    #[test]
    fn prices_read_in_yuan_beside_the_fen() {
        assert_eq!(value("price.real_price", &json!(4900)), "¥49.00 (4900 fen)");
        assert_eq!(value("price.price", &json!(5)), "¥0.05 (5 fen)");
        assert_eq!(
            value("price.range_max_price", &json!(1_000_000)),
            "¥10000.00 (1000000 fen)"
        );
        assert_eq!(value("price.unit", &json!("节")), "\"节\"");
        assert_eq!(value("price.price", &json!(-150)), "-¥1.50 (-150 fen)");
    }

    #[test]
    fn categories_read_with_their_names_when_known() {
        assert_eq!(value("first_class", &json!(10000)), "10000 少儿成长");
        assert_eq!(value("second_class", &json!(10300)), "10300 少儿编程");
        assert_eq!(value("second_class", &json!(40600)), "40600");
        assert_eq!(value("second_class", &json!(12345)), "12345");
    }

    #[test]
    fn gift_type_reads_by_name() {
        assert_eq!(value("gift.type", &json!(2)), "\"virtual\"");
        assert_eq!(value("gift.type", &json!(1)), "\"physical\"");
        assert_eq!(value("gift.type", &json!(9)), "9");
        assert_eq!(value("gift.num", &json!(2)), "2");
    }
}
