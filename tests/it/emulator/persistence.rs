use std::time::Duration;

use coursesync::emulator::testing::TestEmulator;

use super::{Api, add, eventually, ready};

#[tokio::test]
async fn a_data_file_keeps_products_resources_tokens_and_pending_audits_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestEmulator::config();
    config.data = Some(dir.path().join("platform.db"));
    config.audit_delay = Duration::from_hours(1);

    let r = ready(TestEmulator::start(config.clone())).await;
    let live = add(&r, "live", "v1").await;
    r.emu.finish_audits();
    let pending = add(&r, "pending", "p1").await;
    let token = r.api.token.clone();
    let (cover, video) = (r.cover.clone(), r.video.clone());
    drop(r.emu);

    // Short delay now: the restarted emulator resumes the pending audit's timer.
    config.audit_delay = Duration::from_millis(10);
    let emu = TestEmulator::start(config);
    let api = Api {
        token,
        ..Api::new(&emu)
    };
    let item = api.query(live).await;
    assert_eq!(
        item["product_on_shelf"]["common_product_info"]["title"],
        "v1"
    );
    let uris: Vec<String> = emu
        .resources()
        .into_iter()
        .filter(|r| r.status == 2)
        .map(|r| r.uri)
        .collect();
    assert!(uris.contains(&cover) && uris.contains(&video));
    // The pending audit was due in an hour when it was stored; it is still pending.
    assert_eq!(api.review(pending).await["status"], 1);
    emu.finish_audits();
    assert_eq!(api.review(pending).await["status"], 2);
}

#[tokio::test]
async fn an_overdue_audit_is_decided_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestEmulator::config();
    config.data = Some(dir.path().join("platform.db"));
    config.audit_delay = Duration::from_millis(300);
    let r = ready(TestEmulator::start(config.clone())).await;
    let id = add(&r, "due", "t").await;
    let token = r.api.token.clone();
    drop(r.emu);
    let emu = TestEmulator::start(config);
    eventually(|| emu.product(id).is_some_and(|p| p.on_shelf.is_some())).await;
    let api = Api {
        token,
        ..Api::new(&emu)
    };
    assert_eq!(api.review(id).await["status"], 2);
}

#[tokio::test]
async fn without_a_data_file_a_restart_forgets_everything() {
    let r = ready(TestEmulator::new()).await;
    add(&r, "gone", "t").await;
    drop(r.emu);
    let emu = TestEmulator::new();
    assert!(emu.products().is_empty());
}
