//! Every platform fact the client relies on, in one place, each tagged as platform-api.md tags
//! it: [C] confirmed in a cited source, [I] inferred. When the sandbox proves an [I] fact wrong,
//! this file is the one to change.

use std::time::Duration;

/// Course-library paths, appended to the product base (platform-api.md §1, §4.1) [C].
pub mod path {
    pub const TOKEN: &str = "/api/apps/v2/token";
    pub const UPLOAD_RESOURCE: &str = "/product/api/upload_resource";
    pub const QUERY_RESOURCE_STATUS: &str = "/product/api/query_resource_status";
    pub const ADD: &str = "/product/api/add";
    pub const MODIFY: &str = "/product/api/modify";
    pub const MODIFY_NO_AUDIT: &str = "/product/api/modify_no_audit";
    pub const MODIFY_STATUS: &str = "/product/api/modify_status";
    pub const QUERY: &str = "/product/api/query";
    pub const QUERY_REVIEW: &str = "/product/api/query_review";
    pub const QUERY_CLASS_INFO: &str = "/product/api/query_class_info";
    pub const SYNC_CALLBACK_URL: &str = "/product/api/sync_callback_url";
}

/// `err_no` 0 is success on every endpoint (§3, §13) [C].
pub const ERR_OK: i64 = 0;
/// `err_no` -1 "system error" on the token endpoint (§2.2) [C]; treated as "busy, try again"
/// on every endpoint [I].
pub const ERR_SYSTEM_BUSY: i64 = -1;
/// The access token is invalid or expired: JAVA-V drops its cached token on it (§2.2, §13) [I].
pub const ERR_TOKEN_INVALID: i64 = 10001;
/// `upload_resource`: the resource exists; `err_msg` = "<text>:<resource_uri>" (§6.1, §13) [I].
pub const ERR_ALREADY_UPLOADED: i64 = 10003;
/// `add`: the course is already in review; `err_msg` carries its product id, e.g.
/// "已进审课程7266291344409690173" (§13) [I].
pub const ERR_ALREADY_IN_REVIEW: [i64; 2] = [10140, 10141];

/// Token endpoint error numbers (§2.2) [C].
pub const TOKEN_ERR_BAD_APPID: i64 = 40015;
pub const TOKEN_ERR_BAD_SECRET: i64 = 40017;
pub const TOKEN_ERR_BAD_GRANT_TYPE: i64 = 40020;
/// The only grant type of the v2 token endpoint (§2.2) [C].
pub const GRANT_TYPE: &str = "client_credential";
/// Renew a cached token this long before it expires; GO-R caches for `expires_in - 600` (§2.2) [C].
pub const TOKEN_RENEW_MARGIN: Duration = Duration::from_mins(10);

/// `product_type` 1 = course, the only documented value (§15) [C].
pub const PRODUCT_TYPE_COURSE: i64 = 1;
/// `industry_type` 1, the only value ever seen (§15) [C value, meaning I].
pub const INDUSTRY_TYPE: i64 = 1;
/// `query_review.query_type` 1 = base info, SKIT's default (§5.6) [C].
pub const QUERY_REVIEW_TYPE_BASE: i64 = 1;
/// At most 500 product ids per `query` call (§5.5, §14) [C]. `query_review` has no documented
/// limit; the same batch size is used there [I].
pub const QUERY_BATCH_MAX: usize = 500;

/// `modify_status.product_status_info.status` (§5.4): 1 = list (上架), 2 = delist (下架) [I].
pub mod listing_status {
    pub const LIST: i64 = 1;
    pub const DELIST: i64 = 2;

    /// The status code for a desired listing state.
    pub fn code(listed: bool) -> i64 {
        if listed { LIST } else { DELIST }
    }
}

/// `query_resource_status` status (§6.2): 2 = done [C sample / I meaning]; 1 and 3 [I].
pub mod resource_status {
    pub const UPLOADING: i64 = 1;
    pub const DONE: i64 = 2;
    pub const FAILED: i64 = 3;
}

/// `upload_resource.resource_type` (§6.1): one table, kept with the lesson table that uses it
/// (image 1, video 2, cover 31 [C]; audio 3, pdf 4, office 5 [I]).
pub use crate::catalog::codes::resource_type;

/// `query_review` status (§5.6) [C]: 1 under review, 2 passed, 3 rejected.
pub mod review_status {
    pub const REVIEWING: i64 = 1;
    pub const PASSED: i64 = 2;
    pub const REJECTED: i64 = 3;
}

/// The sandbox's audit switch header, sent on write calls when configured (§12) [C].
pub const CHECK_TYPE_HEADER: &str = "Aweme-Check-Type";

/// The role system (角色系统, platform-api.md §3, §4.2, §9): who may publish a course. Issue 9
/// turns this file into a tagged registry; these facts stay together in this one block.
pub mod roles {
    /// Role-system paths, appended to the role base (§1, §4.2) [C].
    pub mod path {
        /// R14 查询小程序已绑定的角色: the roles bound to the app [C].
        pub const GET_BIND_LIST: &str = "/auth/entity/get_bind_list";
        /// R18 查询授权小程序: an entity's authorisation of the app [C].
        pub const GET_APPID_AUTH: &str = "/auth/entity/get_appid_auth";
        /// R8 查询类目认证资质: an entity's qualification for a category [C].
        pub const GET_CLASS_AUTH: &str = "/auth/entity/get_class_auth";
    }

    /// Production host of the role family (`https://developer.toutiao.com/auth/entity`, §1) [C];
    /// the sandbox serves it from the one sandbox host [C].
    pub const PRODUCTION_BASE: &str = "https://developer.toutiao.com";

    /// The role envelope (§3) [C]: the result fields at the top level (except `get_appid_auth`,
    /// whose result is under `data`) and `err: {err_code, err_msg}`; SKIT's success rule is
    /// HTTP 200 and `err_no == 0` (when present, with `err_tips`) and `err.err_code == 0` (when
    /// `err` is present). The role family's own error numbers were not found (§13) [?]: the
    /// client classifies them with the course library's table (-1 busy, 10001 token) [I].
    pub const ERR_CODE_OK: i64 = 0;

    /// `industry_code` 10000 = 泛知识, the only supported industry (§9.1) [C].
    pub const INDUSTRY_CODE: i64 = 10000;

    /// `industry_role` / `merchant_industry_role` (§9.1) [C].
    pub mod industry_role {
        /// 老师: an individual teacher [C]; the role of a course's `teacher_id` [I] (§9.3 glue).
        pub const TEACHER: i64 = 1;
        /// 机构: an institution [C]; the role of a course's `institution_id` [I] (§9.3 glue).
        pub const INSTITUTION: i64 = 2;
        /// 代运营服务商: an operating partner, acting for teachers and institutions [C].
        pub const PARTNER: i64 = 3;
    }

    /// `auth_status` of `get_appid_auth` and `audit_status` of a qualification (§9.1) [C].
    pub mod status {
        /// 1 reviewing [C].
        pub const REVIEWING: i64 = 1;
        /// 2 passed [C]. What makes an entity usable: `auth_status` 2, and a qualification in
        /// force (`online_qualification`) with `audit_status` 2 [C] (see `crate::roles::usable`).
        pub const PASSED: i64 = 2;
        /// 3 failed [C].
        pub const FAILED: i64 = 3;
    }

    /// `auth_role.scope` / `get_appid_auth.scope`: bit flags (§9.1) [C].
    pub mod scope {
        /// The entity lets the app take payments for it [C].
        pub const PAY: i64 = 1;
        /// The entity lets the app create courses for it (upload to the course library) [C].
        pub const CREATE_COURSES: i64 = 2;
    }

    /// `get_class_auth.industry_class.third_class`: always 0 in the samples (§10) [C].
    pub const THIRD_CLASS: i64 = 0;

    /// `expire_time` is `yyyy-MM-dd` (§9.1) [C]; a qualification or authorisation letter is no
    /// longer valid after that day, in China time [I].
    pub const EXPIRE_TIME_FORMAT: &str = "[year]-[month]-[day]";
    /// The `expire_time` of something that never expires, seen on ID documents (§9.1) [C];
    /// accepted on qualifications too [I].
    pub const NEVER_EXPIRES: &str = "长期有效";
}
