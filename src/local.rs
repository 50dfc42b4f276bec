//! `environment = "local"`: the platform is the emulator, started in-process for one command
//! (apply, refresh) with its data in `state/local-platform.db`, and the catalog's files are served
//! to it from a loopback server, so the sample catalog applies end to end with no network and no
//! credentials.
//!
//! Roles (PRODUCT.md "Roles: who may publish"): the local platform knows no entity by itself
//! (`strict`: an entity nobody seeded has not authorised the app). The commands that ask about
//! roles or send courses seed the entities their catalog names as usable first
//! ([`LocalPlatform::seed_usable`], [`LocalRoles`]), so the sample applies clean, `roles` lists
//! its entities as usable, and a course reaches the local audit only from a seeded entity.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;

use crate::emulator::{self, Emulator, EntitySeed, UnknownEntities};
use crate::settings::{Environment, Secret, Settings};

/// How long the local platform takes to audit (approve) a submission.
pub const LOCAL_AUDIT_DELAY: Duration = Duration::from_secs(2);

/// A running local platform: the emulator and the catalog's file server.
pub struct LocalPlatform {
    emulator: emulator::Running,
    assets: tokio::sync::oneshot::Sender<()>,
    /// Where the emulator listens (the `base_url` of every API family).
    pub base_url: String,
    /// Where the catalog directory is served, ending with `/`.
    pub assets_base_url: String,
    /// A secret made for this run only; never shown.
    pub secret: Secret,
}

impl LocalPlatform {
    /// Starts the local platform when the settings ask for it (`environment = "local"` and no
    /// `base_url`); `None` otherwise. Must run on a tokio runtime.
    pub async fn start_if_local(settings: &Settings) -> anyhow::Result<Option<LocalPlatform>> {
        if !Self::is_local(settings) {
            return Ok(None);
        }
        Self::start(settings).await.map(Some)
    }

    /// Whether the settings name the local platform (`environment = "local"`, no `base_url`).
    pub fn is_local(settings: &Settings) -> bool {
        settings.environment == Environment::Local && settings.base_url.is_none()
    }

    pub async fn start(settings: &Settings) -> anyhow::Result<LocalPlatform> {
        let secret = format!("{:032x}", fastrand::u128(..));
        let loopback: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
        let data = settings.local_platform_path();
        if let Some(dir) = data.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let running = Emulator::start(emulator::Config {
            listen: loopback,
            data: Some(data),
            appid: settings.appid.clone(),
            secret: Some(secret.clone()),
            audit_delay: LOCAL_AUDIT_DELAY,
            unknown_entities: UnknownEntities::Strict,
            ..emulator::Config::default()
        })
        .await
        .context("starting the local platform (the emulator)")?;
        // Audits that fell due while no command ran are decided now, so this command sees them.
        running.shared().decide_audits(false);
        let listener = tokio::net::TcpListener::bind(loopback)
            .await
            .context("serving the catalog on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback_service(tower_http::services::ServeDir::new(&settings.catalog_dir));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(LocalPlatform {
            base_url: running.url(),
            emulator: running,
            assets: stop,
            assets_base_url: format!("http://{addr}/"),
            secret: Secret::new(secret),
        })
    }

    /// Settings that point the client at this local platform.
    pub fn settings(&self, settings: &Settings) -> Settings {
        let mut s = settings.clone();
        s.base_url = Some(self.base_url.clone());
        s.assets_base_url = Some(self.assets_base_url.clone());
        s.app_secret = Some(self.secret.clone());
        s.access_token = None;
        s
    }

    pub async fn shutdown(self) {
        let _ = self.assets.send(());
        self.emulator.shutdown().await;
    }

    /// Makes `entity_ids` usable on the local platform (authorised with every scope, approved
    /// in every category), as the entities a catalog names.
    pub fn seed_usable(&self, entity_ids: &[String]) -> anyhow::Result<()> {
        let seeds: Vec<EntitySeed> = entity_ids.iter().map(EntitySeed::usable).collect();
        self.emulator
            .shared()
            .seed_entities(&seeds)
            .map_err(|e| anyhow::anyhow!("seeding the local platform's entities: {e}"))
    }
}

/// The rate limit of the read-only role calls to [`LocalRoles`].
const LOCAL_ROLES_MAX_QPS: f64 = 10_000.0;

/// The local platform for read-only role calls (`plan`'s preflight, `roles`): in memory, so
/// that nothing is written, with `entity_ids` usable and any other entity not (`strict`).
pub struct LocalRoles {
    emulator: emulator::Running,
    secret: Secret,
}

impl LocalRoles {
    /// Starts it when the settings ask for the local platform (`environment = "local"` and no
    /// `base_url`); `None` otherwise. Must run on a tokio runtime.
    pub async fn start_if_local(
        settings: &Settings,
        entity_ids: &[String],
    ) -> anyhow::Result<Option<LocalRoles>> {
        if settings.environment != Environment::Local || settings.base_url.is_some() {
            return Ok(None);
        }
        let secret = format!("{:032x}", fastrand::u128(..));
        let emulator = Emulator::start(emulator::Config {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            data: None,
            appid: settings.appid.clone(),
            secret: Some(secret.clone()),
            entities: entity_ids.iter().map(EntitySeed::usable).collect(),
            unknown_entities: UnknownEntities::Strict,
            ..emulator::Config::default()
        })
        .await
        .context("starting the local platform (the emulator)")?;
        Ok(Some(LocalRoles {
            emulator,
            secret: Secret::new(secret),
        }))
    }

    /// Settings that point the client at it. `apply.max_qps` protects the platform's quotas;
    /// this in-memory copy has none, so its read calls are not held to it.
    pub fn settings(&self, settings: &Settings) -> Settings {
        let mut s = settings.clone();
        s.base_url = Some(self.emulator.url());
        s.app_secret = Some(self.secret.clone());
        s.access_token = None;
        s.max_qps = LOCAL_ROLES_MAX_QPS;
        s
    }

    pub async fn shutdown(self) {
        self.emulator.shutdown().await;
    }
}
