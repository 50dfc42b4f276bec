//! The platform client against the project's emulator over real HTTP on 127.0.0.1: token
//! exchange and renewal, every endpoint's success path, which failures are retried and which are
//! not, adoption of an `add` whose answer was lost, and that no error text carries a secret.

use std::collections::BTreeMap;
use std::time::Duration;

use coursesync::emulator::testing::{TEST_SECRET, TestEmulator};
use coursesync::emulator::{FaultKind, FaultSpec, Readings};
use coursesync::platform::facts::{KnownFacts, resource_status, resource_type, review_status};
use coursesync::platform::{Client, ClientConfig, PlatformError, RetryPolicy, wire};
use coursesync::settings::{ENV_ACCESS_TOKEN, ENV_APP_SECRET, Secret};

/// Emulator tokens start with this (platform-api.md §2.2 sample shape).
const TOKEN_PREFIX: &str = "0801121846";

fn config(emu: &TestEmulator) -> ClientConfig {
    ClientConfig {
        product_base: emu.url(),
        token_base: emu.url(),
        role_base: emu.url(),
        appid: emu.appid().to_string(),
        access_token: None,
        app_secret: Some(Secret::new(TEST_SECRET)),
        concurrency: 4,
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

fn client(emu: &TestEmulator) -> Client {
    Client::new(config(emu)).unwrap()
}

/// A tiny file server for the emulator to pull from; answers every path with a few bytes.
async fn file_server() -> String {
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::get(
            |axum::extract::Path(path): axum::extract::Path<String>| async move {
                format!("bytes of {path}")
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Uploads `url` and polls its status until it is done (bounded, so a stuck pull fails).
async fn upload_done(client: &Client, kind: i64, url: &str) -> String {
    let uploaded = client.upload_resource(kind, url, None).await.unwrap();
    assert!(!uploaded.already_uploaded);
    for _ in 0..500 {
        match client.query_resource_status(&uploaded.uri).await.unwrap() {
            resource_status::DONE => return uploaded.uri,
            resource_status::UPLOADING => tokio::time::sleep(Duration::from_millis(10)).await,
            other => panic!("upload of {url} ended in status {other}"),
        }
    }
    panic!("upload of {url} never finished");
}

struct Uris {
    cover: String,
    lesson: String,
    detail: String,
}

async fn uploads(client: &Client, files: &str, tag: &str) -> Uris {
    Uris {
        cover: upload_done(
            client,
            resource_type::COVER,
            &format!("{files}/{tag}/cover.jpg"),
        )
        .await,
        lesson: upload_done(
            client,
            resource_type::VIDEO,
            &format!("{files}/{tag}/01.mp4"),
        )
        .await,
        detail: upload_done(
            client,
            resource_type::IMAGE,
            &format!("{files}/{tag}/d.png"),
        )
        .await,
    }
}

fn path_info(course_id: &str, channel: &str) -> wire::PathInfo {
    wire::PathInfo {
        path: "pages/course/detail".into(),
        query: BTreeMap::from([
            ("course_id".into(), course_id.into()),
            ("channel".into(), channel.into()),
        ]),
    }
}

fn product(appid: &str, course_id: &str, title: &str, uris: &Uris) -> wire::Product {
    wire::Product {
        common_product_params: wire::CommonProductParams {
            appid: appid.into(),
            first_class: 10000,
            second_class: 10300,
            title: title.into(),
            purchase_precaution: "购买后可在「我的课程」中反复学习".into(),
            product_fulfillment_lst: vec![wire::Fulfillment {
                fulfillment_content: wire::FulfillmentContent {
                    fulfillment_uri: Some(uris.lesson.clone()),
                    name: "第一节: Python 介绍".into(),
                    text: None,
                },
                fulfillment_type: 1,
            }],
            industry_type: 1,
            price_info: wire::PriceInfo {
                unit: "节".into(),
                price: 5000,
                real_price: Some(4900),
                ..wire::PriceInfo::default()
            },
            path_info_lst: vec![path_info(course_id, "catalog")],
            product_detail_lst: vec![
                wire::ProductDetail {
                    text: Some("零基础学 Python".into()),
                    ..wire::ProductDetail::default()
                },
                wire::ProductDetail {
                    img_uri: Some(uris.detail.clone()),
                    ..wire::ProductDetail::default()
                },
            ],
            anchor_info: Some(wire::AnchorInfo {
                video_anchor_info: wire::VideoAnchorInfo {
                    anchor_title: "Python 入门".into(),
                },
            }),
            product_img_uri: uris.cover.clone(),
            ..wire::CommonProductParams::default()
        },
        course_params: wire::CourseParams {
            teacher_id: Some("E_7283947392973".into()),
            course_num: 12,
            refund_label: Some(wire::RefundLabel {
                label_type: 1,
                day_before_use_info: Some(wire::DayBeforeUseInfo { day: 7 }),
                ..wire::RefundLabel::default()
            }),
            ..wire::CourseParams::default()
        },
    }
}

/// An emulator whose audits wait until the test finishes them.
fn slow_audit_emulator() -> TestEmulator {
    let mut cfg = TestEmulator::config();
    cfg.audit_delay = Duration::from_hours(1);
    TestEmulator::start(cfg)
}

fn err_nos(emu: &TestEmulator, endpoint: &str) -> Vec<Option<i64>> {
    emu.calls()
        .into_iter()
        .filter(|c| c.endpoint == endpoint)
        .map(|c| c.err_no)
        .collect()
}

#[tokio::test]
async fn every_endpoint_success_path() {
    let emu = slow_audit_emulator();
    let files = file_server().await;
    let client = client(&emu);

    let uris = uploads(&client, &files, "py-101").await;
    assert!(
        uris.cover.starts_with("tos-cn-i-b2i6zad4el/"),
        "{}",
        uris.cover
    );
    // The same URL again: 10003 names the existing uri (platform-api.md §6.1).
    let again = client
        .upload_resource(
            resource_type::VIDEO,
            &format!("{files}/py-101/01.mp4"),
            None,
        )
        .await
        .unwrap();
    assert!(again.already_uploaded);
    assert_eq!(again.uri, uris.lesson);

    let added = client
        .add(&product(emu.appid(), "py-101", "Python 入门教程", &uris))
        .await
        .unwrap();
    let stored = emu.product_by_course("py-101").unwrap();
    assert_eq!(added.product_id, i64::try_from(stored.product_id).unwrap());
    assert!(added.audit_id.is_some());

    let reviews = client.query_review(&[added.product_id]).await.unwrap();
    let course = reviews[&added.product_id].course.clone().unwrap();
    assert_eq!(course.status, Some(review_status::REVIEWING));
    assert_eq!(emu.finish_audits(), 1);
    let reviews = client.query_review(&[added.product_id]).await.unwrap();
    assert_eq!(
        reviews[&added.product_id].course.as_ref().unwrap().status,
        Some(review_status::PASSED)
    );

    let queried = client.query(&[added.product_id]).await.unwrap();
    assert_eq!(queried.len(), 1);
    assert_eq!(queried[0].product_id(), Some(added.product_id));
    let live = queried[0].product_on_shelf.as_ref().unwrap();
    let info = live.common_product_info.as_ref().unwrap();
    assert_eq!(info.title.as_deref(), Some("Python 入门教程"));
    assert_eq!(info.path_info_lst[0].query["course_id"], "py-101");
    assert!(
        info.product_fulfillment_lst[0]
            .fulfillment_content
            .fulfillment_url
            .as_deref()
            .is_some_and(|u| u.starts_with("http")),
        "{info:?}"
    );

    let audit = client
        .modify(
            added.product_id,
            &product(emu.appid(), "py-101", "Python 入门教程 第二版", &uris),
        )
        .await
        .unwrap();
    assert!(audit.is_some());
    let stored = emu.product(stored.product_id).unwrap();
    assert_eq!(stored.reviewing.unwrap().title, "Python 入门教程 第二版");

    client
        .modify_no_audit(added.product_id, &[path_info("py-101", "ads")])
        .await
        .unwrap();
    let live = emu.product(stored.product_id).unwrap().on_shelf.unwrap();
    let product = live.product.value();
    let channel = &product["common_product_params"]["path_info_lst"][0]["query"]["channel"];
    assert_eq!(channel, "ads");

    client.modify_status(added.product_id, false).await.unwrap();
    assert!(!emu.product(stored.product_id).unwrap().listed);
    client.modify_status(added.product_id, true).await.unwrap();
    assert!(emu.product(stored.product_id).unwrap().listed);

    let classes = client.query_class_info().await.unwrap();
    assert!(classes.iter().any(|c| {
        c.first_class_id == 10000
            && c.class_info_detail_list
                .iter()
                .any(|s| s.second_class_id == 10300)
    }));

    client
        .sync_callback_url(&format!("{files}/callback"), "flag-1")
        .await
        .unwrap();
    assert_eq!(err_nos(&emu, "sync_callback_url"), [Some(0)]);

    let stats = client.stats();
    assert_eq!(stats.token_fetches, 1, "{stats:?}");
    assert_eq!(stats.retries, 0, "{stats:?}");
    assert_eq!(
        stats.requests,
        emu.calls().iter().filter(|c| c.endpoint != "token").count() as u64
    );
}

#[tokio::test]
async fn query_splits_ids_into_batches_of_500() {
    let emu = TestEmulator::new();
    let client = client(&emu);
    let ids: Vec<i64> = (1..=1001).collect();
    assert!(client.query(&ids).await.unwrap().is_empty());
    assert_eq!(err_nos(&emu, "query"), [Some(0), Some(0), Some(0)]);
    assert!(client.query(&[]).await.unwrap().is_empty());
    assert_eq!(emu.count("query"), 3, "no call for no ids");
}

#[tokio::test]
async fn expired_token_is_renewed_once_and_the_call_retried() {
    let emu = TestEmulator::new();
    let client = client(&emu);
    client.query_class_info().await.unwrap();
    assert_eq!(emu.count("token"), 1);
    client.query_class_info().await.unwrap();
    assert_eq!(emu.count("token"), 1, "the token is cached");

    assert!(emu.expire_tokens() > 0);
    client.query_class_info().await.unwrap();
    assert_eq!(emu.count("token"), 2);
    assert_eq!(
        err_nos(&emu, "query_class_info"),
        [Some(0), Some(0), Some(10001), Some(0)]
    );
    let stats = client.stats();
    assert_eq!((stats.token_fetches, stats.retries), (2, 1), "{stats:?}");
}

#[tokio::test]
async fn ready_token_wins_and_falls_back_to_the_secret_when_refused() {
    let emu = TestEmulator::new();
    let mut cfg = config(&emu);
    cfg.access_token = Some(Secret::new(emu.token()));
    let client = Client::new(cfg).unwrap();
    client.query_class_info().await.unwrap();
    assert_eq!(emu.count("token"), 0, "the ready token is used as it is");

    emu.expire_tokens();
    client.query_class_info().await.unwrap();
    assert_eq!(emu.count("token"), 1, "fell back to the secret");
}

#[tokio::test]
async fn authenticate_exchanges_the_secret_or_tries_the_ready_token() {
    let emu = TestEmulator::new();
    client(&emu).authenticate().await.unwrap();
    assert_eq!(emu.count("token"), 1);
    assert_eq!(emu.calls().len(), 1, "the exchange alone checks a secret");

    let mut cfg = config(&emu);
    cfg.app_secret = None;
    cfg.access_token = Some(Secret::new(emu.token()));
    Client::new(cfg.clone())
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    assert_eq!(err_nos(&emu, "query_class_info"), [Some(0)]);
    cfg.access_token = Some(Secret::new("stale-ready-token"));
    let err = Client::new(cfg).unwrap().authenticate().await.unwrap_err();
    assert!(err.to_string().contains(ENV_ACCESS_TOKEN), "{err}");
}

#[tokio::test]
async fn refused_ready_token_without_secret_is_a_clear_error() {
    let emu = TestEmulator::new();
    let mut cfg = config(&emu);
    cfg.access_token = Some(Secret::new("ready-token-value-77"));
    cfg.app_secret = None;
    let client = Client::new(cfg).unwrap();
    let err = client.query_class_info().await.unwrap_err();
    assert!(matches!(err, PlatformError::Token { .. }), "{err:?}");
    let text = format!("{err} {err:?} {}", err.hint().unwrap_or_default());
    assert!(text.contains(ENV_ACCESS_TOKEN), "{text}");
    assert!(!text.contains("ready-token-value-77"), "{text}");
    assert_eq!(err_nos(&emu, "query_class_info"), [Some(10001)]);
}

#[tokio::test]
async fn bad_secret_is_a_token_error_with_a_hint_and_not_retried() {
    let emu = TestEmulator::new();
    let mut cfg = config(&emu);
    cfg.app_secret = Some(Secret::new("wrong-secret-value-55"));
    let client = Client::new(cfg).unwrap();
    let err = client.query_class_info().await.unwrap_err();
    let text = format!("{err} {err:?} {}", err.hint().unwrap_or_default());
    assert!(text.contains("40017"), "{text}");
    assert!(text.contains(ENV_APP_SECRET), "{text}");
    assert!(!text.contains("wrong-secret-value-55"), "{text}");
    assert_eq!(emu.count("token"), 1);
    assert_eq!(emu.count("query_class_info"), 0);
}

#[tokio::test]
async fn parameter_error_is_not_retried() {
    let emu = TestEmulator::new();
    let client = client(&emu);
    let mut bad = wire::Product::default();
    bad.common_product_params.appid = emu.appid().into();
    let err = client.add(&bad).await.unwrap_err();
    match &err {
        PlatformError::Api {
            endpoint,
            err_no,
            err_msg,
            ..
        } => {
            assert_eq!((*endpoint, *err_no), ("add", 10002));
            assert!(!err_msg.is_empty());
        }
        other => panic!("expected a parameter error, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert_eq!(err_nos(&emu, "add"), [Some(10002)]);
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let emu = TestEmulator::new();
    let client = client(&emu);
    emu.set_fault(
        "query_class_info",
        FaultSpec {
            next: [
                FaultKind::GatewayTimeout,
                FaultKind::TooManyRequests,
                FaultKind::Drop,
                FaultKind::Error,
            ]
            .into(),
            retry_after: 1,
            ..FaultSpec::default()
        },
    );
    let classes = client.query_class_info().await.unwrap();
    assert!(!classes.is_empty());
    let faults: Vec<_> = emu
        .calls()
        .into_iter()
        .filter(|c| c.endpoint == "query_class_info")
        .map(|c| c.fault)
        .collect();
    assert_eq!(
        faults,
        [
            Some("504".to_string()),
            Some("429".into()),
            Some("drop".into()),
            Some("error".into()),
            None
        ]
    );
    assert_eq!(client.stats().retries, 4);
}

#[tokio::test]
async fn retries_stop_after_max_attempts() {
    let emu = TestEmulator::new();
    let client = client(&emu);
    emu.set_fault(
        "query",
        FaultSpec {
            rate_504: 1.0,
            ..FaultSpec::default()
        },
    );
    let err = client.query(&[1]).await.unwrap_err();
    assert!(
        matches!(
            err,
            PlatformError::Http {
                endpoint: "query",
                status: 504,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(emu.count("query"), 5, "max_attempts");
}

/// A client for a platform known to answer a repeated add with 10140
/// (`add.repeat_answers_10140 = true`), as this emulator does by default.
fn dedupe_client(emu: &TestEmulator) -> Client {
    Client::new(ClientConfig {
        facts: KnownFacts {
            add_repeat_answers_10140: Some(true),
            ..KnownFacts::UNSETTLED
        },
        ..config(emu)
    })
    .unwrap()
}

#[tokio::test]
async fn add_whose_answer_was_lost_is_adopted_as_already_in_review() {
    let emu = TestEmulator::new();
    let files = file_server().await;
    let client = dedupe_client(&emu);
    let uris = uploads(&client, &files, "lost").await;
    emu.set_fault(
        "add",
        FaultSpec {
            next: [FaultKind::Performed504].into(),
            ..FaultSpec::default()
        },
    );
    let err = client
        .add(&product(emu.appid(), "lost-1", "丢失的应答", &uris))
        .await
        .unwrap_err();
    let stored = emu.product_by_course("lost-1").unwrap();
    assert_eq!(
        err,
        PlatformError::AlreadyInReview {
            product_id: i64::try_from(stored.product_id).unwrap(),
            after_retry: true
        }
    );
    assert_eq!(err_nos(&emu, "add"), [None, Some(10140)]);
    assert_eq!(emu.products().len(), 1, "no duplicate course");
}

/// With `add.repeat_answers_10140` unsettled, an add whose answer may have been lost is not sent
/// again: the caller gets the failure, marked "maybe performed". Under both readings of the
/// emulator (dedupe or not) there is exactly one product.
#[tokio::test]
async fn add_whose_answer_was_lost_is_not_resent_when_dedupe_is_unknown() {
    for dedupe in ["yes", "no"] {
        let emu = TestEmulator::with_readings(
            Readings::parse(&[format!("add-dedupe={dedupe}")]).unwrap(),
        );
        let files = file_server().await;
        let client = client(&emu);
        let uris = uploads(&client, &files, "lost").await;
        emu.set_fault(
            "add",
            FaultSpec {
                next: [FaultKind::Performed504].into(),
                ..FaultSpec::default()
            },
        );
        let err = client
            .add(&product(emu.appid(), "lost-1", "丢失的应答", &uris))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PlatformError::Http { status: 504, .. }),
            "{dedupe}: {err:?}"
        );
        assert!(err.maybe_performed());
        assert_eq!(emu.count("add"), 1, "{dedupe}: sent once");
        assert_eq!(emu.products().len(), 1, "{dedupe}: no duplicate course");
    }
}

/// A request that surely was not performed (429, "system error" is not one) is retried as ever,
/// even for an add whose repeat is not known to be deduplicated.
#[tokio::test]
async fn an_add_refused_with_429_is_retried_when_dedupe_is_unknown() {
    let emu = TestEmulator::with_readings(Readings::parse(&["add-dedupe=no"]).unwrap());
    let files = file_server().await;
    let client = client(&emu);
    let uris = uploads(&client, &files, "busy").await;
    emu.set_fault(
        "add",
        FaultSpec {
            next: [FaultKind::TooManyRequests, FaultKind::TooManyRequests].into(),
            retry_after: 0,
            ..FaultSpec::default()
        },
    );
    let added = client
        .add(&product(emu.appid(), "busy-1", "忙", &uris))
        .await
        .unwrap();
    assert_eq!(emu.count("add"), 3);
    assert_eq!(emu.products().len(), 1);
    assert_eq!(
        emu.product_by_course("busy-1").unwrap().product_id,
        u64::try_from(added.product_id).unwrap()
    );
}

/// Nothing listens: the connection is refused, nothing was sent, and the failure says so.
#[tokio::test]
async fn a_refused_connection_is_not_a_maybe_performed_write() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(ClientConfig {
        product_base: url.clone(),
        token_base: url,
        access_token: Some(Secret::new("0801121846ready")),
        app_secret: None,
        ..config(&TestEmulator::new())
    })
    .unwrap();
    let err = client.modify_status(1, true).await.unwrap_err();
    assert!(matches!(err, PlatformError::Connect { .. }), "{err:?}");
    assert!(err.is_transient() && !err.maybe_performed());
}

#[tokio::test]
async fn check_type_header_reaches_write_calls() {
    let emu = slow_audit_emulator();
    let files = file_server().await;
    let mut cfg = config(&emu);
    cfg.check_type = Some("REJECT".into());
    let client = Client::new(cfg).unwrap();
    let uris = uploads(&client, &files, "rej").await;
    let added = client
        .add(&product(emu.appid(), "rej-1", "会被拒绝", &uris))
        .await
        .unwrap();
    emu.finish_audits();
    let reviews = client.query_review(&[added.product_id]).await.unwrap();
    let course = reviews[&added.product_id].course.clone().unwrap();
    assert_eq!(course.status, Some(review_status::REJECTED));
    assert!(course.reject_reason.is_some_and(|r| !r.is_empty()));
}

#[tokio::test]
async fn no_error_text_carries_the_token_or_the_secret() {
    let emu = TestEmulator::new();
    let client = client(&emu);
    let mut texts = Vec::new();
    emu.set_fault(
        "query",
        FaultSpec {
            next: [FaultKind::GatewayTimeout; 5].into(),
            ..FaultSpec::default()
        },
    );
    texts.push(client.query(&[1]).await.unwrap_err());
    texts.push(client.add(&wire::Product::default()).await.unwrap_err());
    emu.expire_tokens();
    emu.set_fault(
        "token",
        FaultSpec {
            rate_504: 1.0,
            ..FaultSpec::default()
        },
    );
    texts.push(client.query_class_info().await.unwrap_err());
    assert_eq!(texts.len(), 3);
    for err in texts {
        let text = format!("{err} {err:?}");
        assert!(!text.contains(TOKEN_PREFIX), "{text}");
        assert!(!text.contains(TEST_SECRET), "{text}");
    }
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_naming_the_endpoint() {
    let emu = TestEmulator::new();
    let mut cfg = config(&emu);
    cfg.request_timeout = Duration::from_millis(100);
    cfg.retry.max_attempts = 2;
    let client = Client::new(cfg).unwrap();
    client.query_class_info().await.unwrap();
    // The emulator waits at least this long before answering, so the answer always comes late.
    emu.set_fault(
        "query_class_info",
        FaultSpec {
            latency_ms: 1000,
            ..FaultSpec::default()
        },
    );
    let err = client.query_class_info().await.unwrap_err();
    assert_eq!(
        err,
        PlatformError::Timeout {
            endpoint: "query_class_info"
        }
    );
    assert!(err.is_transient());
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test]
async fn concurrent_calls_share_one_rate_limit() {
    let emu = TestEmulator::new();
    let mut cfg = config(&emu);
    cfg.max_qps = 4.0;
    let client = Client::new(cfg).unwrap();
    let (a, b, c) = tokio::join!(
        client.query_class_info(),
        client.query(&[1]),
        client.query_review(&[1]),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let stats = client.stats();
    // All three reserve a slot before any of them is answered; slots are 250 ms apart.
    assert!(stats.throttle_waits >= 2, "{stats:?}");
    assert_eq!(stats.requests, 3);
}
