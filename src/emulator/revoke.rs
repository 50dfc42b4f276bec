//! Periodic token revocation: every `period`, every issued token is refused from then on (as
//! `POST /__emulator/tokens/expire` does once), as when another job of the same app keeps
//! fetching new tokens and each new one invalidates the others (PRODUCT.md "Platform facts the
//! documents leave open", Tokens). Set with `Config::revoke_tokens_every` or
//! `coursesync emulator --revoke-tokens-every D`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::model::Shared;

/// Revokes every token each `period` until `stop`; counts the rounds in `rounds`.
pub(super) async fn every(
    shared: Arc<Shared>,
    period: Duration,
    rounds: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // A zero period would spin; the shortest useful period is a millisecond.
    let period = period.max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                shared.expire_tokens();
                rounds.fetch_add(1, Ordering::Relaxed);
            }
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
