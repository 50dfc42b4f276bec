//! `coursesync emulator`: runs the platform emulator as a server until Ctrl-C.
//!
//! Prints one line `coursesync emulator listening on <URL>` on stdout once it accepts calls (the
//! URL is the last word), and one line per call on stderr; the readings that differ from the
//! defaults (`--reading`) are named on stderr at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::duration::parse as parse_duration;
use crate::emulator::{
    CallRecord, Config, Emulator, EntitySeed, FaultSpec, Readings, UnknownEntities,
};

/// Options of `coursesync emulator`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8790", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// SQLite file the emulated platform persists to (in memory without it)
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,

    /// The mini-program appid tokens are issued for
    #[arg(long, default_value = "tt_local_app", value_name = "ID")]
    pub appid: String,

    /// Require this app secret on the token endpoint (any appid/secret pair gets a token without it)
    #[arg(long, value_name = "S", hide_env_values = true)]
    pub secret: Option<String>,

    /// Time from submission to the audit decision: 500ms, 2s, 1m
    #[arg(long, default_value = "2s", value_parser = parse_duration, value_name = "D")]
    pub audit_delay: Duration,

    /// Reject at audit every course whose title contains WORD (repeatable)
    #[arg(long = "ban", value_name = "WORD")]
    pub banned_words: Vec<String>,

    /// Fault for one endpoint (repeatable), ENDPOINT:KEY=VALUE[,KEY=VALUE...]; keys error_rate,
    /// rate_429, rate_504, drop_rate, performed_504_rate, latency_ms, retry_after,
    /// next=KIND[xN][+KIND...] with KIND error|429|504|drop|performed_504; ENDPOINT `*` = all
    #[arg(long = "fault", value_parser = FaultSpec::parse_arg, value_name = "SPEC")]
    pub faults: Vec<(String, FaultSpec)>,

    /// Seed for the fault dice (reproducible runs)
    #[arg(long, value_name = "N")]
    pub fault_seed: Option<u64>,

    /// Lifetime of issued access tokens
    #[arg(long, default_value = "2h", value_parser = parse_duration, value_name = "D")]
    pub token_ttl: Duration,

    /// How to answer an open platform fact (repeatable): add-dedupe=yes|no,
    /// status-field=listing|audit, query-echo=full|sparse, token=stable|revoked,
    /// modify-status=LIST/DELIST (1/2), resource-types=AUDIO/PDF/OFFICE (3/4/5); the first value
    /// is the default
    #[arg(long = "reading", value_parser = check_reading, value_name = "NAME=VALUE")]
    pub readings: Vec<String>,

    /// Revoke every issued token this often (each is answered 10001 from then on), as when
    /// another job of the same app keeps fetching tokens: 500ms, 3s
    #[arg(long, value_parser = parse_duration, value_name = "D")]
    pub revoke_tokens_every: Option<Duration>,
    /// A role-system entity (repeatable): ID=PRESET[,role=teacher|institution|partner]
    /// [,partner=E_…][,bound]; presets usable, auth-in-review, auth-rejected, pay-only,
    /// unqualified
    #[arg(long = "entity", value_parser = EntitySeed::parse_arg, value_name = "SPEC")]
    pub entities: Vec<EntitySeed>,

    /// Role-system entities from a JSON file: an array of seeds as the admin API takes them
    #[arg(long = "entities", value_name = "FILE")]
    pub entities_file: Option<PathBuf>,

    /// How an entity nobody seeded is answered: open (usable) or strict (never authorised the app)
    #[arg(long, default_value = "open", value_name = "MODE")]
    pub unknown_entities: UnknownEntities,
}

fn check_reading(arg: &str) -> Result<String, String> {
    Readings::default().set(arg)?;
    Ok(arg.to_owned())
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let readings = Readings::parse(&args.readings).map_err(anyhow::Error::msg)?;
    let mut entities = Vec::new();
    if let Some(path) = &args.entities_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the entities file {}", path.display()))?;
        let seeds: Vec<EntitySeed> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON array of entity seeds", path.display()))?;
        entities.extend(seeds);
    }
    entities.extend(args.entities.iter().cloned());
    let config = Config {
        listen: args.listen,
        data: args.data.clone(),
        appid: args.appid.clone(),
        secret: args.secret.clone(),
        audit_delay: args.audit_delay,
        banned_words: args.banned_words.clone(),
        faults: args.faults.clone(),
        fault_seed: args.fault_seed,
        token_ttl: args.token_ttl,
        readings,
        on_call: Some(std::sync::Arc::new(|c: &CallRecord| {
            eprintln!("{}", call_line(c))
        })),
        revoke_tokens_every: args.revoke_tokens_every,
        entities,
        unknown_entities: args.unknown_entities,
    };
    let config_readings = config.readings.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let running = Emulator::start(config).await?;
        let differ = config_readings.non_default();
        if !differ.is_empty() {
            eprintln!("readings: {}", differ.join(" "));
        }
        println!("coursesync emulator listening on {}", running.url());
        tokio::signal::ctrl_c().await?;
        eprintln!("stopping");
        running.shutdown().await;
        Ok(crate::exit::OK)
    })
}

/// `<ms> <endpoint> course_id=… product_id=… err_no=… http=…[ fault=…]`.
fn call_line(c: &CallRecord) -> String {
    format!(
        "{} {} course_id={} product_id={} err_no={} http={}{}",
        c.at_ms,
        c.endpoint,
        c.course_id.as_deref().unwrap_or("-"),
        c.product_id.map_or("-".into(), |p| p.to_string()),
        c.err_no.map_or("-".into(), |e| e.to_string()),
        c.http_status.map_or("-".into(), |s| s.to_string()),
        c.fault
            .as_deref()
            .map_or(String::new(), |f| format!(" fault={f}")),
    )
}
