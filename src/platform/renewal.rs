//! Pure token bookkeeping (PRODUCT.md "Platform facts the documents leave open", Tokens): which
//! token a call uses, when the secret must be exchanged again, and the rolling renewal budget.
//! [`super::token::TokenSource`] is the async shell around a [`Book`]: it holds the book under
//! one lock, performs the exchange the book asks for, and nothing else. Time is a `Duration`
//! since an arbitrary origin, passed in, so every rule is unit-tested without a clock.
//!
//! Invariants:
//! - Every token has a generation (1, 2, ... per exchange; 0 for `COURSESYNC_ACCESS_TOKEN`). A
//!   call refused with an older generation than the current one retries with the current token
//!   and spends nothing ([`Refusal::Stale`]); only a refusal of the current token drops it.
//! - At most [`RENEWAL_BUDGET`]`.max` exchanges start in any rolling [`RENEWAL_BUDGET`]`.window`,
//!   whatever the reason (expiry, refusal, fallback from the ready token). Past that the book
//!   fails with [`TokenFailure::BudgetExhausted`] instead of asking the token endpoint again.
//! - A fatal answer of the token endpoint (bad secret, bad appid) is remembered: later calls
//!   fail with it at once instead of exchanging the same wrong secret again.

use std::collections::VecDeque;
use std::time::Duration;

use super::facts;
use crate::settings::Secret;

/// A rolling limit on token exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Exchanges allowed in any window.
    pub max: usize,
    pub window: Duration,
}

/// The renewal budget of one client (one command run). The platform rate-limits token issuance
/// (more than 500 calls in 5 minutes is refused with 10020, platform-api.md §2.2/§14 [C] for
/// client_token, assumed here); 30 a minute is at most 150 in 5 minutes, under a third of that,
/// leaving room for the app's other jobs. It lets a run survive a revocation every 2 seconds,
/// indefinitely, while a platform that refuses every fresh token stops the run within a minute
/// with a clear error instead of a storm of exchanges. Documented in docs/commands.md ("Access
/// tokens").
pub const RENEWAL_BUDGET: Budget = Budget {
    max: 30,
    window: Duration::from_mins(1),
};

/// An `expires_in` above this is read as this (a day): a huge value from the token endpoint must
/// neither overflow a deadline nor keep a token past any sane lifetime (the documented one is
/// 7200 s, platform-api.md §2.2).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_hours(24);

/// How long a freshly fetched token is used before it is renewed: `expires_in` (at most
/// [`MAX_TOKEN_LIFETIME`]) less the platform's 10-minute margin (GO-R, platform-api.md §2.2), but
/// at least half its lifetime, so a short-lived token is still used for a while.
pub fn renew_after(expires_in: Duration) -> Duration {
    let expires_in = expires_in.min(MAX_TOKEN_LIFETIME);
    expires_in
        .saturating_sub(facts::TOKEN_RENEW_MARGIN)
        .max(expires_in / 2)
}

/// A token handed to one call, with the generation it belongs to.
#[derive(Debug, Clone)]
pub struct Lease {
    pub token: Secret,
    pub generation: u64,
}

/// Why no token can be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFailure {
    /// Neither a ready token nor a secret.
    NoCredentials,
    /// The ready token was refused and there is no secret to fall back to.
    ReadyRefused,
    /// `used` exchanges already started within the budget's window.
    BudgetExhausted { used: usize, budget: Budget },
    /// The token endpoint refused the secret or the appid; kept so it is not asked again.
    Endpoint(super::PlatformError),
}

/// What [`Book::next`] says a call must do.
#[derive(Debug, Clone)]
pub enum Next {
    /// Use this token.
    Use(Lease),
    /// Exchange the secret now (the budget is already spent), then report with
    /// [`Book::exchanged`] or [`Book::exchange_failed`].
    Exchange,
    Fail(TokenFailure),
}

/// What a refusal of a token means for the refused call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A newer token exists: retry with it, nothing spent.
    Stale,
    /// The current token was dropped (or already had been): the retry's [`Book::next`] renews.
    Renew,
    Fail(TokenFailure),
}

#[derive(Debug, Clone)]
struct Current {
    token: Secret,
    /// When to renew; `None` for the ready token, whose lifetime is unknown.
    renew_at: Option<Duration>,
    from_env: bool,
}

/// The token state of one client.
#[derive(Debug)]
pub struct Book {
    current: Option<Current>,
    /// The generation of the newest token (0 until the first exchange).
    generation: u64,
    ready_refused: bool,
    has_secret: bool,
    budget: Budget,
    /// Start times of the exchanges still inside the window, oldest first.
    spent: VecDeque<Duration>,
    fatal: Option<super::PlatformError>,
}

impl Book {
    pub fn new(ready: Option<Secret>, has_secret: bool, budget: Budget) -> Book {
        Book {
            current: ready.map(|token| Current {
                token,
                renew_at: None,
                from_env: true,
            }),
            generation: 0,
            ready_refused: false,
            has_secret,
            budget,
            spent: VecDeque::new(),
            fatal: None,
        }
    }

    /// What a call that needs a token at `now` must do. Asking for [`Next::Exchange`] spends one
    /// unit of the budget.
    pub fn next(&mut self, now: Duration) -> Next {
        if let Some(current) = &self.current
            && current.renew_at.is_none_or(|at| now < at)
        {
            return Next::Use(Lease {
                token: current.token.clone(),
                generation: self.generation,
            });
        }
        if let Some(e) = &self.fatal {
            return Next::Fail(TokenFailure::Endpoint(e.clone()));
        }
        if !self.has_secret {
            return Next::Fail(if self.ready_refused {
                TokenFailure::ReadyRefused
            } else {
                TokenFailure::NoCredentials
            });
        }
        while self
            .spent
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= self.budget.window)
        {
            self.spent.pop_front();
        }
        if self.spent.len() >= self.budget.max {
            return Next::Fail(TokenFailure::BudgetExhausted {
                used: self.spent.len(),
                budget: self.budget,
            });
        }
        self.spent.push_back(now);
        Next::Exchange
    }

    /// The exchange asked for at `now` gave `token`, valid for `expires_in`.
    pub fn exchanged(&mut self, token: Secret, expires_in: Duration, now: Duration) -> Lease {
        self.generation += 1;
        self.current = Some(Current {
            token: token.clone(),
            renew_at: Some(now.saturating_add(renew_after(expires_in))),
            from_env: false,
        });
        Lease {
            token,
            generation: self.generation,
        }
    }

    /// The exchange failed; a failure that no retry can mend (`fatal`) is kept.
    pub fn exchange_failed(&mut self, error: &super::PlatformError, fatal: bool) {
        if fatal {
            self.fatal = Some(error.clone());
        }
    }

    /// The platform refused the token of `lease_generation`.
    pub fn refused(&mut self, lease_generation: u64) -> Refusal {
        if lease_generation != self.generation {
            return Refusal::Stale;
        }
        if let Some(current) = self.current.take()
            && current.from_env
        {
            self.ready_refused = true;
        }
        if self.ready_refused && !self.has_secret {
            return Refusal::Fail(TokenFailure::ReadyRefused);
        }
        Refusal::Renew
    }

    /// Exchanges started within the window ending at the last [`Book::next`].
    pub fn spent(&self) -> usize {
        self.spent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Budget = Budget {
        max: 3,
        window: Duration::from_secs(10),
    };

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn lease(next: Next) -> Lease {
        match next {
            Next::Use(lease) => lease,
            other => panic!("expected a token, got {other:?}"),
        }
    }

    fn exchange(book: &mut Book, token: &str, now: Duration) -> Lease {
        assert!(matches!(book.next(now), Next::Exchange));
        book.exchanged(Secret::new(token), Duration::from_hours(2), now)
    }

    #[test]
    fn renews_ten_minutes_early_for_the_usual_two_hours() {
        assert_eq!(
            renew_after(Duration::from_hours(2)),
            Duration::from_mins(110)
        );
    }

    #[test]
    fn short_lifetimes_are_used_for_at_least_half() {
        assert_eq!(renew_after(s(1000)), s(500));
        assert_eq!(renew_after(Duration::from_mins(10)), Duration::from_mins(5));
        assert_eq!(renew_after(s(2)), s(1));
        assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn huge_lifetimes_are_capped_at_a_day() {
        let capped = renew_after(MAX_TOKEN_LIFETIME);
        assert_eq!(renew_after(Duration::MAX), capped);
        assert_eq!(renew_after(s(i64::MAX as u64)), capped);
        let mut book = Book::new(None, true, BUDGET);
        assert!(matches!(book.next(Duration::MAX), Next::Exchange));
        let l = book.exchanged(Secret::new("t"), Duration::MAX, Duration::MAX);
        assert_eq!(l.generation, 1);
    }

    #[test]
    fn a_fresh_token_is_shared_until_it_is_due() {
        let mut book = Book::new(None, true, BUDGET);
        let first = exchange(&mut book, "t1", s(0));
        assert_eq!(first.generation, 1);
        let again = lease(book.next(s(60)));
        assert_eq!((again.token.expose(), again.generation), ("t1", 1));
        // Due after 110 minutes: renewed.
        assert!(matches!(book.next(s(110 * 60)), Next::Exchange));
    }

    #[test]
    fn the_ready_token_wins_and_is_never_due() {
        let mut book = Book::new(Some(Secret::new("ready")), true, BUDGET);
        let l = lease(book.next(s(1_000_000)));
        assert_eq!((l.token.expose(), l.generation), ("ready", 0));
        assert_eq!(book.spent(), 0);
    }

    #[test]
    fn a_refused_ready_token_falls_back_to_the_secret() {
        let mut book = Book::new(Some(Secret::new("ready")), true, BUDGET);
        let l = lease(book.next(s(0)));
        assert_eq!(book.refused(l.generation), Refusal::Renew);
        let renewed = exchange(&mut book, "t1", s(0));
        assert_eq!((renewed.token.expose(), renewed.generation), ("t1", 1));
    }

    #[test]
    fn a_refused_ready_token_without_secret_fails_and_stays_failed() {
        let mut book = Book::new(Some(Secret::new("ready")), false, BUDGET);
        let l = lease(book.next(s(0)));
        assert_eq!(
            book.refused(l.generation),
            Refusal::Fail(TokenFailure::ReadyRefused)
        );
        assert!(matches!(
            book.next(s(1)),
            Next::Fail(TokenFailure::ReadyRefused)
        ));
    }

    #[test]
    fn no_credentials() {
        let mut book = Book::new(None, false, BUDGET);
        assert!(matches!(
            book.next(s(0)),
            Next::Fail(TokenFailure::NoCredentials)
        ));
    }

    #[test]
    fn a_stale_refusal_retries_with_the_current_token_and_spends_nothing() {
        let mut book = Book::new(None, true, BUDGET);
        let old = exchange(&mut book, "t1", s(0));
        // Many calls refused with t1 at once: the first drops it, the renewal happens once.
        assert_eq!(book.refused(old.generation), Refusal::Renew);
        let new = exchange(&mut book, "t2", s(1));
        for _ in 0..5 {
            assert_eq!(book.refused(old.generation), Refusal::Stale);
            let l = lease(book.next(s(1)));
            assert_eq!((l.token.expose(), l.generation), ("t2", new.generation));
        }
        assert_eq!(book.spent(), 2);
    }

    #[test]
    fn refusals_of_the_current_token_before_the_renewal_renew_once() {
        let mut book = Book::new(None, true, BUDGET);
        let l = exchange(&mut book, "t1", s(0));
        assert_eq!(book.refused(l.generation), Refusal::Renew);
        // A second call refused with the same token before anyone renewed: nothing to drop.
        assert_eq!(book.refused(l.generation), Refusal::Renew);
        exchange(&mut book, "t2", s(0));
        assert_eq!(book.spent(), 2);
    }

    #[test]
    fn the_budget_is_a_rolling_window() {
        let mut book = Book::new(None, true, BUDGET);
        for t in [0, 1, 2] {
            let l = exchange(&mut book, "t", s(t));
            assert_eq!(book.refused(l.generation), Refusal::Renew);
        }
        match book.next(s(9)) {
            Next::Fail(TokenFailure::BudgetExhausted { used, budget }) => {
                assert_eq!((used, budget), (3, BUDGET));
            }
            other => panic!("expected exhaustion, got {other:?}"),
        }
        // The exchange at 0 leaves the window at 10: one more is allowed, then none until 11.
        let l = exchange(&mut book, "t", s(10));
        assert_eq!(book.refused(l.generation), Refusal::Renew);
        assert!(matches!(
            book.next(s(10)),
            Next::Fail(TokenFailure::BudgetExhausted { .. })
        ));
        assert!(matches!(book.next(s(11)), Next::Exchange));
    }

    #[test]
    fn a_fatal_exchange_failure_is_not_retried() {
        let mut book = Book::new(None, true, BUDGET);
        assert!(matches!(book.next(s(0)), Next::Exchange));
        let e = super::super::PlatformError::Token {
            message: "bad secret".into(),
            hint: "h".into(),
        };
        book.exchange_failed(&e, true);
        assert!(matches!(
            book.next(s(1)),
            Next::Fail(TokenFailure::Endpoint(_))
        ));
        assert_eq!(book.spent(), 1);
    }

    #[test]
    fn a_transient_exchange_failure_may_be_retried() {
        let mut book = Book::new(None, true, BUDGET);
        assert!(matches!(book.next(s(0)), Next::Exchange));
        let e = super::super::PlatformError::Timeout { endpoint: "token" };
        book.exchange_failed(&e, false);
        assert!(matches!(book.next(s(1)), Next::Exchange));
    }
}
