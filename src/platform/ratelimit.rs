//! The client-side rate limit shared by every endpoint (PRODUCT.md "Settings", `apply.max_qps`).
//!
//! [`Schedule`] is the pure part: each request reserves the next free slot, slots are
//! `1 / max_qps` apart, and an idle limiter does not bank credit (no bursts), so in any window of
//! length `t` at most `1 + t * max_qps` requests start. Time is a `Duration` since an arbitrary
//! origin, passed in, so the scheduling is unit-tested without a clock.

use std::sync::Mutex;
use std::time::Duration;

/// The rate range [`Schedule`] works in: one request in 1,000 seconds to a million a second.
const MIN_QPS: f64 = 0.001;
const MAX_QPS: f64 = 1_000_000.0;

/// Pure slot scheduling: who may start when.
#[derive(Debug, Clone)]
pub struct Schedule {
    interval: Duration,
    next_free: Duration,
}

impl Schedule {
    /// A schedule of `max_qps` requests per second, read within [`MIN_QPS`, `MAX_QPS`] (the
    /// client refuses a value outside `settings::bounds::MAX_QPS` first; this clamp only keeps
    /// the arithmetic safe whatever it is given, NaN included).
    pub fn new(max_qps: f64) -> Schedule {
        let qps = if max_qps.is_nan() {
            MIN_QPS
        } else {
            max_qps.clamp(MIN_QPS, MAX_QPS)
        };
        Schedule {
            interval: Duration::from_secs_f64(1.0 / qps),
            next_free: Duration::ZERO,
        }
    }

    /// Reserves the next slot for a request that is ready at `now`; returns how long it must
    /// wait before it may start.
    pub fn reserve(&mut self, now: Duration) -> Duration {
        let start = self.next_free.max(now);
        self.next_free = start.saturating_add(self.interval);
        start.saturating_sub(now)
    }
}

/// The async limiter: reserves under a lock, sleeps outside it.
#[derive(Debug)]
pub struct RateLimiter {
    origin: tokio::time::Instant,
    schedule: Mutex<Schedule>,
}

impl RateLimiter {
    pub fn new(max_qps: f64) -> RateLimiter {
        RateLimiter {
            origin: tokio::time::Instant::now(),
            schedule: Mutex::new(Schedule::new(max_qps)),
        }
    }

    /// Waits for this request's slot; returns whether it had to wait.
    pub async fn acquire(&self) -> bool {
        let wait = {
            let mut schedule = self
                .schedule
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            schedule.reserve(self.origin.elapsed())
        };
        if wait.is_zero() {
            false
        } else {
            tokio::time::sleep(wait).await;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn requests_at_one_instant_are_spaced_by_the_interval() {
        let mut s = Schedule::new(10.0);
        let waits: Vec<_> = (0..4).map(|_| s.reserve(ms(1000))).collect();
        assert_eq!(waits, [ms(0), ms(100), ms(200), ms(300)]);
    }

    #[test]
    fn spaced_requests_never_wait() {
        let mut s = Schedule::new(10.0);
        for t in [0, 100, 250, 1000] {
            assert_eq!(s.reserve(ms(t)), ms(0), "at {t} ms");
        }
    }

    #[test]
    fn idle_time_does_not_bank_a_burst() {
        let mut s = Schedule::new(4.0);
        assert_eq!(s.reserve(ms(0)), ms(0));
        // Long idle, then three at once: still 250 ms apart.
        assert_eq!(s.reserve(ms(10_000)), ms(0));
        assert_eq!(s.reserve(ms(10_000)), ms(250));
        assert_eq!(s.reserve(ms(10_000)), ms(500));
    }

    #[test]
    fn any_rate_is_scheduled_without_overflow() {
        for qps in [
            f64::MIN_POSITIVE,
            1e-300,
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e300,
        ] {
            let mut s = Schedule::new(qps);
            s.reserve(Duration::MAX);
            s.reserve(Duration::MAX);
            s.reserve(ms(0));
        }
        let mut slow = Schedule::new(1e-300);
        slow.reserve(ms(0));
        assert_eq!(slow.reserve(ms(0)), Duration::from_secs(1000));
    }

    #[test]
    fn a_request_arriving_mid_interval_waits_only_the_rest() {
        let mut s = Schedule::new(10.0);
        assert_eq!(s.reserve(ms(0)), ms(0));
        assert_eq!(s.reserve(ms(40)), ms(60));
    }

    #[test]
    fn starts_in_any_window_stay_within_max_qps() {
        let qps = 20.0;
        let mut s = Schedule::new(qps);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut now = Duration::ZERO;
        let mut starts = Vec::new();
        for _ in 0..2000 {
            now += Duration::from_micros(rng.u64(0..80_000));
            starts.push(now + s.reserve(now));
        }
        for (i, first) in starts.iter().enumerate() {
            let window = Duration::from_secs(1);
            let n = starts[i..]
                .iter()
                .take_while(|t| t.saturating_sub(*first) < window)
                .count();
            assert!(
                n as f64 <= 1.0 + qps,
                "{n} starts within 1 s from {first:?}"
            );
        }
    }
}
