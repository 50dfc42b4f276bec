//! Where the access token comes from (PRODUCT.md "Settings", "Settled details"):
//! `COURSESYNC_ACCESS_TOKEN`, a ready token, wins; otherwise `COURSESYNC_APP_SECRET` is exchanged
//! at `/api/apps/v2/token` (platform-api.md §2.2).
//!
//! Invariants: a fetched token is cached and renewed before it expires ([`renew_after`]); a
//! refused token (err 10001 [I]) is dropped once per generation, so many calls refused at the
//! same moment cause a single renewal; a refused ready token falls back to the secret when one
//! is set, else fails with an error that names the variable, never its value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::PlatformError;
use super::facts;
use super::wire::{TokenEnvelope, TokenRequest};
use crate::settings::{ENV_ACCESS_TOKEN, ENV_APP_SECRET, Secret};

const ENDPOINT: &str = "token";

/// How long a freshly fetched token is used before it is renewed: `expires_in` less the
/// platform's 10-minute margin (GO-R, platform-api.md §2.2), but at least half its lifetime, so a
/// short-lived token is still used for a while.
pub fn renew_after(expires_in: Duration) -> Duration {
    expires_in
        .saturating_sub(facts::TOKEN_RENEW_MARGIN)
        .max(expires_in / 2)
}

/// A token handed to one call, with the generation it belongs to (see [`TokenSource::refused`]).
#[derive(Debug, Clone)]
pub struct Lease {
    pub token: Secret,
    generation: u64,
}

#[derive(Debug)]
struct Current {
    token: Secret,
    /// `None` for the ready token, whose lifetime is unknown.
    renew_at: Option<Instant>,
    from_env: bool,
}

#[derive(Debug)]
struct State {
    current: Option<Current>,
    generation: u64,
    ready_refused: bool,
}

/// The shared token cache of one client.
#[derive(Debug)]
pub struct TokenSource {
    appid: String,
    url: String,
    secret: Option<Secret>,
    http: reqwest::Client,
    timeout: Duration,
    state: Mutex<State>,
    fetches: AtomicU64,
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
    ) -> TokenSource {
        TokenSource {
            appid: appid.to_string(),
            url: format!("{}{}", token_base.trim_end_matches('/'), facts::path::TOKEN),
            secret: app_secret,
            http,
            timeout,
            state: Mutex::new(State {
                current: access_token.map(|token| Current {
                    token,
                    renew_at: None,
                    from_env: true,
                }),
                generation: 0,
                ready_refused: false,
            }),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the secret was exchanged for a token.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A token to use now: the cached one while it is fresh, else a newly fetched one.
    pub async fn get(&self) -> Result<Lease, PlatformError> {
        let mut state = self.state.lock().await;
        if let Some(current) = &state.current
            && current.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(Lease {
                token: current.token.clone(),
                generation: state.generation,
            });
        }
        let Some(secret) = &self.secret else {
            return Err(if state.ready_refused {
                ready_refused_error()
            } else {
                no_credentials_error()
            });
        };
        // Fetched under the lock: concurrent callers wait for this one exchange.
        let (token, expires_in) = self.exchange(secret).await?;
        state.generation += 1;
        state.current = Some(Current {
            token: token.clone(),
            renew_at: Some(Instant::now() + renew_after(expires_in)),
            from_env: false,
        });
        Ok(Lease {
            token,
            generation: state.generation,
        })
    }

    /// The platform refused `lease`'s token (10001): drop it so the next [`get`](Self::get)
    /// renews. A refusal of an already replaced token is ignored. Fails when the refused token
    /// was the ready one and there is no secret to fall back to.
    pub async fn refused(&self, lease: &Lease) -> Result<(), PlatformError> {
        let mut state = self.state.lock().await;
        if state.generation != lease.generation {
            return Ok(());
        }
        let was_ready = state.current.as_ref().is_some_and(|c| c.from_env);
        state.current = None;
        state.generation += 1;
        if was_ready {
            state.ready_refused = true;
            if self.secret.is_none() {
                return Err(ready_refused_error());
            }
        }
        Ok(())
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

    #[test]
    fn renews_ten_minutes_early_for_the_usual_two_hours() {
        assert_eq!(
            renew_after(Duration::from_hours(2)),
            Duration::from_mins(110)
        );
    }

    #[test]
    fn short_lifetimes_are_used_for_at_least_half() {
        assert_eq!(
            renew_after(Duration::from_secs(1000)),
            Duration::from_secs(500)
        );
        assert_eq!(renew_after(Duration::from_mins(10)), Duration::from_mins(5));
        assert_eq!(renew_after(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
    }

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

    fn source(ready: Option<&str>, secret: Option<&str>) -> TokenSource {
        TokenSource::new(
            reqwest::Client::new(),
            // Nothing listens here; these tests never reach the network.
            "http://127.0.0.1:9",
            "tt_app",
            ready.map(Secret::new),
            secret.map(Secret::new),
            Duration::from_secs(1),
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
