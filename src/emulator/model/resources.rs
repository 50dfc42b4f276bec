//! `upload_resource` and `query_resource_status`: the platform pulls each file by URL with a
//! real HTTP GET (platform-api.md §6); status 1 while fetching, 2 done, 3 failed.

use super::audits::callback_target;
use super::{
    ApiError, ApiResult, Arc, Map, Resource, Sha256, Shared, Value, check_appid, facts, json,
    param, rules, to_json,
};
use sha2::Digest as _;

impl Shared {
    pub(super) fn upload_resource(
        self: &Arc<Self>,
        appid: &str,
        body: &Map<String, Value>,
    ) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let ty = rules::int(
            rules::required(body, "resource_type", "body")?,
            "resource_type",
        )?;
        let prefix = facts::resource_prefix(ty)
            .ok_or_else(|| param(format!("resource_type {ty} is not supported")))?;
        let url = rules::string(
            rules::required(body, "resource_url", "body")?,
            "resource_url",
        )?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(param("resource_url must be an http(s) URL").into());
        }
        let callback_data = match body.get("callback_data").filter(|v| !v.is_null()) {
            Some(v) => Some(rules::string(v, "callback_data")?.to_owned()),
            None => None,
        };
        let mut inner = self.lock();
        let key = (appid.to_owned(), ty, url.to_owned());
        if facts::DUPLICATE_UPLOAD_IS_ERROR
            && let Some(uri) = inner.by_url.get(&key)
            // A failed pull may be retried with the same URL.
            && inner.resources.get(uri).is_some_and(|r| r.status != facts::RESOURCE_FAILED)
        {
            return Err(ApiError(
                facts::ERR_RESOURCE_EXISTS,
                format!("resource already uploaded:{uri}"),
            ));
        }
        let uri = format!("{prefix}{}", inner.hex32());
        let resource = Resource {
            uri: uri.clone(),
            appid: appid.to_owned(),
            resource_type: ty,
            url: url.to_owned(),
            status: facts::RESOURCE_FETCHING,
            size: None,
            sha256: None,
            error: None,
            callback_data,
        };
        inner.persist(&[("resource", uri.clone(), Some(to_json(&resource)))])?;
        inner.by_url.insert(key, uri.clone());
        inner.resources.insert(uri.clone(), resource);
        drop(inner);
        self.rt
            .spawn(pull(Arc::clone(self), uri.clone(), url.to_owned()));
        Ok(json!({"resource_uri": uri}))
    }

    pub(super) fn query_resource_status(
        &self,
        appid: &str,
        body: &Map<String, Value>,
    ) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let uri = rules::string(
            rules::required(body, "resource_uri", "body")?,
            "resource_uri",
        )?;
        let inner = self.lock();
        let r = inner
            .resources
            .get(uri)
            .filter(|r| r.appid == appid)
            .ok_or_else(|| param(format!("resource_uri `{uri}` does not exist")))?;
        Ok(json!({"resource_uri": r.uri, "status": r.status}))
    }

    pub(super) fn finish_pull(self: &Arc<Self>, uri: &str, outcome: Result<(u64, String), String>) {
        let mut inner = self.lock();
        let Some(r) = inner.resources.get_mut(uri) else {
            return;
        };
        match outcome {
            Ok((size, sha)) => {
                r.status = facts::RESOURCE_DONE;
                r.size = Some(size);
                r.sha256 = Some(sha);
            }
            Err(e) => {
                r.status = facts::RESOURCE_FAILED;
                r.error = Some(e);
            }
        }
        let r = r.clone();
        let _ = inner.persist(&[("resource", r.uri.clone(), Some(to_json(&r)))]);
        let ok = r.status == facts::RESOURCE_DONE;
        let mut reason = Map::new();
        if let Some(e) = &r.error {
            reason.insert("资源拉取失败".into(), json!([e]));
        }
        let payload = json!({
            "notice_type": 4,
            "resource_tos_uri": r.uri,
            "produce_source_status": if ok { facts::CALLBACK_STATUS_OK } else { facts::CALLBACK_STATUS_FAIL },
            "produce_source_examine_res": ok,
            "reason": reason,
            "callback_data": r.callback_data,
        });
        let target = callback_target(&inner, &r.appid, payload);
        drop(inner);
        self.send_callbacks(target.into_iter().collect());
    }

    /// Restarts the pull of resources left in status 1 by a previous run.
    pub fn resume_pulls(self: &Arc<Self>) {
        let inner = self.lock();
        let fetching: Vec<_> = inner
            .resources
            .values()
            .filter(|r| r.status == facts::RESOURCE_FETCHING)
            .map(|r| (r.uri.clone(), r.url.clone()))
            .collect();
        drop(inner);
        for (uri, url) in fetching {
            self.rt.spawn(pull(Arc::clone(self), uri, url));
        }
    }
}

/// Pulls `url` with a streaming GET, hashing as it goes (the body is never held whole).
pub(super) async fn pull(shared: Arc<Shared>, uri: String, url: String) {
    use futures::StreamExt as _;
    let outcome = async {
        let resp = shared
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("fetch failed: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("fetch failed: HTTP {}", resp.status().as_u16()));
        }
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("fetch failed: {e}"))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((size, hex::encode(hasher.finalize())))
    }
    .await;
    shared.finish_pull(&uri, outcome);
}
