//! Pure retry decisions (STYLE.md convention 5): what kind of failure an outcome is, and how long
//! to wait before the next attempt. The clock and the random number are passed in, so every
//! branch is unit-tested; the client's async loop only sleeps for what this module says.

use std::time::{Duration, SystemTime};

use super::facts;

/// What a failed attempt means for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Worth trying again after a pause: timeouts, broken connections, 5xx, 429, "system busy".
    Transient,
    /// The access token was refused (platform-api.md §13, 10001 [I]): renew it, then retry at once.
    TokenExpired,
    /// Trying again cannot help: parameter errors and everything not known to be transient.
    Fatal,
}

/// The raw outcome of one attempt, before it becomes a typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No answer within the request timeout.
    Timeout,
    /// Connecting failed, or the connection broke before the whole answer arrived.
    Connection,
    /// An HTTP status other than 2xx.
    HttpStatus(u16),
    /// HTTP 200 with a non-zero `err_no` in the envelope (platform-api.md §3).
    Api(i64),
}

/// Classifies one outcome.
pub fn classify(outcome: Outcome) -> Class {
    match outcome {
        // JAVA-S sees 504 "fairly often" and retries non-200 answers (platform-api.md §13).
        Outcome::Timeout | Outcome::Connection | Outcome::Api(facts::ERR_SYSTEM_BUSY) => {
            Class::Transient
        }
        Outcome::HttpStatus(status) if status == 429 || (500..600).contains(&status) => {
            Class::Transient
        }
        Outcome::Api(facts::ERR_TOKEN_INVALID) => Class::TokenExpired,
        Outcome::HttpStatus(_) | Outcome::Api(_) => Class::Fatal,
    }
}

/// A `Retry-After` longer than this is not waited for: the attempt fails instead, since an
/// apply stalled for many minutes on one call is worse than a clear error.
pub const MAX_RETRY_AFTER: Duration = Duration::from_mins(5);

/// Capped exponential backoff with equal jitter: the n-th wait lies in `[d/2, d]` with
/// `d = min(base_delay * 2^(n-1), max_delay)`. Equal rather than full jitter keeps a floor under
/// each wait, so a struggling platform is not hit again almost at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means never retry.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt, or `None` to give up.
    ///
    /// `attempt` is the number of attempts made so far (1 after the first failure);
    /// `retry_after` is the server's `Retry-After`, already parsed; `rng_value` is uniform in
    /// `[0, 1)`. A token refusal is retried at once (the caller renews the token first).
    pub fn next_delay(
        &self,
        attempt: u32,
        class: Class,
        retry_after: Option<Duration>,
        rng_value: f64,
    ) -> Option<Duration> {
        if class == Class::Fatal || attempt >= self.max_attempts {
            return None;
        }
        if class == Class::TokenExpired {
            return Some(Duration::ZERO);
        }
        if let Some(wait) = retry_after {
            return (wait <= MAX_RETRY_AFTER).then_some(wait);
        }
        let exponent = attempt.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .checked_mul(1u32 << exponent)
            .map_or(self.max_delay, |d| d.min(self.max_delay));
        let half = ceiling / 2;
        Some(half + half.mul_f64(rng_value.clamp(0.0, 1.0)))
    }
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to
/// `now`. A date in the past means "now"; anything unreadable is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
    };

    #[test]
    fn transient_outcomes() {
        for outcome in [
            Outcome::Timeout,
            Outcome::Connection,
            Outcome::HttpStatus(500),
            Outcome::HttpStatus(502),
            Outcome::HttpStatus(503),
            Outcome::HttpStatus(504),
            Outcome::HttpStatus(429),
            Outcome::Api(-1),
        ] {
            assert_eq!(classify(outcome), Class::Transient, "{outcome:?}");
        }
    }

    #[test]
    fn token_refusal_and_fatal_outcomes() {
        assert_eq!(classify(Outcome::Api(10001)), Class::TokenExpired);
        for outcome in [
            Outcome::HttpStatus(400),
            Outcome::HttpStatus(404),
            Outcome::Api(10002),
            Outcome::Api(10140),
            Outcome::Api(40017),
        ] {
            assert_eq!(classify(outcome), Class::Fatal, "{outcome:?}");
        }
    }

    #[test]
    fn backoff_doubles_within_equal_jitter_bounds() {
        for (attempt, ceiling_ms) in [(1, 100), (2, 200), (3, 400), (4, 800)] {
            let low = POLICY
                .next_delay(attempt, Class::Transient, None, 0.0)
                .unwrap();
            let high = POLICY
                .next_delay(attempt, Class::Transient, None, 0.999_999)
                .unwrap();
            assert_eq!(
                low,
                Duration::from_millis(ceiling_ms / 2),
                "attempt {attempt}"
            );
            assert!(
                high <= Duration::from_millis(ceiling_ms),
                "attempt {attempt}: {high:?}"
            );
            assert!(high > Duration::from_millis(ceiling_ms * 99 / 100));
        }
    }

    #[test]
    fn backoff_is_capped_at_max_delay() {
        let policy = RetryPolicy {
            max_attempts: 100,
            ..POLICY
        };
        for attempt in [5, 10, 40, 99] {
            let d = policy
                .next_delay(attempt, Class::Transient, None, 1.0)
                .unwrap();
            assert_eq!(d, Duration::from_secs(1), "attempt {attempt}");
        }
    }

    #[test]
    fn attempts_exhausted_gives_up() {
        assert!(POLICY.next_delay(4, Class::Transient, None, 0.5).is_some());
        assert_eq!(POLICY.next_delay(5, Class::Transient, None, 0.5), None);
        assert_eq!(POLICY.next_delay(5, Class::TokenExpired, None, 0.5), None);
        let once = RetryPolicy {
            max_attempts: 1,
            ..POLICY
        };
        assert_eq!(once.next_delay(1, Class::Transient, None, 0.5), None);
    }

    #[test]
    fn fatal_is_never_retried() {
        for attempt in 0..5 {
            let retry_after = Some(Duration::from_secs(1));
            assert_eq!(
                POLICY.next_delay(attempt, Class::Fatal, retry_after, 0.5),
                None
            );
        }
    }

    #[test]
    fn token_refusal_is_retried_at_once() {
        assert_eq!(
            POLICY.next_delay(1, Class::TokenExpired, None, 0.9),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_wins_over_backoff_even_above_the_cap() {
        let d = POLICY.next_delay(1, Class::Transient, Some(Duration::from_secs(7)), 0.0);
        assert_eq!(d, Some(Duration::from_secs(7)));
        let d = POLICY.next_delay(3, Class::Transient, Some(Duration::ZERO), 0.9);
        assert_eq!(d, Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_beyond_the_ceiling_gives_up() {
        let too_long = MAX_RETRY_AFTER + Duration::from_secs(1);
        assert_eq!(
            POLICY.next_delay(1, Class::Transient, Some(too_long), 0.0),
            None
        );
    }

    #[test]
    fn retry_after_delta_seconds() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_mins(2))
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_http_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s after the epoch.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777 - 30);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(30))
        );
        let later = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777 + 30);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
    }
}
