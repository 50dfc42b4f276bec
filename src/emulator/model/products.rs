//! The course endpoints: `add`, `modify`, `modify_no_audit`, `modify_status`, `query`,
//! `query_review`, `query_class_info`, `sync_callback_url` (platform-api.md §5, §7.1).

use super::{
    ApiError, ApiResult, AppUploads, CallbackReg, Inner, Map, Packed, Shared, StoredProduct, Value,
    Version, check_appid, facts, id_value, json, new_product_id, now_ms, param, product_type,
    rules, to_json,
};
use crate::emulator::readings::{self, QueryEcho, StatusField};

impl Shared {
    /// The rejection a newly submitted version will get: the sandbox header (platform-api.md §12)
    /// or a banned word in the title.
    pub(super) fn plan_rejection(&self, title: &str, reject_header: bool) -> Option<String> {
        let fail = if reject_header {
            Some("审核拒绝: Aweme-Check-Type: REJECT".to_owned())
        } else {
            self.cfg
                .banned_words
                .iter()
                .find(|w| !w.is_empty() && title.contains(w.as_str()))
                .map(|w| format!("禁入课程:标题含违禁词「{w}」"))
        };
        fail.map(|f| json!({"fail_reason": f, "position": "标题"}).to_string())
    }

    pub(super) fn new_version(
        &self,
        inner: &mut Inner,
        product: &Value,
        checked: &rules::Checked,
        reject: bool,
    ) -> Version {
        Version {
            product: Packed::new(product),
            audit_id: inner.audit_id("KNC"),
            audit_status: facts::AUDIT_REVIEWING,
            reject_reason: String::new(),
            due_ms: now_ms().saturating_add(
                i64::try_from(self.cfg.audit_delay.as_millis()).unwrap_or(i64::MAX),
            ),
            planned_rejection: self
                .plan_rejection(&checked.title, reject)
                .or_else(|| self.roles.rejection(product)),
            title: checked.title.clone(),
            callback_data: checked.callback_data.clone(),
        }
    }

    pub(super) fn add(
        &self,
        appid: &str,
        body: &Map<String, Value>,
        reject_header: bool,
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        product_type(body)?;
        let product = rules::required(body, "product", "body")?;
        let mut inner = self.lock();
        let checked = rules::product(
            product,
            appid,
            &AppUploads {
                inner: &inner,
                appid,
            },
        )?;
        *course_id = Some(checked.course_id.clone());
        // Under `add-dedupe=no` a repeated add makes another product (readings).
        if let Some(existing) = inner
            .owner_of(appid, &checked.course_id, None)
            .filter(|_| self.cfg.readings.add_dedupe)
        {
            *product_id = Some(existing);
            return Err(ApiError(
                facts::ERR_IN_REVIEW,
                format!("已进审课程{existing}"),
            ));
        }
        let id = loop {
            let id = new_product_id(&mut inner.rng);
            if !inner.products.contains_key(&id) {
                break id;
            }
        };
        let version = self.new_version(&mut inner, product, &checked, reject_header);
        let audit_id = version.audit_id.clone();
        inner.pending.insert((version.due_ms, id));
        inner.products.insert(
            id,
            StoredProduct {
                product_id: id,
                appid: appid.to_owned(),
                course_id: checked.course_id.clone(),
                listed: false,
                dead: false,
                on_shelf: None,
                reviewing: Some(version),
            },
        );
        inner.index_course(appid, &checked.course_id, id);
        let row = inner.product_row(id);
        if let Err(e) = inner.persist(&[row]) {
            inner.products.remove(&id);
            return Err(e);
        }
        drop(inner);
        *product_id = Some(id);
        self.audit_wake.notify_one();
        Ok(json!({"product_id": id, "audit_id": audit_id}))
    }

    pub(super) fn modify(
        &self,
        appid: &str,
        body: &Map<String, Value>,
        reject_header: bool,
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        product_type(body)?;
        let id = id_value(rules::required(body, "product_id", "body")?, "product_id")?;
        *product_id = Some(id);
        let product = rules::required(body, "product", "body")?;
        let mut inner = self.lock();
        let p = inner.product_of_app(appid, id, "product_id")?;
        *course_id = Some(p.course_id.clone());
        if p.dead {
            return Err(param(format!(
                "product_id {id} was rejected and is void; add the course again"
            ))
            .into());
        }
        let checked = rules::product(
            product,
            appid,
            &AppUploads {
                inner: &inner,
                appid,
            },
        )?;
        *course_id = Some(checked.course_id.clone());
        if let Some(other) = inner
            .owner_of(appid, &checked.course_id, Some(id))
            .filter(|_| self.cfg.readings.add_dedupe)
        {
            return Err(ApiError(
                facts::ERR_COURSE_ID_TAKEN,
                format!("已进审课程{other}"),
            ));
        }
        let version = self.new_version(&mut inner, product, &checked, reject_header);
        let audit_id = version.audit_id.clone();
        inner.pending.insert((version.due_ms, id));
        inner.index_course(appid, &checked.course_id, id);
        let p = inner.products.get_mut(&id).expect("checked above");
        p.course_id = checked.course_id;
        // A modify of a product in its first review replaces the reviewing version; of a live
        // product, it queues a new version while the on-shelf one stays (§5.2).
        p.reviewing = Some(version);
        let row = inner.product_row(id);
        inner.persist(&[row])?;
        drop(inner);
        self.audit_wake.notify_one();
        Ok(json!({"audit_id": audit_id}))
    }

    pub(super) fn modify_no_audit(
        &self,
        appid: &str,
        body: &Map<String, Value>,
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        product_type(body)?;
        let id = id_value(rules::required(body, "product_id", "body")?, "product_id")?;
        *product_id = Some(id);
        let product = rules::object(rules::required(body, "product", "body")?, "product")?;
        check_appid(product, "appid", appid)
            .map_err(|_| param("product.appid does not match the access_token's app"))?;
        let paths = rules::required(product, "path_info_lst", "product")?;
        let new_course = rules::path_info_lst(paths, "product.path_info_lst")?;
        *course_id = Some(new_course.clone());
        let mut inner = self.lock();
        let p = inner.product_of_app(appid, id, "product_id")?;
        if p.dead {
            return Err(param(format!("product_id {id} was rejected and is void")).into());
        }
        if let Some(other) = inner
            .owner_of(appid, &new_course, Some(id))
            .filter(|_| self.cfg.readings.add_dedupe)
        {
            return Err(ApiError(
                facts::ERR_COURSE_ID_TAKEN,
                format!("已进审课程{other}"),
            ));
        }
        inner.index_course(appid, &new_course, id);
        let audit_id = inner.audit_id("KNC");
        let p = inner.products.get_mut(&id).expect("checked above");
        p.course_id = new_course;
        // Path info changes on both versions at once, without audit (§5.3).
        for v in [p.on_shelf.as_mut(), p.reviewing.as_mut()]
            .into_iter()
            .flatten()
        {
            v.product
                .update(|p| p["common_product_params"]["path_info_lst"] = paths.clone());
        }
        let row = inner.product_row(id);
        inner.persist(&[row])?;
        Ok(json!({"audit_id": audit_id}))
    }

    pub(super) fn modify_status(
        &self,
        appid: &str,
        body: &Map<String, Value>,
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        let path = "product_status_info";
        let info = rules::object(rules::required(body, path, "body")?, path)?;
        check_appid(info, "appid", appid).map_err(|_| {
            param("product_status_info.appid does not match the access_token's app")
        })?;
        let id = id_value(
            rules::required(info, "product_id", path)?,
            "product_status_info.product_id",
        )?;
        *product_id = Some(id);
        let status = rules::int(
            rules::required(info, "status", path)?,
            "product_status_info.status",
        )?;
        let (list, delist) = self.cfg.readings.modify_status;
        if status != list && status != delist {
            return Err(param(format!(
                "product_status_info.status must be {list} (list) or {delist} (delist)"
            ))
            .into());
        }
        let mut inner = self.lock();
        let p = inner.product_of_app(appid, id, "product_status_info.product_id")?;
        *course_id = Some(p.course_id.clone());
        if p.on_shelf.is_none() {
            return Err(param(format!(
                "product_status_info.product_id {id} has no approved version to list or delist"
            ))
            .into());
        }
        inner.products.get_mut(&id).expect("checked").listed = status == list;
        let row = inner.product_row(id);
        inner.persist(&[row])?;
        Ok(Value::Null)
    }

    pub(super) fn product_ids(body: &Map<String, Value>) -> Result<Vec<u64>, ApiError> {
        let ids = rules::required(body, "product_ids", "body")?
            .as_array()
            .ok_or_else(|| param("product_ids must be an array"))?;
        if ids.len() > facts::MAX_QUERY_IDS {
            return Err(param(format!(
                "product_ids must have at most {} ids",
                facts::MAX_QUERY_IDS
            ))
            .into());
        }
        ids.iter()
            .enumerate()
            .map(|(i, v)| id_value(v, &format!("product_ids[{i}]")))
            .collect()
    }

    pub(super) fn query(&self, appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let ids = Self::product_ids(body)?;
        let inner = self.lock();
        let mut products = Vec::new();
        for id in ids {
            let Some(p) = inner.products.get(&id).filter(|p| p.appid == appid) else {
                continue;
            };
            let mut item = Map::new();
            if let Some(v) = &p.on_shelf {
                let (list, delist) = self.cfg.readings.modify_status;
                let status = match self.cfg.readings.status_field {
                    StatusField::Listing if p.listed => list,
                    StatusField::Listing => delist,
                    StatusField::Audit => v.audit_status,
                };
                item.insert("product_on_shelf".into(), self.version_view(id, v, status));
            }
            if let Some(v) = &p.reviewing {
                item.insert(
                    "product_reviewing".into(),
                    self.version_view(id, v, v.audit_status),
                );
            }
            products.push(Value::Object(item));
        }
        Ok(json!({"products": products}))
    }

    /// A version as `query` returns it: response-side names, `*_uri` → full `*_url` (§5.5).
    pub(super) fn version_view(&self, id: u64, v: &Version, status: i64) -> Value {
        let url = |uri: &Value| {
            json!(format!(
                "{}/obj/{}",
                self.base_url,
                uri.as_str().unwrap_or("")
            ))
        };
        let product = v.product.value();
        let mut info = product
            .get("common_product_params")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Some(m) = info.as_object_mut() {
            if let Some(uri) = m.remove("product_img_uri") {
                m.insert("product_img_url".into(), url(&uri));
            }
            if let Some(uris) = m.remove("qualification_uris") {
                let urls: Vec<Value> = uris.as_array().into_iter().flatten().map(url).collect();
                m.insert("qualification_urls".into(), json!(urls));
            }
            for f in m
                .get_mut("product_fulfillment_lst")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(c) = f
                    .get_mut("fulfillment_content")
                    .and_then(Value::as_object_mut)
                    && let Some(uri) = c.remove("fulfillment_uri")
                {
                    c.insert("fulfillment_url".into(), url(&uri));
                }
            }
            for d in m
                .get_mut("product_detail_lst")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(d) = d.as_object_mut() {
                    if let Some(uri) = d.remove("img_uri") {
                        d.insert("img_url".into(), url(&uri));
                    }
                    if let Some(r) = d.get_mut("rich_text").and_then(Value::as_object_mut)
                        && let Some(uri) = r.remove("uri")
                    {
                        r.insert("url".into(), url(&uri));
                    }
                }
            }
        }
        let course_info = match self.cfg.readings.query_echo {
            QueryEcho::Full => product
                .get("course_params")
                .cloned()
                .unwrap_or_else(|| json!({})),
            // Like the documented sample: only `teacher_introduction`, nothing that was sent.
            QueryEcho::Sparse => {
                if let Some(m) = info.as_object_mut() {
                    m.retain(|k, _| readings::SPARSE_COMMON_KEYS.contains(&k.as_str()));
                }
                json!({"teacher_introduction": ""})
            }
        };
        json!({
            "product_id": id,
            "product_type": 1,
            "common_product_info": info,
            "course_info": course_info,
            "product_status": {
                "status": status,
                "reject_reason": v.reject_reason,
                "latest_audit_id": v.audit_id,
            },
        })
    }

    pub(super) fn query_review(&self, appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let ids = Self::product_ids(body)?;
        let inner = self.lock();
        let mut out = Map::new();
        for id in ids {
            let Some(p) = inner.products.get(&id).filter(|p| p.appid == appid) else {
                continue;
            };
            let Some(v) = p.reviewing.as_ref().or(p.on_shelf.as_ref()) else {
                continue;
            };
            let product = v.product.value();
            let fulfillment: Vec<Value> =
                product["common_product_params"]["product_fulfillment_lst"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, f)| {
                        json!({
                            "status": v.audit_status,
                            "reject_reason": v.reject_reason,
                            "latest_audit_id": format!("KNV{}{i:03}", v.audit_id.get(3..).unwrap_or_default()),
                            "fulfillment_uri": f["fulfillment_content"]["fulfillment_uri"],
                        })
                    })
                    .collect();
            out.insert(
                id.to_string(),
                json!({
                    "course": {
                        "status": v.audit_status,
                        "reject_reason": v.reject_reason,
                        "latest_audit_id": v.audit_id,
                    },
                    "fulfillment": fulfillment,
                }),
            );
        }
        Ok(json!({"products_review": out}))
    }

    pub(super) fn query_class_info(appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let list: Vec<Value> = facts::CATEGORIES
            .iter()
            .map(|(first, name, seconds)| {
                let details: Vec<Value> = seconds
                    .iter()
                    .map(|(id, name)| {
                        json!({
                            "second_class_id": id, "second_class_name": name,
                            "class_definition": "", "qualification_tip": "", "special_tip": "",
                            "professional_certification": "", "professional_education": "",
                            "teacher_qualification_certificate": "", "document_link": "",
                        })
                    })
                    .collect();
                json!({"first_class_id": first, "first_class_name": name, "class_info_detail_list": details})
            })
            .collect();
        Ok(json!({"product_class_info_list": list}))
    }

    pub(super) fn sync_callback_url(&self, appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let url = rules::string(
            rules::required(body, "callback_url", "body")?,
            "callback_url",
        )?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(param("callback_url must be an http(s) URL").into());
        }
        let flag = match body.get("developer_flag").filter(|v| !v.is_null()) {
            Some(v) => rules::string(v, "developer_flag")?,
            None => "",
        };
        let reg = CallbackReg {
            appid: appid.to_owned(),
            callback_url: url.to_owned(),
            developer_flag: flag.to_owned(),
        };
        let mut inner = self.lock();
        inner.persist(&[("callback", appid.to_owned(), Some(to_json(&reg)))])?;
        inner.callbacks.insert(appid.to_owned(), reg);
        Ok(Value::Null)
    }
}
