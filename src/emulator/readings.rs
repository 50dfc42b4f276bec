//! Readings: how the emulator answers where platform-api.md leaves a fact open (PRODUCT.md
//! "Platform facts the documents leave open"). Each open fact can be answered either way, so the
//! client's tests can run against every reading instead of against the emulator's own guess.
//!
//! | reading | values (default first) | what changes |
//! |---|---|---|
//! | `add-dedupe` | `yes`, `no` | `no`: `add` of a course_id that a live or in-review product carries creates another product instead of answering 10140 with the existing id; `modify`/`modify_no_audit` no longer answer 10141 either (course_id is not unique on such a platform) |
//! | `status-field` | `listing`, `audit` | `product_status.status` of the on-shelf version in `query`: the listing code (the `modify-status` codes: 1 listed, 2 delisted by default), or the audit status of that version (2 passed, as `query_review` says). The reviewing version always shows its audit status (1/2/3) |
//! | `query-echo` | `full`, `sparse` | `sparse`: `common_product_info` carries only `title`, `first_class`, `second_class`, `product_img_url`, `price_info`, `path_info_lst` and `product_fulfillment_lst`; `course_info` carries only `teacher_introduction` (`""`), like the documented sample, and nothing that was sent in `course_params` |
//! | `token` | `stable`, `revoked` | `revoked`: a newly issued token invalidates the app's older tokens at once (no 5-minute grace) |
//! | `modify-status` | `1/2`, any `L/D` | the `modify_status.status` codes that list (`L`) and delist (`D`); any other code is refused with 10002 |
//! | `resource-types` | `3/4/5`, any `A/P/O` | the `upload_resource.resource_type` codes of audio, pdf and office files; image 1, video 2 and cover 31 are always accepted. The file's content is not looked at: an accepted code is accepted for any file |
//!
//! On the command line: `coursesync emulator --reading add-dedupe=no --reading status-field=audit`;
//! in code: [`Readings::set`] or [`Readings::parse`]. The defaults are the readings the emulator
//! had before readings existed (and the client's assumptions).

use std::fmt;

/// What `product_status.status` of the on-shelf version means in a `query` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusField {
    /// The listing code (the `modify-status` codes).
    Listing,
    /// The audit status of the version (1 reviewing, 2 passed, 3 rejected).
    Audit,
}

/// How much of what was sent a `query` answer carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryEcho {
    Full,
    Sparse,
}

/// Whether issuing a token invalidates the older ones at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenReading {
    /// Older tokens keep working for 5 minutes (platform-api.md §2.2).
    Stable,
    /// Older tokens stop working at once.
    Revoked,
}

/// One reading per open fact; [`Readings::default`] is the emulator's historical behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readings {
    /// `add-dedupe`: a repeated `add` of a live course_id is answered 10140 (`true`).
    pub add_dedupe: bool,
    /// `status-field`.
    pub status_field: StatusField,
    /// `query-echo`.
    pub query_echo: QueryEcho,
    /// `token`.
    pub token: TokenReading,
    /// `modify-status`: (list code, delist code).
    pub modify_status: (i64, i64),
    /// `resource-types`: (audio, pdf, office) codes.
    pub resource_types: (i64, i64, i64),
}

impl Default for Readings {
    fn default() -> Self {
        Readings {
            add_dedupe: true,
            status_field: StatusField::Listing,
            query_echo: QueryEcho::Full,
            token: TokenReading::Stable,
            modify_status: (1, 2),
            resource_types: (3, 4, 5),
        }
    }
}

/// Every reading name, in the order [`Readings`]'s `Display` prints them.
pub const NAMES: &[&str] = &[
    "add-dedupe",
    "status-field",
    "query-echo",
    "token",
    "modify-status",
    "resource-types",
];

/// The common_product_info keys a `query-echo=sparse` answer keeps (response-side names).
pub const SPARSE_COMMON_KEYS: &[&str] = &[
    "title",
    "first_class",
    "second_class",
    "product_img_url",
    "price_info",
    "path_info_lst",
    "product_fulfillment_lst",
];

impl Readings {
    /// The default readings with each `NAME=VALUE` of `args` applied in order.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Readings, String> {
        let mut readings = Readings::default();
        for arg in args {
            readings.set(arg.as_ref())?;
        }
        Ok(readings)
    }

    /// Applies one `NAME=VALUE`.
    pub fn set(&mut self, arg: &str) -> Result<(), String> {
        let (name, value) = arg
            .split_once('=')
            .map(|(n, v)| (n.trim(), v.trim()))
            .ok_or_else(|| format!("`{arg}` is not NAME=VALUE (names: {})", NAMES.join(", ")))?;
        let bad = |allowed: &str| format!("`{value}` is not a value of {name} ({allowed})");
        match name {
            "add-dedupe" => {
                self.add_dedupe = match value {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(bad("yes|no")),
                }
            }
            "status-field" => {
                self.status_field = match value {
                    "listing" => StatusField::Listing,
                    "audit" => StatusField::Audit,
                    _ => return Err(bad("listing|audit")),
                }
            }
            "query-echo" => {
                self.query_echo = match value {
                    "full" => QueryEcho::Full,
                    "sparse" => QueryEcho::Sparse,
                    _ => return Err(bad("full|sparse")),
                }
            }
            "token" => {
                self.token = match value {
                    "stable" => TokenReading::Stable,
                    "revoked" => TokenReading::Revoked,
                    _ => return Err(bad("stable|revoked")),
                }
            }
            "modify-status" => {
                let codes = codes(value, 2).ok_or_else(|| bad("LIST/DELIST, e.g. 1/2"))?;
                self.modify_status = (codes[0], codes[1]);
            }
            "resource-types" => {
                let codes = codes(value, 3).ok_or_else(|| bad("AUDIO/PDF/OFFICE, e.g. 3/4/5"))?;
                if codes.iter().any(|c| [1, 2, 31].contains(c)) {
                    return Err(format!(
                        "resource-types `{value}`: 1 (image), 2 (video) and 31 (cover) are taken"
                    ));
                }
                self.resource_types = (codes[0], codes[1], codes[2]);
            }
            _ => {
                return Err(format!(
                    "unknown reading `{name}` (names: {})",
                    NAMES.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The readings that differ from the defaults, as `NAME=VALUE`.
    pub fn non_default(&self) -> Vec<String> {
        let default = Readings::default().pairs();
        self.pairs()
            .into_iter()
            .zip(default)
            .filter(|(mine, default)| mine != default)
            .map(|((name, value), _)| format!("{name}={value}"))
            .collect()
    }

    /// Every reading as (name, value), in [`NAMES`] order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let (list, delist) = self.modify_status;
        let (audio, pdf, office) = self.resource_types;
        vec![
            (
                "add-dedupe",
                if self.add_dedupe { "yes" } else { "no" }.into(),
            ),
            (
                "status-field",
                match self.status_field {
                    StatusField::Listing => "listing",
                    StatusField::Audit => "audit",
                }
                .into(),
            ),
            (
                "query-echo",
                match self.query_echo {
                    QueryEcho::Full => "full",
                    QueryEcho::Sparse => "sparse",
                }
                .into(),
            ),
            (
                "token",
                match self.token {
                    TokenReading::Stable => "stable",
                    TokenReading::Revoked => "revoked",
                }
                .into(),
            ),
            ("modify-status", format!("{list}/{delist}")),
            ("resource-types", format!("{audio}/{pdf}/{office}")),
        ]
    }

    /// The kind of file an accepted `upload_resource.resource_type` code stands for under these
    /// readings; `None` when the code is refused.
    pub fn resource_type_name(&self, code: i64) -> Option<&'static str> {
        let (audio, pdf, office) = self.resource_types;
        match code {
            1 => Some("image"),
            2 => Some("video"),
            31 => Some("cover"),
            c if c == audio => Some("audio"),
            c if c == pdf => Some("pdf"),
            c if c == office => Some("office"),
            _ => None,
        }
    }
}

/// `n` distinct integers separated by `/`.
fn codes(value: &str, n: usize) -> Option<Vec<i64>> {
    let codes: Vec<i64> = value
        .split('/')
        .map(|c| c.trim().parse().ok())
        .collect::<Option<_>>()?;
    let distinct = codes
        .iter()
        .enumerate()
        .all(|(i, c)| !codes[..i].contains(c));
    (codes.len() == n && distinct).then_some(codes)
}

impl fmt::Display for Readings {
    /// `add-dedupe=yes status-field=listing ...`, every reading.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self
            .pairs()
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        f.write_str(&pairs.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_todays_behaviour_and_print_back() {
        let r = Readings::default();
        assert!(r.add_dedupe);
        assert_eq!(r.status_field, StatusField::Listing);
        assert_eq!(
            r.to_string(),
            "add-dedupe=yes status-field=listing query-echo=full token=stable \
             modify-status=1/2 resource-types=3/4/5"
        );
        assert!(r.non_default().is_empty());
    }

    #[test]
    fn every_reading_parses_both_ways() {
        let r = Readings::parse(&[
            "add-dedupe=no",
            "status-field=audit",
            "query-echo=sparse",
            "token=revoked",
            "modify-status=2/1",
            "resource-types=6/7/8",
        ])
        .unwrap();
        assert!(!r.add_dedupe);
        assert_eq!(r.status_field, StatusField::Audit);
        assert_eq!(r.query_echo, QueryEcho::Sparse);
        assert_eq!(r.token, TokenReading::Revoked);
        assert_eq!(r.modify_status, (2, 1));
        assert_eq!(r.resource_types, (6, 7, 8));
        assert_eq!(r.non_default().len(), 6);
        let back = Readings::parse(&r.non_default()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.resource_type_name(7), Some("pdf"));
        assert_eq!(r.resource_type_name(3), None);
    }

    #[test]
    fn bad_readings_are_refused_with_the_allowed_values() {
        let err = Readings::parse(&["add-dedupe=maybe"]).unwrap_err();
        assert!(err.contains("yes|no"), "{err}");
        let err = Readings::parse(&["colour=blue"]).unwrap_err();
        assert!(err.contains("unknown reading `colour`"), "{err}");
        assert!(err.contains("add-dedupe"), "{err}");
        assert!(Readings::parse(&["token"]).is_err());
        assert!(Readings::parse(&["modify-status=1/1"]).is_err());
        assert!(Readings::parse(&["modify-status=1"]).is_err());
        assert!(Readings::parse(&["resource-types=3/4/31"]).is_err());
        assert!(Readings::parse(&["resource-types=3/x/5"]).is_err());
    }
}
