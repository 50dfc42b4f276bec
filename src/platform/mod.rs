//! The async client for the course-library API (platform-api.md §1–8) and the role system's read
//! calls ([`roles`], §9).
//!
//! Every call goes through one loop: take a permit of the shared semaphore (`concurrency`), a
//! slot of the shared rate limiter (`max_qps`, all endpoints together), a token from
//! [`token::TokenSource`], send, and on failure ask [`retry`] whether and when to try again.
//! Bodies carry the token (§2.1), so no body ever goes into an error; errors name the endpoint,
//! the status and a masked slice of the answer. The two families answer in different envelopes
//! (§3); [`Envelope`] says how each one reads success. Inferred platform facts live in [`facts`].

pub mod error;
pub mod facts;
pub mod ratelimit;
mod raw;
pub mod renewal;
pub mod retry;
pub mod roles;
pub mod token;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

pub use error::PlatformError;
pub use retry::RetryPolicy;

use crate::settings::{self, Environment, Secret, Settings};
use retry::Class;

/// Everything a [`Client`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Scheme and host of the course library, e.g. `https://developer-product.zijieapi.com`.
    pub product_base: String,
    /// Scheme and host of `/api/apps/v2/token`.
    pub token_base: String,
    /// Scheme and host of the role system, `/auth/entity/<name>` (platform-api.md §1, §4.2).
    pub role_base: String,
    pub appid: String,
    pub access_token: Option<Secret>,
    pub app_secret: Option<Secret>,
    /// Requests in flight, all endpoints together.
    pub concurrency: usize,
    /// Requests started per second, all endpoints together.
    pub max_qps: f64,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Sandbox `Aweme-Check-Type` header (platform-api.md §12), sent on `add`, `modify`,
    /// `modify_no_audit` and `modify_status` when set.
    pub check_type: Option<String>,
    /// What is known of the open platform facts (`platform-facts.toml`, or the local platform's
    /// readings): the codes `modify_status` sends, and the readings every caller takes.
    pub facts: facts::KnownFacts,
}

/// The default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl ClientConfig {
    /// The configuration the settings describe. `base_url` replaces the scheme and host of every
    /// family; otherwise `environment` picks the hosts (platform-api.md §1). `local` has no
    /// hosts of its own: the caller starts the emulator and sets `base_url` to its URL.
    pub fn from_settings(settings: &Settings) -> Result<ClientConfig, PlatformError> {
        let (product_base, token_base, role_base) = match (&settings.base_url, settings.environment)
        {
            (Some(base), _) => (base.clone(), base.clone(), base.clone()),
            (None, Environment::Production) => (
                settings::PRODUCTION_PRODUCT_BASE.to_string(),
                settings::PRODUCTION_TOKEN_BASE.to_string(),
                facts::roles::PRODUCTION_BASE.to_string(),
            ),
            (None, Environment::Sandbox) => (
                settings::SANDBOX_BASE.to_string(),
                settings::SANDBOX_BASE.to_string(),
                settings::SANDBOX_BASE.to_string(),
            ),
            (None, Environment::Local) => {
                return Err(PlatformError::Config {
                    message: "environment \"local\" needs the emulator's URL as base_url".into(),
                });
            }
        };
        Ok(ClientConfig {
            product_base,
            token_base,
            role_base,
            appid: settings.appid.clone(),
            access_token: settings.access_token.clone(),
            app_secret: settings.app_secret.clone(),
            concurrency: settings.concurrency,
            max_qps: settings.max_qps,
            request_timeout: settings.request_timeout,
            retry: RetryPolicy::default(),
            // Settings allow it only with environment = "sandbox" (platform-api.md §12).
            check_type: settings
                .sandbox_audit
                .filter(|_| settings.environment == Environment::Sandbox)
                .map(|a| a.check_type().to_string()),
            facts: settings.facts,
        })
    }
}

/// What `upload_resource` gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub uri: String,
    /// The platform answered 10003 "already uploaded" and named the existing uri [I].
    pub already_uploaded: bool,
}

/// What `add` gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub product_id: i64,
    pub audit_id: Option<String>,
}

/// Counters since the client was made, for the apply summary and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Course-library requests sent (token exchanges not included).
    pub requests: u64,
    /// Attempts that were retried (after a pause or a token renewal).
    pub retries: u64,
    /// Requests that had to wait for the rate limiter.
    pub throttle_waits: u64,
    /// Secret-for-token exchanges.
    pub token_fetches: u64,
    /// Answers that refused the access token (10001); each was retried with a current token.
    pub token_refusals: u64,
}

/// The course-library client. Cheap to clone; clones share permits, rate limit, token and stats.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    product_base: String,
    role_base: String,
    appid: String,
    app_secret: Option<Secret>,
    request_timeout: Duration,
    retry: RetryPolicy,
    check_type: Option<String>,
    facts: facts::KnownFacts,
    concurrency: usize,
    http: reqwest::Client,
    tokens: token::TokenSource,
    permits: Semaphore,
    limiter: ratelimit::RateLimiter,
    requests: AtomicU64,
    retries: AtomicU64,
    throttle_waits: AtomicU64,
}

/// Whether a call sends the sandbox audit header, and whether it may be sent again after a
/// failure that may have performed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    /// A write that must not be performed twice (an `add` on a platform not known to answer a
    /// repeat with 10140): never re-sent after a failure that may have performed it.
    WriteOnce,
}

/// Which API family a call belongs to: where it is sent (platform-api.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Product,
    Role,
}

/// How an API family's answer says success or failure (platform-api.md §3). Each family's
/// envelope type implements it; the call loop decodes the answer as `E` and asks it.
pub(crate) trait Envelope: DeserializeOwned {
    /// What a successful answer carries.
    type Data;
    /// The data on success, or the platform's refusal.
    fn into_result(self) -> Result<Self::Data, Refusal>;
}

/// A refusal in the envelope: the family's error number and message.
pub(crate) struct Refusal {
    pub code: i64,
    pub message: String,
    pub log_id: Option<String>,
}

/// The course library's envelope: success is `err_no == 0`, the result under `data` (§3) [C].
impl<T: DeserializeOwned> Envelope for wire::Envelope<T> {
    type Data = Option<T>;

    fn into_result(self) -> Result<Option<T>, Refusal> {
        if self.err_no == facts::ERR_OK {
            Ok(self.data)
        } else {
            Err(Refusal {
                code: self.err_no,
                message: self.err_msg,
                log_id: self.log_id,
            })
        }
    }
}

type Attempt<T> = Result<T, (PlatformError, Option<Duration>)>;

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, PlatformError> {
        if config.concurrency == 0 {
            return Err(PlatformError::Config {
                message: "concurrency must be at least 1".into(),
            });
        }
        let qps = settings::bounds::MAX_QPS;
        if !qps.contains(&config.max_qps) {
            return Err(PlatformError::Config {
                message: format!(
                    "max_qps must be between {} and {}, not {}",
                    qps.start(),
                    qps.end(),
                    config.max_qps
                ),
            });
        }
        let longest = Duration::from_secs(*settings::bounds::REQUEST_TIMEOUT_SECS.end());
        if config.request_timeout.is_zero() || config.request_timeout > longest {
            return Err(PlatformError::Config {
                message: format!(
                    "the request timeout must be more than 0 and at most {} seconds",
                    longest.as_secs()
                ),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(|e| PlatformError::Config {
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let tokens = token::TokenSource::new(
            http.clone(),
            &config.token_base,
            &config.appid,
            config.access_token,
            config.app_secret.clone(),
            config.request_timeout,
            renewal::RENEWAL_BUDGET,
        );
        Ok(Client {
            inner: Arc::new(Inner {
                product_base: config.product_base.trim_end_matches('/').to_string(),
                role_base: config.role_base.trim_end_matches('/').to_string(),
                appid: config.appid,
                app_secret: config.app_secret,
                request_timeout: config.request_timeout,
                retry: config.retry,
                check_type: config.check_type,
                facts: config.facts,
                concurrency: config.concurrency,
                http,
                tokens,
                permits: Semaphore::new(config.concurrency),
                limiter: ratelimit::RateLimiter::new(config.max_qps),
                requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                throttle_waits: AtomicU64::new(0),
            }),
        })
    }

    /// What is known of the open platform facts on the platform this client talks to.
    pub fn facts(&self) -> &facts::KnownFacts {
        &self.inner.facts
    }

    /// How many calls may be in flight at once (`apply.concurrency`).
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    pub fn stats(&self) -> Stats {
        let inner = &self.inner;
        Stats {
            requests: inner.requests.load(Ordering::Relaxed),
            retries: inner.retries.load(Ordering::Relaxed),
            throttle_waits: inner.throttle_waits.load(Ordering::Relaxed),
            token_fetches: inner.tokens.fetches(),
            token_refusals: inner.tokens.refusals(),
        }
    }

    /// Asks the platform to pull `resource_url` (platform-api.md §6.1). A 10003 answer naming
    /// an existing uri counts as success (`already_uploaded`), which also makes a retry after a
    /// lost answer safe.
    pub async fn upload_resource(
        &self,
        resource_type: i64,
        resource_url: &str,
        callback_data: Option<&str>,
    ) -> Result<Uploaded, PlatformError> {
        let appid = self.inner.appid.as_str();
        let result = self
            .call::<wire::UploadResourceData>(
                "upload_resource",
                facts::path::UPLOAD_RESOURCE,
                Kind::Read,
                |access_token| {
                    body(&wire::UploadResourceRequest {
                        access_token,
                        appid,
                        resource_type,
                        resource_url,
                        callback_data,
                    })
                },
            )
            .await;
        match result {
            Ok(data) => {
                let uri = data.map(|d| d.resource_uri).unwrap_or_default();
                if uri.is_empty() {
                    return Err(missing_data("upload_resource", "resource_uri"));
                }
                Ok(Uploaded {
                    uri,
                    already_uploaded: false,
                })
            }
            Err(PlatformError::Api {
                err_no: facts::ERR_ALREADY_UPLOADED,
                err_msg,
                endpoint,
                log_id,
            }) => match uri_in(&err_msg) {
                Some(uri) => Ok(Uploaded {
                    uri,
                    already_uploaded: true,
                }),
                None => Err(PlatformError::Api {
                    endpoint,
                    err_no: facts::ERR_ALREADY_UPLOADED,
                    err_msg,
                    log_id,
                }),
            },
            Err(e) => Err(e),
        }
    }

    /// The upload status of `uri`: see [`facts::resource_status`].
    pub async fn query_resource_status(&self, uri: &str) -> Result<i64, PlatformError> {
        let appid = self.inner.appid.as_str();
        let data = self
            .call::<wire::ResourceStatusData>(
                "query_resource_status",
                facts::path::QUERY_RESOURCE_STATUS,
                Kind::Read,
                |access_token| {
                    body(&wire::QueryResourceStatusRequest {
                        access_token,
                        appid,
                        resource_uri: uri,
                    })
                },
            )
            .await?;
        data.and_then(|d| d.status)
            .ok_or_else(|| missing_data("query_resource_status", "status"))
    }

    /// Adds a course (platform-api.md §5.1). A course already in review comes back as
    /// [`PlatformError::AlreadyInReview`]: after a retry whose first attempt may have been
    /// performed, that is how the caller learns the product id.
    pub async fn add(&self, product: &wire::Product) -> Result<Added, PlatformError> {
        // A lost answer is retried only where a repeat is known to be answered 10140/10141
        // (`add.repeat_answers_10140`); otherwise the caller learns of it and holds the course.
        let kind = if self.inner.facts.add_is_deduplicated() {
            Kind::Write
        } else {
            Kind::WriteOnce
        };
        let (result, after_retry) = self
            .call_tracked::<wire::AddData>("add", facts::path::ADD, kind, |access_token| {
                body(&wire::AddRequest {
                    access_token,
                    product_type: facts::PRODUCT_TYPE_COURSE,
                    product,
                })
            })
            .await;
        match result {
            Ok(data) => {
                let data = data.unwrap_or_default();
                let product_id = data
                    .product_id
                    .ok_or_else(|| missing_data("add", "product_id"))?;
                Ok(Added {
                    product_id,
                    audit_id: data.audit_id,
                })
            }
            Err(PlatformError::Api {
                endpoint,
                err_no,
                err_msg,
                log_id,
            }) if facts::ERR_ALREADY_IN_REVIEW.contains(&err_no) => match product_id_in(&err_msg) {
                Some(product_id) => Err(PlatformError::AlreadyInReview {
                    product_id,
                    after_retry,
                }),
                None => Err(PlatformError::Api {
                    endpoint,
                    err_no,
                    err_msg,
                    log_id,
                }),
            },
            Err(e) => Err(e),
        }
    }

    /// Modifies a course; the change goes to audit (platform-api.md §5.2). Returns the audit id.
    pub async fn modify(
        &self,
        product_id: i64,
        product: &wire::Product,
    ) -> Result<Option<String>, PlatformError> {
        let data = self
            .call::<wire::AuditData>("modify", facts::path::MODIFY, Kind::Write, |access_token| {
                body(&wire::ModifyRequest {
                    access_token,
                    product_type: facts::PRODUCT_TYPE_COURSE,
                    product_id,
                    product,
                })
            })
            .await?;
        Ok(data.and_then(|d| d.audit_id))
    }

    /// Changes only the page paths, without audit (platform-api.md §5.3). Returns the audit id
    /// the platform still reports.
    pub async fn modify_no_audit(
        &self,
        product_id: i64,
        path_info_lst: &[wire::PathInfo],
    ) -> Result<Option<String>, PlatformError> {
        let appid = self.inner.appid.as_str();
        let data = self
            .call::<wire::AuditData>(
                "modify_no_audit",
                facts::path::MODIFY_NO_AUDIT,
                Kind::Write,
                |access_token| {
                    body(&wire::ModifyNoAuditRequest {
                        access_token,
                        product_id,
                        product_type: facts::PRODUCT_TYPE_COURSE,
                        product: wire::NoAuditProduct {
                            appid,
                            path_info_lst,
                        },
                    })
                },
            )
            .await?;
        Ok(data.and_then(|d| d.audit_id))
    }

    /// Lists (`true`) or delists a course (platform-api.md §5.4, the codes of
    /// `modify_status.codes`: [`facts::KnownFacts::listing_codes`]).
    pub async fn modify_status(&self, product_id: i64, listed: bool) -> Result<(), PlatformError> {
        let code = self.inner.facts.listing_codes().code(listed);
        self.modify_status_code(product_id, code).await
    }

    /// The live and in-review versions of the given products, in batches of at most 500
    /// (platform-api.md §5.5).
    pub async fn query(
        &self,
        product_ids: &[i64],
    ) -> Result<Vec<wire::QueriedProduct>, PlatformError> {
        let appid = self.inner.appid.as_str();
        let mut products = Vec::new();
        for batch in product_ids.chunks(facts::QUERY_BATCH_MAX) {
            let data = self
                .call::<wire::QueryData>("query", facts::path::QUERY, Kind::Read, |access_token| {
                    body(&wire::QueryRequest {
                        access_token,
                        appid,
                        product_ids: batch,
                    })
                })
                .await?;
            products.extend(data.unwrap_or_default().products);
        }
        Ok(products)
    }

    /// Audit results per product id (platform-api.md §5.6); the platform keys them by the id
    /// as a string.
    pub async fn query_review(
        &self,
        product_ids: &[i64],
    ) -> Result<BTreeMap<i64, wire::Review>, PlatformError> {
        let appid = self.inner.appid.as_str();
        let mut reviews = BTreeMap::new();
        for batch in product_ids.chunks(facts::QUERY_BATCH_MAX) {
            let data = self
                .call::<wire::QueryReviewData>(
                    "query_review",
                    facts::path::QUERY_REVIEW,
                    Kind::Read,
                    |access_token| {
                        body(&wire::QueryReviewRequest {
                            access_token,
                            appid,
                            product_ids: batch,
                            query_type: facts::QUERY_REVIEW_TYPE_BASE,
                        })
                    },
                )
                .await?;
            for (key, review) in data.unwrap_or_default().products_review {
                let id = key.trim().parse().map_err(|_| PlatformError::Decode {
                    endpoint: "query_review",
                    message: format!("products_review key {key:?} is not a product id"),
                    body_snippet: String::new(),
                })?;
                reviews.insert(id, review);
            }
        }
        Ok(reviews)
    }

    /// Makes sure the credentials work, for a command that may have nothing else to ask: the
    /// secret is exchanged for a token now (a wrong one fails here, with the token endpoint's
    /// hint); a ready `COURSESYNC_ACCESS_TOKEN`, which no exchange checks, is tried on one read
    /// call (`query_class_info`).
    pub async fn authenticate(&self) -> Result<(), PlatformError> {
        let lease = self.inner.tokens.get().await?;
        if lease.generation == 0 {
            self.query_class_info().await?;
        }
        Ok(())
    }

    /// The category tree (platform-api.md §5.8).
    pub async fn query_class_info(&self) -> Result<Vec<wire::FirstClass>, PlatformError> {
        let appid = self.inner.appid.as_str();
        let data = self
            .call::<wire::ClassInfoData>(
                "query_class_info",
                facts::path::QUERY_CLASS_INFO,
                Kind::Read,
                |access_token| {
                    body(&wire::AppRequest {
                        access_token,
                        appid,
                    })
                },
            )
            .await?;
        Ok(data.unwrap_or_default().product_class_info_list)
    }

    /// Registers the callback URL (platform-api.md §7.1).
    pub async fn sync_callback_url(
        &self,
        url: &str,
        developer_flag: &str,
    ) -> Result<(), PlatformError> {
        let appid = self.inner.appid.as_str();
        self.call::<serde::de::IgnoredAny>(
            "sync_callback_url",
            facts::path::SYNC_CALLBACK_URL,
            Kind::Read,
            |access_token| {
                body(&wire::SyncCallbackUrlRequest {
                    access_token,
                    appid,
                    callback_url: url,
                    developer_flag,
                })
            },
        )
        .await?;
        Ok(())
    }

    /// One call with its retries; returns the envelope's `data` once `err_no` is 0.
    /// `max_attempts` counts the attempts that failed for any reason but a refused token.
    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        kind: Kind,
        make_body: impl Fn(&str) -> Vec<u8>,
    ) -> Result<Option<T>, PlatformError> {
        self.call_tracked(endpoint, path, kind, make_body).await.0
    }

    /// [`Self::call`], also telling whether an earlier attempt failed in a way that may have
    /// performed the call (a transient failure: timeout, 5xx, dropped connection).
    async fn call_tracked<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        kind: Kind,
        make_body: impl Fn(&str) -> Vec<u8>,
    ) -> (Result<Option<T>, PlatformError>, bool) {
        self.call_loop::<wire::Envelope<T>>(Family::Product, endpoint, path, kind, make_body)
            .await
    }

    /// The call loop of every family: permits, rate limit, token, retry; the answer is decoded
    /// as the family's envelope `E`.
    async fn call_loop<E: Envelope>(
        &self,
        family: Family,
        endpoint: &'static str,
        path: &str,
        kind: Kind,
        make_body: impl Fn(&str) -> Vec<u8>,
    ) -> (Result<E::Data, PlatformError>, bool) {
        let inner = &*self.inner;
        // Attempts that count against `retry.max_attempts`; a token refusal does not (it is
        // bounded by the renewal budget, see `renewal`).
        let mut attempt = 0u32;
        let mut refusals = 0usize;
        let mut maybe_performed = false;
        loop {
            let (outcome, lease) = {
                let _permit = inner
                    .permits
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                if inner.limiter.acquire().await {
                    inner.throttle_waits.fetch_add(1, Ordering::Relaxed);
                }
                match inner.tokens.get().await {
                    Err(e) => (Err((e, None)), None),
                    Ok(lease) => {
                        inner.requests.fetch_add(1, Ordering::Relaxed);
                        let body = make_body(lease.token.expose());
                        let outcome = self
                            .attempt::<E>(family, endpoint, path, kind, body, &lease.token)
                            .await;
                        (outcome, Some(lease))
                    }
                }
            };
            let (error, retry_after) = match outcome {
                Ok(data) => return (Ok(data), maybe_performed),
                Err(failure) => failure,
            };
            let class = error.class();
            if class == Class::TokenExpired
                && let Some(lease) = &lease
            {
                // Refused: not performed. Retry at once with the current token (renewed once
                // for all the calls refused with the same one); the renewal budget bounds how
                // often, and so does this per-call cap.
                refusals += 1;
                if refusals > renewal::RENEWAL_BUDGET.max {
                    return (
                        Err(PlatformError::Token {
                            message: format!(
                                "{endpoint}: the platform refused {refusals} access tokens in a row for this call ({error})"
                            ),
                            hint:
                                "check that app.appid names the app the token or secret belongs to"
                                    .into(),
                        }),
                        maybe_performed,
                    );
                }
                if let Err(e) = inner.tokens.refused(lease).await {
                    return (Err(e), maybe_performed);
                }
                inner.retries.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if kind == Kind::WriteOnce && lease.is_some() && error.maybe_performed() {
                return (Err(error), true);
            }
            attempt += 1;
            let Some(delay) = inner
                .retry
                .next_delay(attempt, class, retry_after, fastrand::f64())
            else {
                return (Err(error), maybe_performed);
            };
            // Only a request that was sent may have been performed (a failed token exchange
            // sent nothing).
            if lease.is_some() && error.maybe_performed() {
                maybe_performed = true;
            }
            inner.retries.fetch_add(1, Ordering::Relaxed);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn attempt<E: Envelope>(
        &self,
        family: Family,
        endpoint: &'static str,
        path: &str,
        kind: Kind,
        body: Vec<u8>,
        token: &Secret,
    ) -> Attempt<E::Data> {
        let inner = &*self.inner;
        let base = match family {
            Family::Product => &inner.product_base,
            Family::Role => &inner.role_base,
        };
        let url = format!("{base}{path}");
        let secret = inner.app_secret.as_ref().map_or("", Secret::expose);
        let secrets = [token.expose(), secret];
        let check_type = match kind {
            Kind::Write | Kind::WriteOnce => inner.check_type.as_deref(),
            Kind::Read => None,
        };
        let bytes = post(
            &inner.http,
            &url,
            endpoint,
            body,
            inner.request_timeout,
            check_type,
            &secrets,
        )
        .await?;
        let envelope: E = serde_json::from_slice(&bytes).map_err(|e| {
            let error = PlatformError::Decode {
                endpoint,
                message: e.to_string(),
                body_snippet: error::snippet(&bytes, &secrets),
            };
            (error, None)
        })?;
        envelope.into_result().map_err(|refusal| {
            let error = PlatformError::Api {
                endpoint,
                err_no: refusal.code,
                err_msg: mask(&refusal.message, &secrets),
                log_id: refusal.log_id,
            };
            (error, None)
        })
    }
}

fn body<T: serde::Serialize>(request: &T) -> Vec<u8> {
    serde_json::to_vec(request).expect("wire requests always serialize")
}

fn missing_data(endpoint: &'static str, field: &str) -> PlatformError {
    PlatformError::Decode {
        endpoint,
        message: format!("err_no 0 but no {field}"),
        body_snippet: String::new(),
    }
}

/// `text` with every non-empty `secrets` value replaced by `***`.
fn mask(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |t, s| t.replace(s, "***"))
}

/// POSTs a JSON body and returns the answer's bytes when the status is 2xx. On failure, the
/// error and the parsed `Retry-After`, if the server sent one.
async fn post(
    http: &reqwest::Client,
    url: &str,
    endpoint: &'static str,
    body: Vec<u8>,
    timeout: Duration,
    check_type: Option<&str>,
    secrets: &[&str],
) -> Attempt<bytes::Bytes> {
    // Exactly `application/json`: the product API rejects a charset segment (§1 notes).
    let mut request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(timeout)
        .body(body);
    if let Some(check_type) = check_type {
        request = request.header(facts::CHECK_TYPE_HEADER, check_type);
    }
    let response = request
        .send()
        .await
        .map_err(|e| (transport_error(endpoint, &e, secrets), None))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
    let bytes = response
        .bytes()
        .await
        .map_err(|e| (transport_error(endpoint, &e, secrets), None))?;
    if status.is_success() {
        return Ok(bytes);
    }
    let error = PlatformError::Http {
        endpoint,
        status: status.as_u16(),
        body_snippet: error::snippet(&bytes, secrets),
    };
    Err((error, retry_after))
}

fn transport_error(endpoint: &'static str, e: &reqwest::Error, secrets: &[&str]) -> PlatformError {
    // Connecting failed (a connect timeout included): nothing was sent.
    let connect = e.is_connect();
    if e.is_timeout() && !connect {
        return PlatformError::Timeout { endpoint };
    }
    // reqwest's own message is generic ("error sending request"); the cause is in the chain.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    let message = mask(&message, secrets);
    if connect {
        PlatformError::Connect { endpoint, message }
    } else {
        PlatformError::Transport { endpoint, message }
    }
}

/// The uri in a 10003 message "<text>:<resource_uri>" (platform-api.md §6.1 [I]): what follows
/// the last colon, ASCII or full-width.
fn uri_in(err_msg: &str) -> Option<String> {
    let (_, uri) = err_msg.rsplit_once([':', '：'])?;
    let uri = uri.trim();
    (!uri.is_empty() && !uri.contains(char::is_whitespace)).then(|| uri.to_string())
}

/// The product id in a 10140/10141 message such as "已进审课程7266291344409690173"
/// (platform-api.md §13 [I]): the longest run of digits that is a positive i64.
fn product_id_in(err_msg: &str) -> Option<i64> {
    err_msg
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .max_by_key(|run| run.len())
        .and_then(|run| run.parse::<i64>().ok())
        .filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_id_from_an_already_in_review_message() {
        assert_eq!(
            product_id_in("已进审课程7266291344409690173"),
            Some(7_266_291_344_409_690_173)
        );
        assert_eq!(
            product_id_in("err 10140: course 7266291344409690173 in review"),
            Some(7_266_291_344_409_690_173)
        );
        assert_eq!(product_id_in("已进审课程"), None);
        assert_eq!(product_id_in("99999999999999999999999"), None, "overflow");
    }

    #[test]
    fn uri_from_an_already_uploaded_message() {
        assert_eq!(
            uri_in("资源已存在:product/resource/abc").as_deref(),
            Some("product/resource/abc")
        );
        assert_eq!(
            uri_in("资源已存在：tos-cn-i-b2i6zad4el/abc").as_deref(),
            Some("tos-cn-i-b2i6zad4el/abc")
        );
        assert_eq!(uri_in("resource exists"), None);
        assert_eq!(uri_in("resource exists: "), None);
    }

    #[test]
    fn mask_replaces_every_secret() {
        assert_eq!(
            mask("a tok b sec tok", &["tok", "sec", ""]),
            "a *** b *** ***"
        );
    }

    fn settings(text: &str) -> Settings {
        Settings::parse(std::path::Path::new("/r/coursesync.toml"), text).unwrap()
    }

    #[test]
    fn bases_follow_environment_and_base_url() {
        let c = ClientConfig::from_settings(&settings(
            "[app]\nappid = \"tt1\"\nenvironment = \"production\"\n",
        ))
        .unwrap();
        assert_eq!(c.product_base, settings::PRODUCTION_PRODUCT_BASE);
        assert_eq!(c.token_base, settings::PRODUCTION_TOKEN_BASE);
        assert_eq!(c.role_base, "https://developer.toutiao.com");
        let c = ClientConfig::from_settings(&settings(
            "[app]\nappid = \"tt1\"\nenvironment = \"sandbox\"\n",
        ))
        .unwrap();
        assert_eq!(
            (
                c.product_base.as_str(),
                c.token_base.as_str(),
                c.role_base.as_str()
            ),
            (
                settings::SANDBOX_BASE,
                settings::SANDBOX_BASE,
                settings::SANDBOX_BASE
            )
        );
        let c = ClientConfig::from_settings(&settings(
            "[app]\nappid = \"tt1\"\nenvironment = \"production\"\nbase_url = \"http://127.0.0.1:8790\"\n",
        ))
        .unwrap();
        assert_eq!(c.product_base, "http://127.0.0.1:8790");
        assert_eq!(c.token_base, "http://127.0.0.1:8790");
        assert_eq!(c.role_base, "http://127.0.0.1:8790");
        assert!(ClientConfig::from_settings(&settings("[app]\nappid = \"tt1\"\n")).is_err());
    }

    #[test]
    fn sandbox_audit_becomes_the_check_type_header() {
        let c = ClientConfig::from_settings(&settings(
            "[app]\nappid = \"tt1\"\nenvironment = \"sandbox\"\nsandbox_audit = \"approve\"\n",
        ))
        .unwrap();
        assert_eq!(c.check_type.as_deref(), Some("OK"));
        let c = ClientConfig::from_settings(&settings(
            "[app]\nappid = \"tt1\"\nenvironment = \"sandbox\"\n",
        ))
        .unwrap();
        assert_eq!(c.check_type, None);
    }
}
