//! Every platform fact the emulator relies on that is inferred ([I]) or chosen by us rather than
//! confirmed ([C]), kept in one table so a sandbox finding changes one line.

/// Success.
pub const OK: i64 = 0;
/// System error; also what an injected `error` fault answers. [C for the token endpoint, §2.2]
pub const ERR_SYSTEM: i64 = -1;
/// Unknown or expired `access_token`. [I] platform-api.md §2.2 (JAVA-V drops its token on 10001).
pub const ERR_TOKEN: i64 = 10001;
/// Parameter error; the message names the field path. [I] (10002 is the client_token param error)
pub const ERR_PARAM: i64 = 10002;
/// `upload_resource` of a URL already uploaded with the same type; `err_msg` ends in `:<uri>`.
/// [I] platform-api.md §6.1
pub const ERR_RESOURCE_EXISTS: i64 = 10003;
/// A `*_uri` that was never uploaded or is not in status 2 ("无效的 uri"). The message is [C]
/// (OD-add), the number is our choice: the document gives none.
pub const ERR_INVALID_URI: i64 = 10004;
/// `add` of a course_id that already belongs to a product in review or live; `err_msg` carries the
/// existing product id. [I] platform-api.md §13
pub const ERR_IN_REVIEW: i64 = 10140;
/// `modify`/`modify_no_audit` moving a product onto a course_id owned by another product. [I] §13
pub const ERR_COURSE_ID_TAKEN: i64 = 10141;
/// Unknown path under `/product/api/` (HTTP 404 with the envelope); our choice.
pub const ERR_NO_SUCH_API: i64 = 10404;

/// getAccessToken v2 errors. [C] platform-api.md §2.2; 40014 "empty parameter" is our number for
/// the document's "other = empty parameter".
pub const TOKEN_ERR_EMPTY: i64 = 40014;
pub const TOKEN_ERR_APPID: i64 = 40015;
pub const TOKEN_ERR_SECRET: i64 = 40017;
pub const TOKEN_ERR_GRANT: i64 = 40020;

/// Re-issuing a token shortens the previous ones to this many seconds. [C] platform-api.md §2.2
pub const OLD_TOKEN_GRACE_SECS: i64 = 300;

/// Maximum product ids per `query` / `query_review` call. [C] platform-api.md §5.5 / §14
pub const MAX_QUERY_IDS: usize = 500;

/// Switch: a second `upload_resource` with the same URL and type answers
/// [`ERR_RESOURCE_EXISTS`] (true) or a fresh uri (false). [I] platform-api.md §6.1
pub const DUPLICATE_UPLOAD_IS_ERROR: bool = true;

/// `upload_resource.resource_type` values accepted: (code, name, uri prefix).
/// 1, 2, 31 are [C]; 3 audio, 4 pdf, 5 office are [I] (platform-api.md §6.1).
pub const RESOURCE_TYPES: &[(i64, &str, &str)] = &[
    (1, "image", "product/resource/"),
    (2, "video", "product/resource/"),
    (3, "audio", "product/resource/"),
    (4, "pdf", "product/resource/"),
    (5, "office", "product/resource/"),
    (31, "cover", "tos-cn-i-b2i6zad4el/"),
];

/// The resource type a cover (`product_img_uri`) must have been uploaded with. [C] §5.1
pub const COVER_RESOURCE_TYPE: i64 = 31;

/// Query resource status values: 1 fetching, 2 done [C], 3 failed [I] (platform-api.md §6.2).
pub const RESOURCE_FETCHING: i64 = 1;
pub const RESOURCE_DONE: i64 = 2;
pub const RESOURCE_FAILED: i64 = 3;

/// Audit status in `query_review` [C] §5.6, reused for the reviewing version in `query` [I].
pub const AUDIT_REVIEWING: i64 = 1;
pub const AUDIT_PASSED: i64 = 2;
pub const AUDIT_REJECTED: i64 = 3;

/// `modify_status.status` and the on-shelf `product_status.status` in `query`:
/// 1 listed (上架), 2 delisted (下架). [I] platform-api.md §5.4
pub const STATUS_LISTED: i64 = 1;
pub const STATUS_DELISTED: i64 = 2;

/// Callback `produce_status` / `produce_source_status`: -1 on failure is [C] (sample); the value
/// on success is our choice (2, mirroring "passed"). [I] platform-api.md §7.2
pub const CALLBACK_STATUS_OK: i64 = 2;
pub const CALLBACK_STATUS_FAIL: i64 = -1;

/// `fulfillment_type` values that carry an uploaded file (the others carry `text`). [C] seed 003
pub const UPLOADED_FULFILLMENT_TYPES: &[i64] = &[1, 2, 3, 5, 7, 8];
/// `fulfillment_type` values whose content is inline `text`: 4 文字, 6 富文本. [C] seed 003
pub const TEXT_FULFILLMENT_TYPES: &[i64] = &[4, 6];

/// Category codes (platform-api.md §10): (first id, first name, [(second id, second name)]).
/// Names marked `?` are not known ([?] in §10).
/// (code, name) of a category level.
pub type Category = (i64, &'static str);

pub const CATEGORIES: &[(i64, &str, &[Category])] = &[
    (
        10000,
        "少儿成长",
        &[
            (10100, "家长教育"),
            (10300, "少儿编程"),
            (10400, "儿童兴趣"),
        ],
    ),
    (30000, "语言培训", &[(30100, "英语"), (30200, "汉语学习")]),
    (40000, "?", &[(40600, "?")]),
    (50000, "?", &[(50300, "?"), (51700, "?")]),
    (70000, "?", &[(70500, "?")]),
];

/// Whether `second` is a level-2 code under level-1 code `first`.
pub fn category_known(first: i64, second: i64) -> bool {
    CATEGORIES
        .iter()
        .any(|(f, _, seconds)| *f == first && seconds.iter().any(|(s, _)| *s == second))
}

/// Uri prefix for an accepted resource type, `None` when the type is not accepted.
pub fn resource_prefix(resource_type: i64) -> Option<&'static str> {
    RESOURCE_TYPES
        .iter()
        .find(|(code, _, _)| *code == resource_type)
        .map(|(_, _, prefix)| *prefix)
}

/// The role system (platform-api.md §9), kept together for the emulator's `roles` module.
pub mod roles {
    /// `industry_code` 10000 = 泛知识, the only industry. [C] §9.1
    pub const INDUSTRY_CODE: i64 = 10000;
    /// `industry_role`: 1 teacher, 2 institution, 3 operating partner. [C] §9.1
    pub const TEACHER: i64 = 1;
    pub const INSTITUTION: i64 = 2;
    pub const PARTNER: i64 = 3;
    /// `auth_status` / `audit_status`: 1 reviewing, 2 passed, 3 failed. [C] §9.1
    pub const REVIEWING: i64 = 1;
    pub const PASSED: i64 = 2;
    pub const FAILED: i64 = 3;
    /// `scope` bits: 1 take payments, 2 create courses. [C] §9.1
    pub const SCOPE_PAY: i64 = 1;
    pub const SCOPE_CREATE_COURSES: i64 = 2;
    /// The role family's error numbers are not documented [?] (§13); these are our choices.
    /// The entity has no authorisation record for the app.
    pub const ERR_NOT_AUTHORISED: i64 = 20001;
    /// The entity does not hold the role the query names.
    pub const ERR_NO_SUCH_ROLE: i64 = 20002;
    /// The query's `partner_entity_id` does not act for the entity (or is missing for an entity a
    /// partner manages).
    pub const ERR_PARTNER_MISMATCH: i64 = 20003;
    /// `expire_time` of the authorisation letters and qualifications the emulator makes up.
    pub const FAR_EXPIRY: &str = "2099-12-31";
}
