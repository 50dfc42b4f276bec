//! The role system's read calls (platform-api.md §4.2, §9.2): the roles bound to the app
//! (`get_bind_list`), an entity's authorisation of the app (`get_appid_auth`) and its
//! qualification for a category (`get_class_auth`). They go through the client's one call loop
//! (permits, rate limit, token, retry) and are read calls: the sandbox audit header is never sent.
//!
//! The role family answers in its own envelope (§3): the result fields at the top level (except
//! `get_appid_auth`, whose result is under `data`) beside `err: {err_code, err_msg}`.

use super::facts::roles as facts;
use super::{Client, Envelope, Family, Kind, PlatformError, Refusal, body};

/// What an entity's authorisation and qualification queries are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityQuery<'a> {
    /// `partner_entity_id`: the operating partner acting for the entity (`[app]
    /// partner_entity_id`), when there is one.
    pub partner_entity_id: Option<&'a str>,
    /// `merchant_entity_id`: the teacher or institution.
    pub entity_id: &'a str,
    /// `industry_role` / `merchant_industry_role`: [`facts::industry_role`].
    pub industry_role: i64,
}

impl Client {
    /// The roles bound to the app (`get_bind_list`, §9.2).
    pub async fn get_bind_list(&self) -> Result<Vec<wire::BindInfo>, PlatformError> {
        let appid = self.inner.appid.as_str();
        let answer = self
            .role_call::<wire::BindListAnswer>(
                "get_bind_list",
                facts::path::GET_BIND_LIST,
                |access_token| {
                    body(&wire::AppRequest {
                        access_token,
                        appid,
                    })
                },
            )
            .await?;
        Ok(answer.bind_info_list)
    }

    /// The entity's authorisation of this app (`get_appid_auth`, §9.2). `None` when the platform
    /// answered success without a `data` object.
    pub async fn get_appid_auth(
        &self,
        query: EntityQuery<'_>,
    ) -> Result<Option<wire::AppidAuth>, PlatformError> {
        let appid = self.inner.appid.as_str();
        let answer = self
            .role_call::<wire::AppidAuthAnswer>(
                "get_appid_auth",
                facts::path::GET_APPID_AUTH,
                |access_token| {
                    body(&wire::AppidAuthRequest {
                        access_token,
                        appid,
                        partner_entity_id: query.partner_entity_id,
                        merchant_entity_id: query.entity_id,
                        merchant_industry_role: query.industry_role,
                    })
                },
            )
            .await?;
        Ok(answer.data)
    }

    /// The entity's category qualifications for `(first_class, second_class)`
    /// (`get_class_auth`, §9.2), as the platform lists them.
    pub async fn get_class_auth(
        &self,
        query: EntityQuery<'_>,
        first_class: i64,
        second_class: i64,
    ) -> Result<Vec<wire::ClassAuth>, PlatformError> {
        let appid = self.inner.appid.as_str();
        let answer = self
            .role_call::<wire::ClassAuthAnswer>(
                "get_class_auth",
                facts::path::GET_CLASS_AUTH,
                |access_token| {
                    body(&wire::ClassAuthRequest {
                        access_token,
                        appid,
                        partner_entity_id: query.partner_entity_id,
                        merchant_entity_id: query.entity_id,
                        industry_code: facts::INDUSTRY_CODE,
                        industry_class: wire::IndustryClass {
                            first_class,
                            second_class,
                            third_class: facts::THIRD_CLASS,
                        },
                        industry_role: query.industry_role,
                    })
                },
            )
            .await?;
        Ok(answer.class_auths)
    }

    async fn role_call<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        make_body: impl Fn(&str) -> Vec<u8>,
    ) -> Result<T, PlatformError> {
        self.call_loop::<wire::RoleEnvelope<T>>(Family::Role, endpoint, path, Kind::Read, make_body)
            .await
            .0
    }
}

/// The role envelope (§3) [C], SKIT's rule: success is `err_no == 0` (absent counts as 0) and
/// `err.err_code == 0` (an absent `err` counts as success).
impl<T: serde::de::DeserializeOwned> Envelope for wire::RoleEnvelope<T> {
    type Data = T;

    fn into_result(self) -> Result<T, Refusal> {
        if let Some(err_no) = self.err_no.filter(|n| *n != super::facts::ERR_OK) {
            return Err(Refusal {
                code: err_no,
                message: self.err_tips,
                log_id: None,
            });
        }
        match self.err {
            Some(err) if err.err_code != facts::ERR_CODE_OK => Err(Refusal {
                code: err.err_code,
                message: err.err_msg,
                log_id: None,
            }),
            _ => Ok(self.body),
        }
    }
}

/// Request and response bodies of the role calls, as the platform spells them (§9.2). Requests
/// are strict; responses lenient like [`super::wire`]'s: every field optional, unknown fields
/// ignored, numbers accepted as numeric strings, and an empty object `{}` (how the samples show
/// "no qualification in review") reads as a qualification with nothing set.
pub mod wire {
    use serde::{Deserialize, Serialize};

    use crate::platform::wire::de;

    /// `get_bind_list`: nothing but the credentials.
    #[derive(Debug, Serialize)]
    pub struct AppRequest<'a> {
        pub access_token: &'a str,
        pub appid: &'a str,
    }

    #[derive(Debug, Serialize)]
    pub struct AppidAuthRequest<'a> {
        pub access_token: &'a str,
        pub appid: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub partner_entity_id: Option<&'a str>,
        pub merchant_entity_id: &'a str,
        pub merchant_industry_role: i64,
    }

    #[derive(Debug, Serialize)]
    pub struct ClassAuthRequest<'a> {
        pub access_token: &'a str,
        pub appid: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub partner_entity_id: Option<&'a str>,
        pub merchant_entity_id: &'a str,
        pub industry_code: i64,
        pub industry_class: IndustryClass,
        pub industry_role: i64,
    }

    /// `industry_class` in a request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub struct IndustryClass {
        pub first_class: i64,
        pub second_class: i64,
        pub third_class: i64,
    }

    /// The role envelope around a call's result fields `T` (§3).
    #[derive(Debug, Deserialize)]
    pub struct RoleEnvelope<T> {
        #[serde(default, deserialize_with = "de::opt_int")]
        pub err_no: Option<i64>,
        #[serde(default, deserialize_with = "de::null_default")]
        pub err_tips: String,
        #[serde(default)]
        pub err: Option<RoleErr>,
        #[serde(flatten)]
        pub body: T,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct RoleErr {
        #[serde(deserialize_with = "de::int")]
        pub err_code: i64,
        #[serde(deserialize_with = "de::null_default")]
        pub err_msg: String,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct BindListAnswer {
        #[serde(deserialize_with = "de::null_default")]
        pub bind_info_list: Vec<BindInfo>,
    }

    /// One role bound to the app.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(default)]
    pub struct BindInfo {
        #[serde(deserialize_with = "de::null_default")]
        pub appid: String,
        #[serde(deserialize_with = "de::null_default")]
        pub merchant_entity_id: String,
        #[serde(deserialize_with = "de::opt_int")]
        pub industry_code: Option<i64>,
        #[serde(deserialize_with = "de::opt_int")]
        pub industry_role: Option<i64>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct AppidAuthAnswer {
        pub data: Option<AppidAuth>,
    }

    /// `get_appid_auth.data`: the entity's authorisation of the app.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(default)]
    pub struct AppidAuth {
        #[serde(deserialize_with = "de::null_default")]
        pub appid: String,
        /// 1 reviewing, 2 passed, 3 failed.
        #[serde(deserialize_with = "de::opt_int")]
        pub auth_status: Option<i64>,
        #[serde(deserialize_with = "de::null_default")]
        pub auth_reason: String,
        pub online_auth_letter: Option<Qualification>,
        pub audit_auth_letter: Option<Qualification>,
        /// Bit flags: 1 take payments, 2 create courses.
        #[serde(deserialize_with = "de::opt_int")]
        pub scope: Option<i64>,
        #[serde(deserialize_with = "de::null_default")]
        pub nick: String,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub struct ClassAuthAnswer {
        #[serde(deserialize_with = "de::null_default")]
        pub class_auths: Vec<ClassAuth>,
    }

    /// One category qualification of the entity.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(default)]
    pub struct ClassAuth {
        #[serde(deserialize_with = "de::opt_int")]
        pub industry_code: Option<i64>,
        pub industry_class: Option<ClassCodes>,
        #[serde(deserialize_with = "de::opt_int")]
        pub industry_role: Option<i64>,
        /// The qualification in force (线上生效).
        pub online_qualification: Option<Qualification>,
        /// The latest one submitted for review (最近审核中).
        pub audit_qualification: Option<Qualification>,
    }

    /// `industry_class` in an answer.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
    #[serde(default)]
    pub struct ClassCodes {
        #[serde(deserialize_with = "de::opt_int")]
        pub first_class: Option<i64>,
        #[serde(deserialize_with = "de::opt_int")]
        pub second_class: Option<i64>,
    }

    /// A qualification or authorisation letter and its audit.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
    #[serde(default)]
    pub struct Qualification {
        pub audit_taskid: Option<String>,
        /// 1 reviewing, 2 passed, 3 failed.
        #[serde(deserialize_with = "de::opt_int")]
        pub audit_status: Option<i64>,
        #[serde(deserialize_with = "de::null_default")]
        pub audit_reason: String,
        /// `yyyy-MM-dd`, or "长期有效".
        pub expire_time: Option<String>,
    }

    impl Qualification {
        /// `{}` (the samples' "none") reads as nothing set.
        pub fn is_empty(&self) -> bool {
            self.audit_status.is_none() && self.audit_taskid.is_none()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wire::*;
    use super::*;

    fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Refusal> {
        serde_json::from_str::<RoleEnvelope<T>>(json)
            .unwrap_or_else(|e| panic!("{e}: {json}"))
            .into_result()
    }

    #[test]
    fn get_appid_auth_sample_from_skit() {
        // SKIT-T AuthEntityGetAppIdAuthResponse.json (platform-api.md §9.2).
        let json = r#"{"data":{"appid":"tt427e34c3dd07777601","audit_auth_letter":{},"auth_reason":"","auth_status":2,"desc":"哈哈","icon":"certification/resource/c1","nick":"哈哈哈",
          "online_auth_letter":{"audit_reason":"","audit_status":2,"audit_taskid":"AppidBind_7209887453367517228","expire_time":"2033-01-01",
            "qualifications":[{"material_expiretime":"2033-01-01","material_paths":["certification/resource/c1"],"material_type":1006}]},
          "scope":2},"err":{"err_code":0,"err_msg":""}}"#;
        let data = decode::<AppidAuthAnswer>(json).ok().unwrap().data.unwrap();
        assert_eq!(data.auth_status, Some(2));
        assert_eq!(data.scope, Some(2));
        assert!(data.audit_auth_letter.unwrap().is_empty());
        let letter = data.online_auth_letter.unwrap();
        assert_eq!(letter.audit_status, Some(2));
        assert_eq!(letter.expire_time.as_deref(), Some("2033-01-01"));
    }

    #[test]
    fn get_class_auth_sample_from_skit() {
        // SKIT-T AuthEntityGetClassAuthResponse.json.
        let json = r#"{"class_auths":[{"audit_qualification":{},"industry_class":{"first_class":40000,"second_class":40600,"third_class":0},
          "industry_code":10000,"industry_role":1,"institution":{},"online_qualification":{"audit_reason":"","audit_status":2,
          "audit_taskid":"Role_7179078906694238252","expire_time":"2033-01-02","qualifications":[{"material_expiretime":"2033-01-02",
          "material_paths":["certification/resource/01d8"],"material_type":1001}]},"partner":{}}],"err":{"err_code":0,"err_msg":""}}"#;
        let auths = decode::<ClassAuthAnswer>(json).ok().unwrap().class_auths;
        assert_eq!(auths.len(), 1);
        let a = &auths[0];
        assert_eq!(
            a.industry_class,
            Some(ClassCodes {
                first_class: Some(40000),
                second_class: Some(40600)
            })
        );
        assert_eq!(a.industry_role, Some(1));
        assert_eq!(
            a.online_qualification.as_ref().unwrap().audit_status,
            Some(2)
        );
        assert!(a.audit_qualification.as_ref().unwrap().is_empty());
    }

    #[test]
    fn bind_list_with_numbers_as_strings_and_nulls() {
        let json = r#"{"bind_info_list":[{"appid":"tt1","merchant_entity_id":"E_1","industry_code":"10000","industry_role":3}],"err":null}"#;
        let list = decode::<BindListAnswer>(json).ok().unwrap().bind_info_list;
        assert_eq!(list[0].industry_code, Some(10000));
        assert_eq!(list[0].industry_role, Some(3));
        let empty = decode::<BindListAnswer>(r#"{"bind_info_list":null}"#)
            .ok()
            .unwrap();
        assert!(empty.bind_info_list.is_empty(), "no err at all is success");
    }

    #[test]
    fn refusals_come_from_err_code_or_err_no() {
        let r =
            decode::<BindListAnswer>(r#"{"err":{"err_code":40001,"err_msg":"no such entity"}}"#)
                .err()
                .unwrap();
        assert_eq!((r.code, r.message.as_str()), (40001, "no such entity"));
        let r = decode::<BindListAnswer>(r#"{"err_no":10001,"err_tips":"token expired"}"#)
            .err()
            .unwrap();
        assert_eq!((r.code, r.message.as_str()), (10001, "token expired"));
        // err_no 0 with a failing err is still a refusal (both must be 0).
        let r = decode::<BindListAnswer>(r#"{"err_no":0,"err":{"err_code":"-1","err_msg":null}}"#)
            .err()
            .unwrap();
        assert_eq!((r.code, r.message.as_str()), (-1, ""));
    }

    #[test]
    fn requests_carry_the_partner_only_when_set() {
        let with = serde_json::to_value(ClassAuthRequest {
            access_token: "tok",
            appid: "tt1",
            partner_entity_id: Some("E_P"),
            merchant_entity_id: "E_1",
            industry_code: 10000,
            industry_class: IndustryClass {
                first_class: 70000,
                second_class: 70500,
                third_class: 0,
            },
            industry_role: 2,
        })
        .unwrap();
        // SKIT-T AuthEntityGetClassAuthRequest.json, with a partner.
        assert_eq!(
            with,
            serde_json::json!({"access_token":"tok","appid":"tt1","partner_entity_id":"E_P",
                "merchant_entity_id":"E_1","industry_code":10000,
                "industry_class":{"first_class":70000,"second_class":70500,"third_class":0},"industry_role":2})
        );
        let without = serde_json::to_value(AppidAuthRequest {
            access_token: "tok",
            appid: "tt1",
            partner_entity_id: None,
            merchant_entity_id: "E_1",
            merchant_industry_role: 1,
        })
        .unwrap();
        assert_eq!(
            without,
            serde_json::json!({"access_token":"tok","appid":"tt1","merchant_entity_id":"E_1","merchant_industry_role":1})
        );
    }
}
