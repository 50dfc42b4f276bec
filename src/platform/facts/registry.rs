//! The registry: every platform fact the client relies on, one entry each, with its stable name,
//! its tag as platform-api.md tags it ([C] confirmed, [I] inferred, [?] not found) and the §
//! it comes from, the value the client assumes, and what the client does while the fact is
//! unsettled. `docs/platform-facts.md` is generated from it (a test fails when stale).
//!
//! The assumed values are rendered from the constants the code uses (`super::*`), so the
//! document cannot disagree with the code. The open facts ([`OpenFact`]) are the ones
//! `platform-facts.toml` can settle.

use std::fmt::Write as _;

use super::known::{FILE_NAME, OpenFact};
use super::{path, resource_status, review_status};
use crate::catalog::codes::resource_type;

/// How platform-api.md tags a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// [C] seen in a cited source.
    Confirmed,
    /// [I] deduced; a hypothesis to test in the sandbox.
    Inferred,
    /// [?] not found in any source.
    Unknown,
}

impl Tag {
    pub fn mark(self) -> &'static str {
        match self {
            Tag::Confirmed => "[C]",
            Tag::Inferred => "[I]",
            Tag::Unknown => "[?]",
        }
    }
}

/// One fact the client relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// Stable, dotted, lower case.
    pub name: &'static str,
    pub tag: Tag,
    /// Where in platform-api.md, e.g. `§5.1`.
    pub section: &'static str,
    /// What the fact says.
    pub what: &'static str,
    /// The value the client assumes, rendered from the constant it uses.
    pub assumed: String,
    /// What the client does while the fact is not settled (for a [C] fact: what it does if the
    /// platform ever answers otherwise).
    pub while_unsettled: &'static str,
    /// Settable in `platform-facts.toml` (and settled by `coursesync probe`).
    pub open: Option<OpenFact>,
}

fn fact(
    name: &'static str,
    tag: Tag,
    section: &'static str,
    what: &'static str,
    assumed: impl Into<String>,
    while_unsettled: &'static str,
) -> Fact {
    Fact {
        name,
        tag,
        section,
        what,
        assumed: assumed.into(),
        while_unsettled,
        open: None,
    }
}

fn open(
    of: OpenFact,
    tag: Tag,
    section: &'static str,
    what: &'static str,
    while_unsettled: &'static str,
) -> Fact {
    Fact {
        name: of.name(),
        tag,
        section,
        what,
        assumed: of.assumed().to_toml(),
        while_unsettled,
        open: Some(of),
    }
}

const FAIL_LOUD: &str = "an answer that contradicts it is an error naming the endpoint";

/// Every fact, grouped as platform-api.md is: hosts and paths, authentication, envelopes and
/// errors, endpoints, uploads, sandbox.
pub fn registry() -> Vec<Fact> {
    use Tag::{Confirmed as C, Inferred as I, Unknown as Q};
    let p = |endpoint: &'static str, path: &str| {
        fact(
            endpoint,
            C,
            "§4.1",
            "course-library endpoint, POST with a JSON body",
            path,
            FAIL_LOUD,
        )
    };
    vec![
        // Hosts and paths.
        fact(
            "host.production.product",
            C,
            "§1",
            "course-library host in production",
            crate::settings::PRODUCTION_PRODUCT_BASE,
            "`app.base_url` / COURSESYNC_BASE_URL replace it",
        ),
        fact(
            "host.production.token",
            C,
            "§1",
            "access-token host in production",
            crate::settings::PRODUCTION_TOKEN_BASE,
            "`app.base_url` / COURSESYNC_BASE_URL replace it",
        ),
        fact(
            "host.sandbox",
            C,
            "§1, §12",
            "the sandbox serves the course library and the token from one host, same paths",
            crate::settings::SANDBOX_BASE,
            "`app.base_url` / COURSESYNC_BASE_URL replace it",
        ),
        fact(
            "path.token",
            C,
            "§2.2",
            "getAccessToken v2",
            path::TOKEN,
            FAIL_LOUD,
        ),
        p("path.upload_resource", path::UPLOAD_RESOURCE),
        p("path.query_resource_status", path::QUERY_RESOURCE_STATUS),
        p("path.add", path::ADD),
        p("path.modify", path::MODIFY),
        p("path.modify_no_audit", path::MODIFY_NO_AUDIT),
        p("path.modify_status", path::MODIFY_STATUS),
        p("path.query", path::QUERY),
        p("path.query_review", path::QUERY_REVIEW),
        p("path.query_class_info", path::QUERY_CLASS_INFO),
        p("path.sync_callback_url", path::SYNC_CALLBACK_URL),
        fact(
            "request.content_type",
            C,
            "§1",
            "Content-Type is exactly application/json, no charset segment",
            "application/json",
            FAIL_LOUD,
        ),
        // Authentication.
        fact(
            "auth.token_in_body",
            C,
            "§2.1",
            "the access token travels in the JSON body as `access_token`, beside `appid`; no request signature (§2.3)",
            "access_token in the body",
            "no body is ever logged or put in an error, since the token is in it",
        ),
        fact(
            "token.grant_type",
            C,
            "§2.2",
            "the only grant type of getAccessToken v2",
            super::GRANT_TYPE,
            FAIL_LOUD,
        ),
        fact(
            "token.renew_margin",
            C,
            "§2.2",
            "a token lives `expires_in` (7200 s); GO-R renews 600 s early",
            format!("{} s", super::TOKEN_RENEW_MARGIN.as_secs()),
            "renew on the token error too (token.err_invalid)",
        ),
        open(
            OpenFact::TokenNewRevokesOld,
            C,
            "§2.2",
            "fetching a new token invalidates older ones at once (the old, v1 doc says it only shortens them to ~5 minutes)",
            "renew on the token error as often as needed, within a bounded budget, so a long apply survives repeated revocation",
        ),
        fact(
            "token.err_bad_appid",
            C,
            "§2.2",
            "getAccessToken: wrong appid",
            super::TOKEN_ERR_BAD_APPID.to_string(),
            "fatal, with a hint to check app.appid",
        ),
        fact(
            "token.err_bad_secret",
            C,
            "§2.2",
            "getAccessToken: wrong secret",
            super::TOKEN_ERR_BAD_SECRET.to_string(),
            "fatal, with a hint to check COURSESYNC_APP_SECRET",
        ),
        fact(
            "token.err_bad_grant_type",
            C,
            "§2.2",
            "getAccessToken: grant_type is not client_credential",
            super::TOKEN_ERR_BAD_GRANT_TYPE.to_string(),
            "fatal",
        ),
        fact(
            "token.err_invalid",
            I,
            "§2.2, §13",
            "a product API answers this err_no for an invalid or expired access token (JAVA-V drops its token on it)",
            super::ERR_TOKEN_INVALID.to_string(),
            "renew the token and send again (the request surely was not performed); any other err_no is not taken for a token error",
        ),
        // Envelopes and errors.
        fact(
            "envelope.product",
            C,
            "§3",
            "course-library answers are {err_no, err_msg, log_id, data}; success is HTTP 200 and err_no 0",
            format!("err_no {}", super::ERR_OK),
            "an answer that is not this JSON is a decode error naming the endpoint and a masked slice of the body",
        ),
        fact(
            "envelope.lenient_ids",
            C,
            "§3",
            "product_id and log_id arrive as JSON numbers or as strings",
            "both accepted",
            "both are read",
        ),
        fact(
            "err.system_busy",
            I,
            "§2.2, §13",
            "err_no -1 is \"system error\" ([C] on the token endpoint); taken as \"busy, try again\" everywhere",
            super::ERR_SYSTEM_BUSY.to_string(),
            "retried with backoff like a 5xx; on a write its outcome counts as unknown",
        ),
        fact(
            "http.5xx_transient",
            C,
            "§13",
            "HTTP 504 is seen \"fairly often\"; JAVA-S retries non-200 answers",
            "5xx and 429 retried",
            "capped, jittered backoff honouring Retry-After; a write whose answer was lost counts as maybe performed",
        ),
        fact(
            "rate.qps",
            Q,
            "§14",
            "per-endpoint QPS of /product/api/*",
            "apply.max_qps (default 20) for all endpoints together",
            "client-side limit from the settings; 429 is retried honouring Retry-After",
        ),
        // Course endpoints.
        fact(
            "add.product_type",
            C,
            "§15",
            "product_type 1 = course, the only documented value",
            super::PRODUCT_TYPE_COURSE.to_string(),
            FAIL_LOUD,
        ),
        fact(
            "add.industry_type",
            C,
            "§15",
            "industry_type 1, the only value ever seen (its meaning is [I])",
            super::INDUSTRY_TYPE.to_string(),
            "always sent as 1",
        ),
        fact(
            "add.course_id_in_path_query",
            C,
            "§5.1",
            "path_info_lst[].query must carry course_id, unique per mini-program",
            "course_id added to every page query",
            "import finds a product's course_id there",
        ),
        fact(
            "add.callback_data",
            C,
            "§5.1",
            "callback_data (<= 1024 bytes) is echoed in callbacks",
            "the course_id",
            "an audit callback names the course, so a product whose add answer was lost can be found",
        ),
        fact(
            "add.auto_listed_on_approval",
            C,
            "§5.1",
            "an approved course is listed automatically",
            "approved means listed",
            "import records an approved product as listed unless the listing is known from a confirmed reading",
        ),
        fact(
            "add.rejected_id_dead",
            C,
            "§5.1",
            "a product_id whose first audit failed is dead; a fixed course is added again for a new id",
            "re-add after a rejected first add",
            "a dead id is never queried for drift",
        ),
        fact(
            "add.err_already_in_review",
            I,
            "§13",
            "add answers 10140/10141 with the existing product id in err_msg (\"已进审课程7266291344409690173\")",
            format!("{:?}", super::ERR_ALREADY_IN_REVIEW),
            "the product id in the message is adopted; without a readable id the answer is an error",
        ),
        open(
            OpenFact::AddRepeatAnswers10140,
            I,
            "§13",
            "a repeated add of a course_id that is in review or live is answered 10140/10141 instead of creating a second product",
            "an add whose answer was lost (timeout, 5xx, dropped connection, a kill) is not sent again: the course is held as unknown_outcome until `import --product-id N` or `apply --resend COURSE_ID`",
        ),
        fact(
            "modify.keeps_listing",
            C,
            "§5.2",
            "modify re-audits; the approved version stays live and the listing is unaffected",
            "listing unchanged by modify",
            "listing is changed only by modify_status",
        ),
        fact(
            "modify_no_audit.paths_only",
            C,
            "§5.3",
            "modify_no_audit changes path_info_lst without audit",
            "path-only changes skip audit",
            FAIL_LOUD,
        ),
        open(
            OpenFact::ModifyStatusCodes,
            Q,
            "§5.4",
            "modify_status.product_status_info.status codes for list (上架) and delist (下架); the guess is [I]",
            "the guess is sent (there is no safer code); listing changes are few and shown in the plan; settle it with `coursesync probe` in the sandbox before production",
        ),
        fact(
            "modify_status.answer",
            C,
            "§5.4",
            "modify_status answers a bare envelope",
            "{err_no, err_msg, log_id}",
            "err_no 0 is success",
        ),
        fact(
            "query.batch_max",
            C,
            "§5.5, §14",
            "at most 500 product ids per query call",
            super::QUERY_BATCH_MAX.to_string(),
            "queries are batched",
        ),
        fact(
            "query.response_urls",
            C,
            "§5.5",
            "query answers carry full URLs (fulfillment_url, img_url) instead of *_uri",
            "a URL is matched to an upload when it ends with its uri",
            "an unmatched URL is kept as the URL (import and dump write it as a hosted file)",
        ),
        fact(
            "query.cover_field",
            I,
            "§5.5",
            "the cover comes back as common_product_info.product_img_url (not in any sample; named by analogy)",
            "product_img_url",
            "absent means not reported, never drift",
        ),
        open(
            OpenFact::QueryStatusMeansListing,
            Q,
            "§5.5",
            "product_status.status of the live version is the listing state (codes of modify_status.codes), not an audit status (the sample shows 2 on a live product)",
            "listing is never read from it: state keeps what coursesync sent (and the automatic listing on approval); drift says the platform does not report listing; import records an approved product as listed",
        ),
        open(
            OpenFact::QueryEchoesCourse,
            Q,
            "§5.5",
            "a query answer's common_product_info and course_info carry every field that was sent (the documented course_info carries only teacher_introduction)",
            "drift compares only the fields the answer carries; an absent field is \"not reported\", never drift",
        ),
        fact(
            "query_review.batch_max",
            I,
            "§5.6",
            "query_review has no documented id limit; the query limit is used",
            super::QUERY_BATCH_MAX.to_string(),
            "batched like query",
        ),
        fact(
            "query_review.query_type",
            C,
            "§5.6",
            "query_type 1 (base info), SKIT's default",
            super::QUERY_REVIEW_TYPE_BASE.to_string(),
            FAIL_LOUD,
        ),
        fact(
            "query_review.status",
            C,
            "§5.6",
            "audit status: reviewing, passed, rejected",
            format!(
                "{} / {} / {}",
                review_status::REVIEWING,
                review_status::PASSED,
                review_status::REJECTED
            ),
            "any other status leaves the course as it was",
        ),
        fact(
            "query_review.reject_reason",
            C,
            "§5.6",
            "reject_reason is a JSON string {fail_reason, position}",
            "shown as sent",
            "an unreadable one is shown verbatim",
        ),
        // Uploads.
        fact(
            "upload.by_url",
            C,
            "§6.1",
            "upload_resource takes a URL the platform pulls; the uri comes back at once",
            "catalog.assets_base_url + path + ?sha256=<hex>",
            FAIL_LOUD,
        ),
        fact(
            "upload.resource_types_confirmed",
            C,
            "§6.1",
            "resource_type of images, videos and covers",
            format!(
                "image {}, video {}, cover {}",
                resource_type::IMAGE,
                resource_type::VIDEO,
                resource_type::COVER
            ),
            FAIL_LOUD,
        ),
        open(
            OpenFact::UploadResourceTypes,
            I,
            "§6.1",
            "resource_type of audio, pdf and office files (3 audio is the working hypothesis, 4 and 5 guesses)",
            "the guess is sent; a refused upload fails only the courses that need the file",
        ),
        fact(
            "upload.err_already_uploaded",
            I,
            "§6.1, §13",
            "a re-upload of the same URL answers 10003 with the existing uri after the last colon of err_msg",
            super::ERR_ALREADY_UPLOADED.to_string(),
            "the uri is taken; without one the answer is an error",
        ),
        fact(
            "upload.status",
            I,
            "§6.2",
            "query_resource_status: 2 done ([C] sample), 1 uploading and 3 failed guessed",
            format!(
                "{} uploading, {} done, {} failed",
                resource_status::UPLOADING,
                resource_status::DONE,
                resource_status::FAILED
            ),
            "wait for 2 within apply.upload_timeout; 3 is pulled once more afresh; any other value counts as not done yet",
        ),
        // Sandbox.
        fact(
            "sandbox.check_type",
            C,
            "§12",
            "the Aweme-Check-Type header decides sandbox audits: REJECT rejects, any other value approves (GO-R sends OK)",
            format!(
                "{}: {} / {}",
                super::CHECK_TYPE_HEADER,
                super::CHECK_TYPE_APPROVE,
                super::CHECK_TYPE_REJECT
            ),
            "sent on write calls only with environment = \"sandbox\" and app.sandbox_audit set",
        ),
    ]
}

/// `docs/platform-facts.md`, generated from [`registry`]; `local` are the facts the local
/// platform (`environment = "local"`) bears out (`local::known_facts`).
pub fn reference_markdown(local: &super::KnownFacts) -> String {
    let mut out = String::from(
        "# Platform facts\n\n<!-- Generated from src/platform/facts/registry.rs by \
         `COURSESYNC_UPDATE_DOCS=1 cargo test docs`; do not edit by hand. -->\n\n\
         Every fact about the platform that coursesync relies on, tagged as \
         `platform-api.md` tags it: **[C]** confirmed in a cited source, **[I]** inferred, \
         **[?]** not found. *Assumed* is the value coursesync uses; *While unsettled* is what \
         it does as long as the fact is not settled (for a [C] fact: what happens if the \
         platform ever answers otherwise).\n\n",
    );
    out.push_str("## Open facts\n\n");
    let _ = write!(
        out,
        "The documents leave these open. `{FILE_NAME}`, beside the settings file, settles them: \
         `coursesync probe --write` writes it from what it observed in the sandbox, or you set a \
         fact by hand. Every command reads it at start; a malformed file (bad TOML, an unknown \
         name, a value of the wrong type) is an error with `file:line:col`. A fact absent from \
         the file is unsettled, and coursesync takes the safe reading in the last column. \
         Commit the file.\n\n\
         With `environment = \"local\"` (the in-process emulator) the emulator's readings are \
         known and the file is not consulted: {local}.\n\n\
         | name | tag | assumed | safe reading while unsettled |\n|---|---|---|---|\n",
        local = local
            .settled()
            .iter()
            .map(|(f, v)| format!("`{f} = {v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let facts = registry();
    for f in OpenFact::ALL
        .iter()
        .filter_map(|of| facts.iter().find(|f| f.open == Some(*of)))
    {
        let _ = writeln!(
            out,
            "| `{}` | {} {} | `{}` | {} |",
            f.name,
            f.tag.mark(),
            f.section,
            cell(&f.assumed),
            cell(f.while_unsettled)
        );
    }
    out.push_str(
        "\nThe file, with every fact set (the names are quoted: they contain a dot):\n\n\
         ```toml\n[facts]\n",
    );
    for of in OpenFact::ALL {
        let _ = writeln!(out, "\"{}\" = {}", of.name(), of.assumed().to_toml());
    }
    out.push_str(
        "```\n\n## Every fact\n\n| name | tag | what | assumed | while unsettled |\n\
         |---|---|---|---|---|\n",
    );
    for f in &facts {
        let _ = writeln!(
            out,
            "| `{}` | {} {} | {}{} | `{}` | {} |",
            f.name,
            f.tag.mark(),
            f.section,
            cell(f.what),
            if f.open.is_some() {
                " (open: settable)"
            } else {
                ""
            },
            cell(&f.assumed),
            cell(f.while_unsettled)
        );
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_open_fact_is_registered_once() {
        let facts = registry();
        let mut names: Vec<&str> = facts.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate fact names");
        for of in OpenFact::ALL {
            let entries: Vec<&Fact> = facts.iter().filter(|f| f.open == Some(of)).collect();
            assert_eq!(entries.len(), 1, "{of}");
            assert_eq!(entries[0].name, of.name());
        }
        for f in &facts {
            assert!(
                f.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c)),
                "{}",
                f.name
            );
            assert!(f.section.starts_with('§'), "{}", f.name);
            assert!(!f.while_unsettled.is_empty() && !f.assumed.is_empty());
        }
    }

    #[test]
    fn assumed_values_come_from_the_constants() {
        let facts = registry();
        let get = |name: &str| {
            facts
                .iter()
                .find(|f| f.name == name)
                .unwrap()
                .assumed
                .clone()
        };
        assert_eq!(get("path.add"), path::ADD);
        assert_eq!(
            get("token.err_invalid"),
            super::super::ERR_TOKEN_INVALID.to_string()
        );
        assert_eq!(get("modify_status.codes"), "{ list = 1, delist = 2 }");
        assert_eq!(
            super::super::known::ListingCodes::ASSUMED,
            super::super::known::ListingCodes {
                list: super::super::listing_status::LIST,
                delist: super::super::listing_status::DELIST
            }
        );
    }

    #[test]
    fn docs_platform_facts_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/platform-facts.md");
        let expected = reference_markdown(&crate::local::known_facts());
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual == expected {
            return;
        }
        if std::env::var_os("COURSESYNC_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &expected).unwrap();
            panic!("docs/platform-facts.md updated; re-run without COURSESYNC_UPDATE_DOCS");
        }
        panic!("docs/platform-facts.md is stale: run COURSESYNC_UPDATE_DOCS=1 cargo test docs");
    }
}
