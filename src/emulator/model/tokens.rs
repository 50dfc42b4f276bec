//! `POST /api/apps/v2/token` and the tokens it issues (platform-api.md §2).

use super::{
    ApiError, HeaderMap, Reply, Shared, Token, Value, check_content_type, facts, json, now_ms,
    sha_hex, to_json,
};
use crate::emulator::readings::TokenReading;

impl Shared {
    /// `POST /api/apps/v2/token` (platform-api.md §2.2).
    pub fn token(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        let answer = |err_no: i64, tips: &str, data: Value| Reply {
            http: 200,
            body: json!({"err_no": err_no, "err_tips": tips, "data": data}),
            err_no,
            course_id: None,
            product_id: None,
        };
        if let Err(msg) = check_content_type(headers) {
            return answer(facts::TOKEN_ERR_EMPTY, &msg, json!({}));
        }
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
        let (appid, secret, grant) = (field("appid"), field("secret"), field("grant_type"));
        if appid.is_empty() || secret.is_empty() || grant.is_empty() {
            return answer(
                facts::TOKEN_ERR_EMPTY,
                "appid, secret and grant_type are required",
                json!({}),
            );
        }
        if let Some(want) = &self.cfg.secret {
            if appid != self.cfg.appid {
                return answer(facts::TOKEN_ERR_APPID, "bad appid", json!({}));
            }
            if secret != want {
                return answer(facts::TOKEN_ERR_SECRET, "bad secret", json!({}));
            }
        }
        if grant != "client_credential" {
            return answer(
                facts::TOKEN_ERR_GRANT,
                "grant_type must be client_credential",
                json!({}),
            );
        }
        match self.mint(appid) {
            Ok((token, ttl)) => answer(
                facts::OK,
                "success",
                json!({"access_token": token, "expires_in": ttl}),
            ),
            Err(ApiError(no, msg)) => answer(no, &msg, json!({})),
        }
    }

    /// Issues and persists a token for `appid`; (token, lifetime in seconds).
    pub(super) fn mint(&self, appid: &str) -> Result<(String, i64), ApiError> {
        let mut inner = self.lock();
        let token = format!("0801121846{}{}", inner.hex32(), inner.hex32());
        let now = now_ms();
        let ttl = i64::try_from(self.cfg.token_ttl.as_secs()).unwrap_or(i64::MAX);
        let mut rows = Vec::new();
        // Re-issuing shortens the previous tokens to 5 minutes (platform-api.md §2.2), or ends
        // them at once under the `token=revoked` reading.
        let grace_ms = match self.cfg.readings.token {
            TokenReading::Stable => facts::OLD_TOKEN_GRACE_SECS * 1000,
            TokenReading::Revoked => -1,
        };
        for (hash, old) in &mut inner.tokens {
            if old.appid == appid && old.expires_ms > now + grace_ms {
                old.expires_ms = now + grace_ms;
                rows.push(("token", hash.clone(), Some(to_json(&(hash, &*old)))));
            }
        }
        let hash = sha_hex(&token);
        let record = Token {
            appid: appid.to_owned(),
            expires_ms: now.saturating_add(ttl.saturating_mul(1000)),
        };
        rows.push(("token", hash.clone(), Some(to_json(&(&hash, &record)))));
        inner.tokens.insert(hash, record);
        inner.persist(&rows)?;
        Ok((token, ttl))
    }

    /// Issues a token without HTTP (for tests), as the endpoint would.
    pub fn issue_token(&self, appid: &str) -> String {
        self.mint(appid).expect("issue a token").0
    }

    pub fn expire_tokens(&self) -> usize {
        let mut inner = self.lock();
        let now = now_ms();
        let mut rows = Vec::new();
        for (hash, t) in &mut inner.tokens {
            t.expires_ms = now - 1;
            rows.push(("token", hash.clone(), Some(to_json(&(hash, &*t)))));
        }
        let n = rows.len();
        let _ = inner.persist(&rows);
        n
    }
}
