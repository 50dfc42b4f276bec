//! Access tokens invalidated before they expire (PRODUCT.md "Platform facts the documents leave
//! open", Tokens): an apply survives repeated revocation with one renewal per revocation at
//! most, a call refused with an already replaced token spends nothing, and a platform that
//! refuses every fresh token stops at the renewal budget with a clear error.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use coursesync::emulator::FaultSpec;
use coursesync::emulator::testing::{TEST_SECRET, TestEmulator};
use coursesync::platform::renewal::RENEWAL_BUDGET;
use coursesync::platform::{Client, ClientConfig, PlatformError, RetryPolicy};
use coursesync::settings::Secret;

use crate::support::readings::Setup;
use crate::support::{Remote, base_course, stderr, stdout};

// Revocation under the documents' readings and under all the hostile ones (a repeated add not
// deduplicated, a new token revoking older ones besides the revoker's rounds), with the facts
// unsettled and probed.
crate::support::matrix! {
    apply_converges_in_one_run_while_tokens_are_revoked_every_few_hundred_ms:
        [default, hostile, hostile_probed];
}

fn client_config(emu: &TestEmulator) -> ClientConfig {
    ClientConfig {
        product_base: emu.url(),
        token_base: emu.url(),
        role_base: emu.url(),
        appid: emu.appid().to_string(),
        access_token: None,
        app_secret: Some(Secret::new(TEST_SECRET)),
        concurrency: 8,
        max_qps: 1000.0,
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        check_type: None,
        facts: coursesync::platform::facts::KnownFacts::UNSETTLED,
    }
}

/// Revokes every token every `period` from a thread of its own, at most `max` times, until
/// dropped; counts the rounds.
struct Revoker {
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Revoker {
    fn start(emu: &TestEmulator, period: Duration, max: u64) -> Revoker {
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let (s, r) = (Arc::clone(&stop), Arc::clone(&rounds));
        // The emulator handle is not Send; its admin API over HTTP is.
        let url = format!("{}/__emulator/tokens/expire", emu.url());
        let thread = std::thread::spawn(move || {
            let post = poster();
            while !s.load(Ordering::Relaxed) && r.load(Ordering::Relaxed) < max {
                std::thread::sleep(period);
                if post(&url) {
                    r.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Revoker {
            stop,
            rounds,
            thread: Some(thread),
        }
    }

    /// Stops revoking; returns the rounds done.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.rounds.load(Ordering::Relaxed)
    }
}

/// A blocking POST that succeeds or not, on a small runtime of the calling thread.
fn poster() -> impl Fn(&str) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    move |url: &str| {
        rt.block_on(async { http.post(url).send().await })
            .is_ok_and(|r| r.status().is_success())
    }
}

/// Courses `tok-c000`.. with a cover each (one upload per course), like the fault suite's.
fn write_courses(r: &Remote, n: usize) -> BTreeSet<String> {
    let cover = std::fs::read(r.project.catalog().join("assets/cover.jpg")).unwrap();
    (0..n)
        .map(|i| {
            let id = format!("tok-c{i:03}");
            let rel = format!("assets/cover-{i:03}.jpg");
            let mut bytes = cover.clone();
            bytes.extend_from_slice(id.as_bytes());
            std::fs::write(r.project.catalog().join(&rel), bytes).unwrap();
            let text = base_course(&id).replace(
                "cover = \"assets/cover.jpg\"",
                &format!("cover = \"{rel}\""),
            );
            r.course(&format!("courses/{id}.toml"), &text);
            id
        })
        .collect()
}

fn apply_converges_in_one_run_while_tokens_are_revoked_every_few_hundred_ms(setup: &Setup) {
    const N: usize = 50;
    let mut config = TestEmulator::config();
    // Slow answers keep many calls in flight when a revocation lands.
    config.faults = vec![(
        "*".into(),
        FaultSpec {
            latency_ms: 60,
            ..FaultSpec::default()
        },
    )];
    let r = Remote::with_setup(config, setup, "");
    let ids = write_courses(&r, N);

    // At most 20 rounds: under the budget (30 a minute) however slow the machine is.
    let revoker = Revoker::start(&r.emulator, Duration::from_millis(150), 20);
    let started = Instant::now();
    let out = r.run(&["apply", "--auto-approve"]);
    let elapsed = started.elapsed();
    let revocations = revoker.finish();
    assert_eq!(
        out.status.code(),
        Some(0),
        "one apply run must finish every course:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );

    let mut live: BTreeMap<String, usize> = BTreeMap::new();
    for p in r.emulator.products().into_iter().filter(|p| !p.dead) {
        *live.entry(p.course_id).or_default() += 1;
    }
    assert_eq!(live.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(
        live.values().all(|n| *n == 1),
        "a course with several products: {live:?}"
    );
    let state = r.state();
    for id in &ids {
        assert!(state.course(id).unwrap().unwrap().product_id.is_some());
    }

    let calls = r.emulator.calls();
    let refused = calls.iter().filter(|c| c.err_no == Some(10001)).count();
    let renewals = r.emulator.count("token");
    eprintln!(
        "{N} courses, {:.1}s, {revocations} revocations, {renewals} token exchanges, {refused} calls refused with a revoked token, {} course-library calls",
        elapsed.as_secs_f64(),
        calls.len() as u64 - renewals
    );
    assert!(
        refused > 0 && renewals >= 2,
        "no revocation hit the run ({revocations} rounds in {elapsed:?}); the test proves nothing"
    );
    // Single flight and generations: each revocation causes one renewal at most, however many
    // calls it refused; the first exchange is the one every run makes.
    assert!(
        renewals <= revocations + 1,
        "{renewals} exchanges for {revocations} revocations"
    );
    assert_eq!(
        r.run(&["plan", "--detailed-exitcode"]).status.code(),
        Some(0)
    );
}

#[tokio::test]
async fn calls_refused_together_share_one_renewal() {
    let emu = TestEmulator::new();
    let client = Client::new(client_config(&emu)).unwrap();
    client.query_class_info().await.unwrap();
    emu.expire_tokens();
    // 16 calls on 8 permits all hold the revoked token; one exchange serves them all.
    let calls: Vec<_> = (0..16).map(|_| client.query_class_info()).collect();
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(emu.count("token"), 2);
    let stats = client.stats();
    assert_eq!(stats.token_fetches, 2, "{stats:?}");
    assert!(stats.token_refusals >= 1, "{stats:?}");
}

#[tokio::test]
async fn a_platform_that_refuses_every_fresh_token_stops_at_the_budget() {
    let mut config = TestEmulator::config();
    // Every token is born expired: each is refused on first use.
    config.token_ttl = Duration::ZERO;
    let emu = TestEmulator::start(config);
    let client = Client::new(client_config(&emu)).unwrap();
    let err = client.query_class_info().await.unwrap_err();
    assert!(matches!(err, PlatformError::Token { .. }), "{err:?}");
    let text = format!("{err} {}", err.hint().unwrap_or_default());
    assert!(text.contains("renewal budget"), "{text}");
    assert!(text.contains("one job per app"), "{text}");
    assert_eq!(emu.count("token"), RENEWAL_BUDGET.max as u64);
    // Later calls fail at once: the budget is spent for this window.
    assert!(client.query_class_info().await.is_err());
    assert_eq!(emu.count("token"), RENEWAL_BUDGET.max as u64);
}

#[test]
fn the_emulator_revokes_tokens_periodically_when_asked() {
    let mut config = TestEmulator::config();
    config.revoke_tokens_every = Some(Duration::from_millis(50));
    let emu = TestEmulator::start(config);
    let token = emu.token();
    let deadline = Instant::now() + Duration::from_secs(10);
    while emu.revocations() == 0 {
        assert!(Instant::now() < deadline, "no revocation within 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/product/api/query_class_info", emu.url()))
            .json(&serde_json::json!({"access_token": token, "appid": emu.appid()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(answer["err_no"], 10001, "{answer}");
}
