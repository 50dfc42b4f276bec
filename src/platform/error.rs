//! The client's error type. Every message names the endpoint; none carries the access token or
//! the app secret, and no message includes a request body, since the token travels in it
//! (platform-api.md §2.1).

use super::retry::{self, Class, Outcome};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// HTTP 200 with a non-zero `err_no` (platform-api.md §3).
    #[error("{endpoint}: platform error {err_no}: {err_msg}{}", log_suffix(.log_id.as_deref()))]
    Api {
        endpoint: &'static str,
        err_no: i64,
        err_msg: String,
        log_id: Option<String>,
    },
    /// `add` answered that this course is already in review as `product_id` (10140/10141 [I],
    /// platform-api.md §13). Expected after a retried `add` whose first answer was lost; the
    /// caller adopts the id. `after_retry`: an earlier attempt of this same call failed in a way
    /// that may have performed it (so the product is most likely this call's own).
    #[error("add: the course is already in review as product {product_id}")]
    AlreadyInReview { product_id: i64, after_retry: bool },
    #[error("{endpoint}: HTTP {status}: {body_snippet}")]
    Http {
        endpoint: &'static str,
        status: u16,
        body_snippet: String,
    },
    /// The answer was HTTP 200 but not the JSON the endpoint should send.
    #[error("{endpoint}: unreadable answer ({message}): {body_snippet}")]
    Decode {
        endpoint: &'static str,
        message: String,
        body_snippet: String,
    },
    /// The connection broke after the request may have been sent (reset, closed mid-answer).
    #[error("{endpoint}: {message}")]
    Transport {
        endpoint: &'static str,
        message: String,
    },
    /// No connection could be made (refused, unreachable, DNS): nothing was sent.
    #[error("{endpoint}: cannot connect: {message}")]
    Connect {
        endpoint: &'static str,
        message: String,
    },
    #[error("{endpoint}: no answer within the request timeout")]
    Timeout { endpoint: &'static str },
    /// The client's own configuration cannot work.
    #[error("platform client: {message}")]
    Config { message: String },
    /// No usable access token; `hint` says what to change.
    #[error("access token: {message}")]
    Token { message: String, hint: String },
}

fn log_suffix(log_id: Option<&str>) -> String {
    log_id.map_or_else(String::new, |id| format!(" (log_id {id})"))
}

impl PlatformError {
    /// What this error means for a retry (platform-api.md §13, PRODUCT.md "Retries").
    pub fn class(&self) -> Class {
        match self {
            PlatformError::Api { err_no, .. } => retry::classify(Outcome::Api(*err_no)),
            PlatformError::Http { status, .. } => retry::classify(Outcome::HttpStatus(*status)),
            PlatformError::Transport { .. } | PlatformError::Connect { .. } => {
                retry::classify(Outcome::Connection)
            }
            PlatformError::Timeout { .. } => retry::classify(Outcome::Timeout),
            PlatformError::AlreadyInReview { .. }
            | PlatformError::Decode { .. }
            | PlatformError::Config { .. }
            | PlatformError::Token { .. } => Class::Fatal,
        }
    }

    /// Whether trying the same call again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.class() == Class::Transient
    }

    /// Whether a write that failed this way may still have been performed: its answer was lost
    /// (a timeout, a 5xx, a connection broken after sending, "system error", an unreadable 200).
    /// A request that surely was not performed — no connection, 429, a refused token, any other
    /// error answer — is not (PRODUCT.md "No blind re-add").
    pub fn maybe_performed(&self) -> bool {
        match self {
            PlatformError::Timeout { .. }
            | PlatformError::Transport { .. }
            | PlatformError::Decode { .. } => true,
            PlatformError::Http { status, .. } => *status >= 500,
            PlatformError::Api { err_no, .. } => *err_no == super::facts::ERR_SYSTEM_BUSY,
            PlatformError::Connect { .. }
            | PlatformError::AlreadyInReview { .. }
            | PlatformError::Config { .. }
            | PlatformError::Token { .. } => false,
        }
    }

    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<&str> {
        match self {
            PlatformError::Token { hint, .. } => Some(hint),
            _ => None,
        }
    }
}

/// At most this many characters of a body go into an error.
const SNIPPET_CHARS: usize = 200;

/// A short, printable slice of a response body with every `secrets` value masked, in case a
/// server echoes the request back.
pub(crate) fn snippet(body: &[u8], secrets: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "***");
    }
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SNIPPET_CHARS)
        .collect();
    if text.chars().count() > SNIPPET_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_masks_secrets_and_truncates() {
        let body = format!("{{\"echo\":\"tok-123\"}}{}", "x".repeat(500));
        let s = snippet(body.as_bytes(), &["tok-123", ""]);
        assert!(!s.contains("tok-123"), "{s}");
        assert!(s.starts_with("{\"echo\":\"***\"}"), "{s}");
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
    }

    #[test]
    fn messages_name_the_endpoint() {
        let e = PlatformError::Api {
            endpoint: "add",
            err_no: 10002,
            err_msg: "title is empty".into(),
            log_id: Some("L1".into()),
        };
        assert_eq!(
            e.to_string(),
            "add: platform error 10002: title is empty (log_id L1)"
        );
        let e = PlatformError::Http {
            endpoint: "query",
            status: 504,
            body_snippet: "gateway timeout".into(),
        };
        assert_eq!(e.to_string(), "query: HTTP 504: gateway timeout");
        assert!(e.is_transient());
    }

    #[test]
    fn classes() {
        let api = |err_no| PlatformError::Api {
            endpoint: "add",
            err_no,
            err_msg: String::new(),
            log_id: None,
        };
        assert_eq!(api(10001).class(), Class::TokenExpired);
        assert!(api(-1).is_transient());
        assert!(!api(10002).is_transient());
        assert!(PlatformError::Timeout { endpoint: "add" }.is_transient());
        let connect = PlatformError::Connect {
            endpoint: "add",
            message: "refused".into(),
        };
        assert!(connect.is_transient() && !connect.maybe_performed());
        let http = |status| PlatformError::Http {
            endpoint: "add",
            status,
            body_snippet: String::new(),
        };
        assert!(http(504).maybe_performed() && http(500).maybe_performed());
        assert!(!http(429).maybe_performed() && !http(400).maybe_performed());
        assert!(PlatformError::Timeout { endpoint: "add" }.maybe_performed());
        assert!(api(-1).maybe_performed());
        assert!(!api(10001).maybe_performed() && !api(10002).maybe_performed());
        assert!(
            !PlatformError::AlreadyInReview {
                product_id: 1,
                after_retry: false
            }
            .is_transient()
        );
    }
}
