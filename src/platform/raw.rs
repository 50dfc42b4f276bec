//! Calls that `coursesync probe` needs below the typed API: `modify_status` with a given status
//! code (the codes are an open fact, platform-api.md §5.4), and `query` answered as plain JSON,
//! so that what the platform echoes can be compared field by field with what was sent (§5.5).

use serde_json::Value;

use super::{Client, Kind, PlatformError, body, facts, wire};

impl Client {
    /// `modify_status` with `status` as given, not mapped from a listing.
    pub async fn modify_status_code(
        &self,
        product_id: i64,
        status: i64,
    ) -> Result<(), PlatformError> {
        let appid = self.inner.appid.as_str();
        self.call::<serde::de::IgnoredAny>(
            "modify_status",
            facts::path::MODIFY_STATUS,
            Kind::Write,
            |access_token| {
                body(&wire::ModifyStatusRequest {
                    access_token,
                    product_status_info: wire::ProductStatusInfo {
                        appid,
                        product_id,
                        status,
                    },
                })
            },
        )
        .await?;
        Ok(())
    }

    /// `query` of at most 500 ids; `data.products` exactly as the platform sent it.
    pub async fn query_json(&self, product_ids: &[i64]) -> Result<Vec<Value>, PlatformError> {
        let appid = self.inner.appid.as_str();
        let batch = product_ids
            .get(..facts::QUERY_BATCH_MAX.min(product_ids.len()))
            .unwrap_or_default();
        let data = self
            .call::<Value>("query", facts::path::QUERY, Kind::Read, |access_token| {
                body(&wire::QueryRequest {
                    access_token,
                    appid,
                    product_ids: batch,
                })
            })
            .await?;
        Ok(data
            .and_then(|d| d.get("products").and_then(Value::as_array).cloned())
            .unwrap_or_default())
    }
}
