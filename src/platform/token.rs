//! Where the access token comes from (PRODUCT.md "Settings", "Settled details"):
//! `COURSESYNC_ACCESS_TOKEN`, a ready token, wins; otherwise `COURSESYNC_APP_SECRET` is exchanged
//! at `/api/apps/v2/token` (platform-api.md §2.2).
//!
//! The decisions (which token, when to renew, the renewal budget, generations) are pure, in
//! [`super::renewal::Book`]; this is its async shell. The book sits under one async lock that is
//! held during an exchange, so one exchange is in flight at a time and every caller that needs a
//! token meanwhile waits for it (single flight). A refused ready token falls back to the secret
//! when one is set, else fails with an error that names the variable, never its value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::PlatformError;
use super::facts;
use super::renewal::{Book, Budget, Next, Refusal, TokenFailure};
pub use super::renewal::{Lease, renew_after};
use super::wire::{TokenEnvelope, TokenRequest};
use crate::settings::{ENV_ACCESS_TOKEN, ENV_APP_SECRET, Secret};

const ENDPOINT: &str = "token";

/// The shared token cache of one client.
#[derive(Debug)]
pub struct TokenSource {
    appid: String,
    url: String,
    secret: Option<Secret>,
    http: reqwest::Client,
    timeout: Duration,
    origin: Instant,
    book: Mutex<Book>,
    fetches: AtomicU64,
    refusals: AtomicU64,
}

impl TokenSource {
    /// `token_base` is the scheme and host of the token endpoint.
    pub fn new(
        http: reqwest::Client,
        token_base: &str,
        appid: &str,
        access_token: Option<Secret>,
        app_secret: Option<Secret>,
        timeout: Duration,
        budget: Budget,
    ) -> TokenSource {
        TokenSource {
            appid: appid.to_string(),
            url: format!("{}{}", token_base.trim_end_matches('/'), facts::path::TOKEN),
            book: Mutex::new(Book::new(access_token, app_secret.is_some(), budget)),
            secret: app_secret,
            http,
            timeout,
            origin: Instant::now(),
            fetches: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        }
    }

    /// How many times the secret was exchanged for a token.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// How many times the platform refused a token (err 10001).
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// A token to use now: the cached one while it is fresh, else a newly fetched one.
    pub async fn get(&self) -> Result<Lease, PlatformError> {
        let mut book = self.book.lock().await;
        let now = self.origin.elapsed();
        match book.next(now) {
            Next::Use(lease) => Ok(lease),
            Next::Fail(failure) => Err(failure_error(failure)),
            Next::Exchange => {
                let secret = self
                    .secret
                    .as_ref()
                    .expect("the book asks for an exchange only when there is a secret");
                // Under the lock: concurrent callers wait for this one exchange.
                match self.exchange(secret).await {
                    Ok((token, expires_in)) => {
                        Ok(book.exchanged(token, expires_in, self.origin.elapsed()))
                    }
                    Err(e) => {
                        book.exchange_failed(&e, matches!(e, PlatformError::Token { .. }));
                        Err(e)
                    }
                }
            }
        }
    }

    /// The platform refused `lease`'s token (10001). `Ok` means: call [`get`](Self::get) again
    /// and retry; a refusal of an already replaced token spends nothing. Fails when the refused
    /// token was the ready one and there is no secret to fall back to.
    pub async fn refused(&self, lease: &Lease) -> Result<(), PlatformError> {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        match self.book.lock().await.refused(lease.generation) {
            Refusal::Stale | Refusal::Renew => Ok(()),
            Refusal::Fail(failure) => Err(failure_error(failure)),
        }
    }

    async fn exchange(&self, secret: &Secret) -> Result<(Secret, Duration), PlatformError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&TokenRequest {
            appid: &self.appid,
            secret: secret.expose(),
            grant_type: facts::GRANT_TYPE,
        })
        .expect("a token request always serializes");
        let secrets = [secret.expose()];
        let bytes = super::post(
            &self.http,
            &self.url,
            ENDPOINT,
            body,
            self.timeout,
            None,
            &secrets,
        )
        .await
        .map_err(|(e, _)| e)?;
        let envelope: TokenEnvelope =
            serde_json::from_slice(&bytes).map_err(|e| PlatformError::Decode {
                endpoint: ENDPOINT,
                message: e.to_string(),
                body_snippet: super::error::snippet(&bytes, &secrets),
            })?;
        let tips = super::mask(&envelope.err_tips, &secrets);
        match (envelope.err_no, envelope.data) {
            (facts::ERR_OK, Some(data)) if !data.access_token.is_empty() => {
                let expires_in = Duration::from_secs(data.expires_in.max(0).unsigned_abs());
                Ok((Secret::new(data.access_token), expires_in))
            }
            (facts::ERR_OK, _) => Err(PlatformError::Decode {
                endpoint: ENDPOINT,
                message: "err_no 0 but no access_token".into(),
                body_snippet: super::error::snippet(&bytes, &secrets),
            }),
            (err_no, _) => Err(token_endpoint_error(err_no, tips)),
        }
    }
}

/// The token endpoint's refusals (platform-api.md §2.2 [C]) as errors with a hint; -1 "system
/// error" stays an API error so that it is retried.
fn token_endpoint_error(err_no: i64, tips: String) -> PlatformError {
    let token = |what: &str, hint: &str| PlatformError::Token {
        message: format!("the token endpoint refused {what} (err_no {err_no}: {tips})"),
        hint: hint.to_string(),
    };
    match err_no {
        facts::TOKEN_ERR_BAD_APPID => token(
            "the appid",
            "check app.appid in coursesync.toml: it must be the mini-program's appid (tt...)",
        ),
        facts::TOKEN_ERR_BAD_SECRET => token(
            "the app secret",
            &format!("check {ENV_APP_SECRET}: it must be the secret of the app named by app.appid"),
        ),
        facts::TOKEN_ERR_BAD_GRANT_TYPE => token(
            "the grant type",
            "coursesync sends grant_type client_credential; this is a bug, please report it",
        ),
        facts::ERR_SYSTEM_BUSY => PlatformError::Api {
            endpoint: ENDPOINT,
            err_no,
            err_msg: tips,
            log_id: None,
        },
        _ => token(
            "the request",
            &format!("check app.appid and {ENV_APP_SECRET}"),
        ),
    }
}

/// The error for a token the book cannot give.
fn failure_error(failure: TokenFailure) -> PlatformError {
    match failure {
        TokenFailure::NoCredentials => no_credentials_error(),
        TokenFailure::ReadyRefused => ready_refused_error(),
        TokenFailure::Endpoint(e) => e,
        TokenFailure::BudgetExhausted { used, budget } => PlatformError::Token {
            message: format!(
                "the platform keeps refusing access tokens: {used} fetched within {}s, the renewal budget (at most {} per {}s)",
                budget.window.as_secs(),
                budget.max,
                budget.window.as_secs()
            ),
            hint: format!(
                "another job of the same app may be fetching tokens over and over (each new token can invalidate the others): run one job per app at a time, and check that app.appid names the app {ENV_APP_SECRET} belongs to; then run the command again"
            ),
        },
    }
}

fn no_credentials_error() -> PlatformError {
    PlatformError::Token {
        message: format!("neither {ENV_ACCESS_TOKEN} nor {ENV_APP_SECRET} is set"),
        hint: format!(
            "set {ENV_APP_SECRET} to the mini-program's app secret (or {ENV_ACCESS_TOKEN} to a ready token)"
        ),
    }
}

fn ready_refused_error() -> PlatformError {
    PlatformError::Token {
        message: format!(
            "the platform refused the token in {ENV_ACCESS_TOKEN} (expired or invalid) and {ENV_APP_SECRET} is not set"
        ),
        hint: format!(
            "put a fresh token in {ENV_ACCESS_TOKEN}, or set {ENV_APP_SECRET} so coursesync can fetch one"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::renewal::RENEWAL_BUDGET;

    #[test]
    fn token_endpoint_errors_carry_hints_and_no_values() {
        let e = token_endpoint_error(40017, "bad secret".into());
        assert!(matches!(&e, PlatformError::Token { .. }));
        assert!(e.to_string().contains("40017"), "{e}");
        assert!(e.hint().unwrap().contains(ENV_APP_SECRET));
        let e = token_endpoint_error(40015, String::new());
        assert!(e.hint().unwrap().contains("app.appid"));
        let e = token_endpoint_error(40020, String::new());
        assert!(e.hint().unwrap().contains("bug"));
        assert!(token_endpoint_error(-1, String::new()).is_transient());
    }

    #[test]
    fn an_exhausted_budget_names_the_budget_and_what_to_do() {
        let e = failure_error(TokenFailure::BudgetExhausted {
            used: 30,
            budget: RENEWAL_BUDGET,
        });
        assert!(e.to_string().contains("at most 30 per 60s"), "{e}");
        assert!(e.hint().unwrap().contains("one job per app"), "{e:?}");
    }

    fn source(ready: Option<&str>, secret: Option<&str>) -> TokenSource {
        TokenSource::new(
            reqwest::Client::new(),
            // Nothing listens here; these tests never reach the network.
            "http://127.0.0.1:9",
            "tt_app",
            ready.map(Secret::new),
            secret.map(Secret::new),
            Duration::from_secs(1),
            RENEWAL_BUDGET,
        )
    }

    #[tokio::test]
    async fn ready_token_wins() {
        let tokens = source(Some("ready-1"), Some("s"));
        assert_eq!(tokens.get().await.unwrap().token.expose(), "ready-1");
        assert_eq!(tokens.fetches(), 0);
    }

    #[tokio::test]
    async fn refused_ready_token_without_secret_names_the_variable_only() {
        let tokens = source(Some("ready-1"), None);
        let lease = tokens.get().await.unwrap();
        let err = tokens.refused(&lease).await.unwrap_err();
        let text = format!("{err} {err:?} {}", err.hint().unwrap());
        assert!(text.contains(ENV_ACCESS_TOKEN), "{text}");
        assert!(!text.contains("ready-1"), "{text}");
        // Later calls fail the same way instead of reusing the refused token.
        assert!(matches!(
            tokens.get().await,
            Err(PlatformError::Token { .. })
        ));
    }

    #[tokio::test]
    async fn a_stale_refusal_is_ignored() {
        let tokens = source(Some("ready-1"), None);
        let stale = Lease {
            token: Secret::new("old"),
            generation: 99,
        };
        tokens.refused(&stale).await.unwrap();
        assert_eq!(tokens.get().await.unwrap().token.expose(), "ready-1");
    }

    #[tokio::test]
    async fn no_credentials_is_a_clear_error() {
        let err = source(None, None).get().await.unwrap_err();
        assert!(err.to_string().contains(ENV_APP_SECRET), "{err}");
    }
}
