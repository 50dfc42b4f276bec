//! A test handle: the emulator on `127.0.0.1:0` on its own thread and tokio runtime, so plain
//! `#[test]` functions and tests that run the real binary can use it. Admin helpers act on the
//! emulator's state directly (the HTTP admin API serves the same functions). Shuts down on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::{
    CallRecord, CallbackRecord, Config, Counts, Emulator, EntitySeed, FaultSpec, Readings,
    Resource, RoleCall, StoredProduct, model,
};

pub const TEST_APPID: &str = "tt_test_app";
pub const TEST_SECRET: &str = "test-secret";

pub struct TestEmulator {
    url: String,
    shared: Arc<model::Shared>,
    revocations: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestEmulator {
    /// Defaults: 127.0.0.1:0, in memory, appid `tt_test_app`, secret `test-secret`, audit
    /// delay 0 (decided right after the call; use a longer delay and `finish_audits` to observe
    /// the reviewing state).
    pub fn new() -> Self {
        Self::start(Self::config())
    }

    /// The default test configuration, to adjust before [`TestEmulator::start`].
    pub fn config() -> Config {
        Config {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            appid: TEST_APPID.into(),
            secret: Some(TEST_SECRET.into()),
            audit_delay: Duration::ZERO,
            ..Config::default()
        }
    }

    /// The default test configuration with `readings` ([`crate::emulator::readings`]).
    pub fn with_readings(readings: Readings) -> Self {
        Self::start(Config {
            readings,
            ..Self::config()
        })
    }

    pub fn start(config: Config) -> Self {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("emulator".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("emulator runtime");
                rt.block_on(async move {
                    match Emulator::start(config).await {
                        Ok(running) => {
                            let _ = ready_tx.send(Ok((
                                running.url(),
                                running.shared(),
                                running.revocation_counter(),
                            )));
                            let _ = stop_rx.await;
                            running.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("{e:#}")));
                        }
                    }
                });
            })
            .expect("spawn emulator thread");
        let (url, shared, revocations) = ready_rx
            .recv()
            .expect("emulator thread answers")
            .unwrap_or_else(|e| panic!("emulator failed to start: {e}"));
        TestEmulator {
            url,
            shared,
            revocations,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The readings this emulator answers the open facts with.
    pub fn readings(&self) -> &Readings {
        &self.shared.cfg.readings
    }

    pub fn appid(&self) -> &str {
        &self.shared.cfg.appid
    }

    /// A valid access token for the configured appid, issued without HTTP.
    pub fn token(&self) -> String {
        self.shared.issue_token(&self.shared.cfg.appid)
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.calls()
    }

    pub fn counts(&self) -> Counts {
        self.shared.counts()
    }

    /// Calls of `endpoint` so far.
    pub fn count(&self, endpoint: &str) -> u64 {
        self.counts()
            .per_endpoint
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Calls of `endpoint` that concerned `course_id`.
    pub fn count_for(&self, course_id: &str, endpoint: &str) -> u64 {
        self.counts()
            .per_course_id
            .get(course_id)
            .and_then(|m| m.get(endpoint))
            .copied()
            .unwrap_or(0)
    }

    pub fn products(&self) -> Vec<StoredProduct> {
        self.shared.products()
    }

    pub fn product(&self, product_id: u64) -> Option<StoredProduct> {
        self.products()
            .into_iter()
            .find(|p| p.product_id == product_id)
    }

    /// The live or reviewing product carrying `course_id` (the newest when several).
    pub fn product_by_course(&self, course_id: &str) -> Option<StoredProduct> {
        self.products()
            .into_iter()
            .filter(|p| p.course_id == course_id)
            .max_by_key(|p| !p.dead)
    }

    pub fn resources(&self) -> Vec<Resource> {
        self.shared.resources()
    }

    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.shared.callbacks_sent()
    }

    /// Decides every pending audit now; returns how many were decided.
    pub fn finish_audits(&self) -> usize {
        self.shared.decide_audits(true)
    }

    /// Out-of-band change of the on-shelf version (drift), a JSON merge patch of
    /// `{common_product_params?, course_params?}`.
    pub fn edit_on_shelf(&self, product_id: u64, patch: &Value) -> Result<StoredProduct, String> {
        self.shared.edit_on_shelf(product_id, patch)
    }

    /// Replaces the faults of `endpoint` (`*` for all); `FaultSpec::default()` clears them.
    pub fn set_fault(&self, endpoint: &str, spec: FaultSpec) {
        self.shared.set_fault(endpoint, spec);
    }

    /// Revokes every issued token now (each is answered 10001 from then on); returns how many.
    pub fn expire_tokens(&self) -> usize {
        self.shared.expire_tokens()
    }

    /// Rounds of periodic revocation so far (`Config::revoke_tokens_every`).
    pub fn revocations(&self) -> u64 {
        self.revocations.load(Ordering::Relaxed)
    }

    pub fn reset(&self) {
        self.shared.reset().expect("reset the emulator");
    }

    /// Adds or replaces role-system entities (as `POST /__emulator/entities` does).
    pub fn seed_entities(&self, seeds: &[EntitySeed]) {
        self.shared.seed_entities(seeds).expect("seed entities");
    }

    pub fn entities(&self) -> Vec<EntitySeed> {
        self.shared.entities()
    }

    /// The role-system calls so far, with what each asked about.
    pub fn role_calls(&self) -> Vec<RoleCall> {
        self.shared.role_calls()
    }
}

impl Default for TestEmulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
