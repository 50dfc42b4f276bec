//! Asynchronous audit: versions under review are decided when due, and callbacks (notice_type
//! 1 and 4) are POSTed to the registered URL (platform-api.md §7, §8).

use super::{Arc, CallbackRecord, Inner, Map, Shared, Value, facts, json, now_ms};

impl Shared {
    /// Earliest due time of a pending audit.
    pub fn next_audit_due(&self) -> Option<i64> {
        self.lock().pending.first().map(|(due, _)| *due)
    }

    /// Decides every pending audit that is due (all of them with `all`); returns how many.
    pub fn decide_audits(self: &Arc<Self>, all: bool) -> usize {
        let now = now_ms();
        let mut inner = self.lock();
        let mut rows = Vec::new();
        let mut callbacks = Vec::new();
        let mut decided = 0;
        while let Some(&(due, id)) = inner.pending.first() {
            if !all && due > now {
                break;
            }
            inner.pending.pop_first();
            let Some(p) = inner.products.get_mut(&id) else {
                continue;
            };
            let Some(v) = p
                .reviewing
                .as_mut()
                .filter(|v| v.audit_status == facts::AUDIT_REVIEWING && v.due_ms == due)
            else {
                continue;
            };
            decided += 1;
            let approved = v.planned_rejection.is_none();
            let mut reason = Map::new();
            if let Some(rejection) = v.planned_rejection.clone() {
                v.audit_status = facts::AUDIT_REJECTED;
                reason.insert("审核不通过".into(), json!([rejection]));
                v.reject_reason = rejection;
                if p.on_shelf.is_none() {
                    p.dead = true;
                }
            } else {
                v.audit_status = facts::AUDIT_PASSED;
                let first_approval = p.on_shelf.is_none();
                p.on_shelf = p.reviewing.take();
                // Approved courses are listed automatically; a modify keeps the listing (§5.1/§5.2).
                if first_approval {
                    p.listed = true;
                }
            }
            let v = p
                .on_shelf
                .as_ref()
                .filter(|_| approved)
                .or(p.reviewing.as_ref())
                .expect("decided version");
            let payload = json!({
                "notice_type": 1,
                "produce_id": id,
                "produce_name": v.title,
                "produce_status": if approved { facts::CALLBACK_STATUS_OK } else { facts::CALLBACK_STATUS_FAIL },
                "produce_examine_res": approved,
                "reason": reason,
                "callback_data": v.callback_data,
            });
            let appid = p.appid.clone();
            rows.push(inner.product_row(id));
            callbacks.extend(callback_target(&inner, &appid, payload));
        }
        let _ = inner.persist(&rows);
        drop(inner);
        self.send_callbacks(callbacks);
        decided
    }

    pub(super) fn send_callbacks(self: &Arc<Self>, targets: Vec<(String, Value)>) {
        for (url, payload) in targets {
            let shared = Arc::clone(self);
            self.rt.spawn(async move {
                let result = shared
                    .http
                    .post(&url)
                    .timeout(std::time::Duration::from_secs(10))
                    .json(&payload)
                    .send()
                    .await;
                let (http_status, error) = match result {
                    Ok(r) => (Some(r.status().as_u16()), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                shared.lock().sent.push(CallbackRecord {
                    url,
                    payload,
                    http_status,
                    error,
                });
            });
        }
    }
}

pub(super) fn callback_target(
    inner: &Inner,
    appid: &str,
    mut payload: Value,
) -> Option<(String, Value)> {
    let reg = inner.callbacks.get(appid)?;
    payload["developer_flag"] = json!(reg.developer_flag);
    Some((reg.callback_url.clone(), payload))
}
