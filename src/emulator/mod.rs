//! The platform emulator: an independent implementation of the course-library API as
//! `platform-api.md` describes it (§1-8, §12-13), for tests, rehearsals and `environment =
//! "local"`. It never imports the client's modules (`catalog`, `platform`, `plan`, `state`,
//! `apply`): its JSON handling is its own, so a misreading cannot hide on both sides.
//!
//! Production paths: `POST /api/apps/v2/token`, `POST /product/api/{upload_resource,
//! query_resource_status, add, modify, modify_no_audit, modify_status, query, query_review,
//! query_class_info, sync_callback_url}`, `POST /auth/entity/{get_bind_list, get_appid_auth,
//! get_class_auth}` (the role system, [`roles`]); `GET /obj/<uri>` redirects to the URL a resource was
//! pulled from (`query` returns `<url>/obj/<uri>` for every `*_url`). Every inferred fact and
//! every number we chose is in [`facts`] (errors: 10001 token, 10002 parameter, 10003 resource
//! exists, 10004 invalid uri "无效的 uri", 10140/10141 course_id taken, 10404 unknown api).
//! `Content-Type` must be `application/json`; parameters such as `charset` are accepted.
//!
//! Audit: every `add`/`modify` version is decided `audit_delay` after submission (a pending audit
//! survives a restart): rejected when the request carried `Aweme-Check-Type: REJECT`, the title
//! contains a banned word, or a teacher or institution it names may not publish it (see
//! [`roles`]), approved otherwise. First approval lists the course. Callbacks
//! (notice_type 1 audit, 4 upload) are POSTed once, no retry, to the `sync_callback_url` URL.
//!
//! Readings ([`readings`]): where the documents leave a fact open, the emulator answers the way
//! `Config::readings` says (`coursesync emulator --reading NAME=VALUE`, repeatable):
//! `add-dedupe=yes|no` (a repeated add answered 10140, or a second product),
//! `status-field=listing|audit` (`product_status.status` of the live version in `query`: listing
//! 1/2, or audit status 2), `query-echo=full|sparse` (`query` echoes every field sent, or only a
//! few, like the documented sample), `token=stable|revoked` (a new token leaves the older ones 5
//! minutes, or none), `modify-status=LIST/DELIST` (1/2) and `resource-types=AUDIO/PDF/OFFICE`
//! (3/4/5). The first value of each is the default and what the emulator did before readings.
//!
//! Admin API under `/__emulator/`: `GET calls`, `GET counts`, `GET products`, `GET resources`,
//! `GET callbacks`, `GET readings`, `POST audits/finish`, `POST products/{id}/edit` (JSON merge patch of
//! `{common_product_params?, course_params?}` into the on-shelf version), `GET|POST faults`
//! (body `{"<endpoint>": FaultSpec}`), `POST tokens/expire` (revokes every issued token: each is
//! answered 10001 from then on), `POST reset`, `GET|POST entities` (role-system entities,
//! [`EntitySeed`]), `GET entities/calls`. `Config::revoke_tokens_every` revokes the tokens
//! periodically.
//!
//! Throughput: `cargo bench --bench emulator_add` measured 10,021 adds/s (16 loopback clients,
//! in memory, audit delay 0, 2-core machine).

mod facts;
mod faults;
mod model;
pub mod readings;
mod revoke;
mod roles;
mod rules;
mod server;
mod store;
pub mod testing;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;

pub use faults::{FaultKind, FaultSpec};
pub use model::{CallRecord, CallbackRecord, Counts, Resource, StoredProduct, Version};
pub use readings::Readings;
pub use roles::{ClassQualification, EntitySeed, RoleCall, UnknownEntities};

/// A listener for every call the emulator logs.
pub type OnCall = std::sync::Arc<dyn Fn(&CallRecord) + Send + Sync>;

/// How to run an emulator.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// SQLite file the platform persists to; in memory when `None`.
    pub data: Option<PathBuf>,
    /// The app id a token is issued for when `secret` is set.
    pub appid: String,
    /// When `None`, any appid/secret pair gets a token (for that appid).
    pub secret: Option<String>,
    pub audit_delay: Duration,
    /// A title containing one of these words is rejected at audit.
    pub banned_words: Vec<String>,
    /// Faults per endpoint at start (see [`FaultSpec::parse_arg`]).
    pub faults: Vec<(String, FaultSpec)>,
    /// Seed for the fault dice and ids; random when `None`.
    pub fault_seed: Option<u64>,
    /// `expires_in` of issued tokens (platform-api.md §2.2: 7200 s).
    pub token_ttl: Duration,
    /// Told of every call as it is logged (the `emulator` command prints a line per call).
    pub on_call: Option<OnCall>,
    /// How the open platform facts are answered ([`readings`]).
    pub readings: Readings,
    /// Revoke every issued token this often (see `revoke`); never when `None`.
    pub revoke_tokens_every: Option<Duration>,
    /// Entities of the role system at start (`roles.rs`).
    pub entities: Vec<EntitySeed>,
    /// How the role system answers about an entity nobody seeded.
    pub unknown_entities: UnknownEntities,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8790)),
            data: None,
            appid: "tt_local_app".into(),
            secret: None,
            audit_delay: Duration::from_secs(2),
            banned_words: Vec::new(),
            faults: Vec::new(),
            fault_seed: None,
            token_ttl: Duration::from_hours(2),
            on_call: None,
            readings: Readings::default(),
            revoke_tokens_every: None,
            entities: Vec::new(),
            unknown_entities: UnknownEntities::Open,
        }
    }
}

impl std::fmt::Debug for Config {
    // Hand-written so the secret can never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data", &self.data)
            .field("appid", &self.appid)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("audit_delay", &self.audit_delay)
            .field("banned_words", &self.banned_words)
            .field("faults", &self.faults)
            .field("fault_seed", &self.fault_seed)
            .field("token_ttl", &self.token_ttl)
            .field("readings", &self.readings)
            .field("revoke_tokens_every", &self.revoke_tokens_every)
            .field("entities", &self.entities)
            .field("unknown_entities", &self.unknown_entities)
            .finish_non_exhaustive()
    }
}

/// Entry point: [`Emulator::start`].
pub struct Emulator;

impl Emulator {
    /// Binds `config.listen`, loads the data file, and serves on the current tokio runtime.
    pub async fn start(config: Config) -> anyhow::Result<Running> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding the emulator to {}", config.listen))?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let url = format!("http://{addr}");
        let revoke_every = config.revoke_tokens_every;
        let shared = Arc::new(model::Shared::new(
            config,
            url.clone(),
            tokio::runtime::Handle::current(),
        )?);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(audit_loop(Arc::clone(&shared), stop_rx.clone()));
        let revocations = Arc::new(AtomicU64::new(0));
        if let Some(period) = revoke_every {
            tokio::spawn(revoke::every(
                Arc::clone(&shared),
                period,
                Arc::clone(&revocations),
                stop_rx.clone(),
            ));
        }
        shared.resume_pulls();
        let app = server::router(Arc::clone(&shared));
        let mut rx = stop_rx;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await;
        });
        Ok(Running {
            url,
            shared,
            stop_tx,
            server,
            revocations,
        })
    }
}

/// Decides audits when they fall due; woken early by every submission.
async fn audit_loop(shared: Arc<model::Shared>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let wait = shared
            .next_audit_due()
            .map_or(Duration::from_hours(1), |due| {
                Duration::from_millis(due.saturating_sub(model::now_ms()).max(0) as u64)
            });
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.audit_wake.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        shared.decide_audits(false);
    }
}

/// A running emulator.
pub struct Running {
    url: String,
    shared: Arc<model::Shared>,
    stop_tx: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    revocations: Arc<AtomicU64>,
}

impl Running {
    /// Like `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Graceful stop: in-flight calls finish, then the listener closes.
    pub async fn shutdown(self) {
        let _ = self.stop_tx.send(true);
        let _ = self.server.await;
    }

    /// Rounds of periodic token revocation so far (`Config::revoke_tokens_every`).
    pub fn revocations(&self) -> u64 {
        self.revocations.load(Ordering::Relaxed)
    }

    pub(crate) fn revocation_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.revocations)
    }

    pub(crate) fn shared(&self) -> Arc<model::Shared> {
        Arc::clone(&self.shared)
    }
}
