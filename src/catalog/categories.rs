//! The category codes known offline (platform-api.md §10). The platform's `query_class_info` is
//! authoritative at run time; this table only lets `validate` warn about a likely typo.

/// (first_class, second_class, first_class name, second_class name); a name is `None` where
/// the sources give none [?].
pub const KNOWN: &[(i64, i64, Option<&str>, Option<&str>)] = &[
    (10000, 10100, Some("少儿成长"), Some("家长教育")),
    (10000, 10300, Some("少儿成长"), Some("少儿编程")),
    (10000, 10400, Some("少儿成长"), Some("儿童兴趣")),
    (30000, 30100, Some("语言培训"), Some("英语")),
    (30000, 30200, Some("语言培训"), Some("汉语学习")),
    (40000, 40600, None, None),
    (50000, 50300, None, None),
    (50000, 51700, None, None),
    (70000, 70500, None, None),
];

/// The name of a first_class code, when the table knows one.
pub fn first_name(code: i64) -> Option<&'static str> {
    KNOWN.iter().find(|row| row.0 == code).and_then(|row| row.2)
}

/// The name of a second_class code, when the table knows one.
pub fn second_name(code: i64) -> Option<&'static str> {
    KNOWN.iter().find(|row| row.1 == code).and_then(|row| row.3)
}

pub fn is_known_first(code: i64) -> bool {
    KNOWN.iter().any(|row| row.0 == code)
}

/// The first_class a known second_class belongs to.
pub fn parent_of(second: i64) -> Option<i64> {
    KNOWN.iter().find(|row| row.1 == second).map(|row| row.0)
}

/// The nearest known first_class code.
pub fn nearest_first(code: i64) -> i64 {
    KNOWN
        .iter()
        .map(|row| row.0)
        .min_by_key(|f| f.abs_diff(code))
        .expect("table is not empty")
}

/// The nearest known second_class code, preferring those under `first` when it is known.
pub fn nearest_second(first: i64, code: i64) -> i64 {
    let under: Vec<i64> = KNOWN
        .iter()
        .filter(|row| row.0 == first)
        .map(|row| row.1)
        .collect();
    let pool: Vec<i64> = if under.is_empty() {
        KNOWN.iter().map(|row| row.1).collect()
    } else {
        under
    };
    pool.into_iter()
        .min_by_key(|s| s.abs_diff(code))
        .expect("table is not empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_codes_of_any_integer() {
        assert_eq!(nearest_first(10_001), 10_000);
        for code in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX] {
            let _ = nearest_first(code);
            let _ = nearest_second(10_000, code);
            let _ = nearest_second(code, code);
        }
    }
}
