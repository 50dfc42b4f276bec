//! The category codes known offline (platform-api.md §10). The platform's `query_class_info` is
//! authoritative at run time; this table only lets `validate` warn about a likely typo.

/// (first_class, second_class, name) — names are [?] where the sources give none.
pub const KNOWN: &[(i64, i64, &str)] = &[
    (10000, 10100, "少儿成长 / 家长教育"),
    (10000, 10300, "少儿成长 / 少儿编程"),
    (10000, 10400, "少儿成长 / 儿童兴趣"),
    (30000, 30100, "语言培训 / 英语"),
    (30000, 30200, "语言培训 / 汉语学习"),
    (40000, 40600, "40000 / 40600"),
    (50000, 50300, "50000 / 50300"),
    (50000, 51700, "50000 / 51700"),
    (70000, 70500, "70000 / 70500"),
];

pub fn is_known_first(code: i64) -> bool {
    KNOWN.iter().any(|(f, _, _)| *f == code)
}

/// The first_class a known second_class belongs to.
pub fn parent_of(second: i64) -> Option<i64> {
    KNOWN
        .iter()
        .find(|(_, s, _)| *s == second)
        .map(|(f, _, _)| *f)
}

/// The nearest known first_class code.
pub fn nearest_first(code: i64) -> i64 {
    KNOWN
        .iter()
        .map(|(f, _, _)| *f)
        .min_by_key(|f| f.abs_diff(code))
        .expect("table is not empty")
}

/// The nearest known second_class code, preferring those under `first` when it is known.
pub fn nearest_second(first: i64, code: i64) -> i64 {
    let under: Vec<i64> = KNOWN
        .iter()
        .filter(|(f, _, _)| *f == first)
        .map(|(_, s, _)| *s)
        .collect();
    let pool: Vec<i64> = if under.is_empty() {
        KNOWN.iter().map(|(_, s, _)| *s).collect()
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
