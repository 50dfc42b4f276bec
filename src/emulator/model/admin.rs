//! The call log, counters, fault dice and the `/__emulator/` admin operations (read the data,
//! edit a live course out of band, reset).

use super::{
    CALL_LOG_CAP, CallRecord, CallbackRecord, Counts, FaultKind, Faults, HashMap, Reply, Resource,
    Shared, StoredProduct, Value, json_merge, now_ms,
};

impl Shared {
    pub fn decide_fault(&self, endpoint: &str) -> (u64, Option<FaultKind>, u64) {
        let mut inner = self.lock();
        let (latency, kind) = inner.faults.decide(endpoint);
        (latency, kind, inner.faults.retry_after(endpoint))
    }

    pub fn log_call(
        &self,
        endpoint: &str,
        reply: Option<&Reply>,
        http_status: Option<u16>,
        fault: Option<FaultKind>,
    ) {
        let mut inner = self.lock();
        inner.seq += 1;
        let record = CallRecord {
            seq: inner.seq,
            endpoint: endpoint.to_owned(),
            course_id: reply.and_then(|r| r.course_id.clone()),
            product_id: reply.and_then(|r| r.product_id),
            err_no: reply
                .filter(|_| http_status == Some(200) || http_status == Some(404))
                .map(|r| r.err_no),
            http_status,
            fault: fault.map(|f| f.name().to_owned()),
            at_ms: now_ms(),
        };
        if let Some(on_call) = &self.cfg.on_call {
            on_call(&record);
        }
        *inner
            .counts
            .per_endpoint
            .entry(endpoint.to_owned())
            .or_default() += 1;
        if let Some(c) = &record.course_id {
            *inner
                .counts
                .per_course_id
                .entry(c.clone())
                .or_default()
                .entry(endpoint.to_owned())
                .or_default() += 1;
        }
        if inner.calls.len() == CALL_LOG_CAP {
            inner.calls.pop_front();
        }
        inner.calls.push_back(record);
    }

    // ---- admin ----

    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock().calls.iter().cloned().collect()
    }

    pub fn counts(&self) -> Counts {
        self.lock().counts.clone()
    }

    pub fn products(&self) -> Vec<StoredProduct> {
        self.lock().products.values().cloned().collect()
    }

    pub fn resources(&self) -> Vec<Resource> {
        let mut all: Vec<_> = self.lock().resources.values().cloned().collect();
        all.sort_by(|a, b| a.uri.cmp(&b.uri));
        all
    }

    pub fn resource_url(&self, uri: &str) -> Option<String> {
        self.lock().resources.get(uri).map(|r| r.url.clone())
    }

    pub fn callbacks_sent(&self) -> Vec<CallbackRecord> {
        self.lock().sent.clone()
    }

    /// Out-of-band change of the on-shelf version (drift): a JSON merge patch of
    /// `{common_product_params?, course_params?}`.
    pub fn edit_on_shelf(&self, id: u64, patch: &Value) -> Result<StoredProduct, String> {
        let patch = patch.as_object().ok_or("the edit must be a JSON object")?;
        if let Some(key) = patch
            .keys()
            .find(|k| *k != "common_product_params" && *k != "course_params")
        {
            return Err(format!(
                "unknown key `{key}`: edit common_product_params or course_params"
            ));
        }
        let mut inner = self.lock();
        let p = inner
            .products
            .get_mut(&id)
            .ok_or_else(|| format!("no product {id}"))?;
        let v = p
            .on_shelf
            .as_mut()
            .ok_or_else(|| format!("product {id} has no on-shelf version"))?;
        v.product
            .update(|product| json_merge(product, &Value::Object(patch.clone())));
        let p = p.clone();
        let row = inner.product_row(id);
        inner.persist(&[row]).map_err(|e| e.1)?;
        Ok(p)
    }

    pub fn set_fault(&self, endpoint: &str, spec: crate::emulator::FaultSpec) {
        self.lock().faults.set(endpoint, spec);
    }

    pub fn faults(&self) -> HashMap<String, crate::emulator::FaultSpec> {
        self.lock().faults.specs().clone()
    }

    /// Forgets everything: data (also in the data file), tokens, call log, callbacks, and faults
    /// back to the start configuration.
    pub fn reset(&self) -> anyhow::Result<()> {
        let mut inner = self.lock();
        inner.tokens.clear();
        inner.resources.clear();
        inner.by_url.clear();
        inner.products.clear();
        inner.by_course.clear();
        inner.pending.clear();
        inner.callbacks.clear();
        inner.calls.clear();
        inner.counts = Counts::default();
        inner.sent.clear();
        inner.faults = Faults::new(&self.cfg.faults, self.cfg.fault_seed);
        if let Some(store) = &mut inner.store {
            store.clear()?;
        }
        self.roles.reset();
        Ok(())
    }
}
