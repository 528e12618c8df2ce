//! The platforms' connections are checked in the background and on demand, and read from the
//! store: a page never waits on a platform, one user cannot spend the platforms' rate limits by
//! asking again and again, and however many instances run, one checks per interval.

use slipway_engine::EngineError;
use slipway_engine::engine::ConnectionChecks;

use super::support::*;

// Each test's world has a token of its own: the clients' rate budgets are per token and shared by
// the whole test binary, and checks must not spend the budget of other tests' plans.

/// Calls the connection check makes at Vercel (one `GET /v2/user` per check).
fn vercel_checks(world: &World) -> usize {
    world.vercel().requests().iter().filter(|r| r.path == "/v2/user").count()
}

async fn user(engine: &Engine, name: &str, role: Role) -> slipway_engine::auth::User {
    engine.create_user_unchecked(name, &SecretString::from("a long enough password"), role).await.unwrap()
}

#[tokio::test]
async fn reading_the_status_never_calls_a_platform_and_shows_the_last_check() {
    let world = World::with_token(FaultPlan::default(), "connections-read-token").await;
    let (_dir, db) = database();
    let engine = world.open_process(&db, "one").await;
    let operator = user(&engine, "olive", Role::Operator).await;

    let before = engine.connection_status(&operator).await.unwrap();
    assert_eq!(before.checked_at, None);
    let names: Vec<_> = before.statuses.iter().map(|s| s.platform.as_str()).collect();
    assert_eq!(names, ["Vercel", "Supabase", "Cloudflare", "DNS"]);
    assert!(before.statuses.iter().all(|s| !s.connected && s.detail == "not checked yet"), "{before:?}");
    assert_eq!(before.statuses[0].base_url, world.vercel().base_url(), "addresses are known without a check");
    assert_eq!(world.vercel().requests().len() + world.supabase().requests().len(), 0);

    let checked = engine.check_connections(&operator).await.unwrap();
    assert!(checked.statuses.iter().all(|s| s.connected), "{checked:?}");
    let checked_at = checked.checked_at.expect("a check ended");
    assert!(!checked.checking);

    // The platforms turn slow: reading still answers from the store, without asking them.
    let calls = world.vercel().requests().len() + world.supabase().requests().len();
    world.vercel().set_faults(FaultPlan { latency: Duration::from_secs(30), ..FaultPlan::default() });
    for _ in 0..20 {
        let read = engine.connection_status(&operator).await.unwrap();
        assert_eq!(read.checked_at, Some(checked_at));
        assert_eq!(read.statuses, checked.statuses);
    }
    assert_eq!(world.vercel().requests().len() + world.supabase().requests().len(), calls);
}

#[tokio::test]
async fn checks_on_demand_are_limited_per_user_and_a_check_just_begun_is_joined() {
    let world = World::with_token(FaultPlan::default(), "connections-limit-token").await;
    let (_dir, db) = database();
    let engine = world.open_process(&db, "one").await;
    let (olive, casey) = (user(&engine, "olive", Role::Operator).await, user(&engine, "casey", Role::Creator).await);

    engine.check_connections(&olive).await.unwrap();
    assert_eq!(vercel_checks(&world), 1);
    // The same user again at once: refused, saying when to ask again; nothing is called.
    match engine.check_connections(&olive).await {
        Err(error @ EngineError::CheckedRecently { every, retry_after }) => {
            assert_eq!(every, ConnectionChecks::default().on_demand_per_user);
            assert!(retry_after > Duration::ZERO && retry_after <= every, "{retry_after:?}");
            assert!(error.to_string().contains("once every 30 s per user; try again in"), "{error}");
            assert_eq!(error.code(), slipway_engine::ErrorCode::Busy, "429 with Retry-After");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Another user within seconds gets the check that just ran, not a second one.
    let joined = engine.check_connections(&casey).await.unwrap();
    assert!(joined.statuses.iter().all(|s| s.connected), "{joined:?}");
    assert_eq!(vercel_checks(&world), 1, "a check begun seconds ago is joined");
}

#[tokio::test]
async fn a_user_limit_holds_on_every_instance() {
    let world = World::with_token(FaultPlan::default(), "connections-instances-token").await;
    let (_dir, db) = database();
    let (first, second) = (world.open_process(&db, "one").await, world.open_process(&db, "two").await);
    let olive = user(&first, "olive", Role::Operator).await;
    first.check_connections(&olive).await.unwrap();
    let refused = second.check_connections(&olive).await;
    assert!(matches!(refused, Err(EngineError::CheckedRecently { .. })), "{refused:?}");
    // The other instance reads the same result.
    let read = second.connection_status(&olive).await.unwrap();
    assert!(read.checked_at.is_some() && read.statuses.iter().all(|s| s.connected), "{read:?}");
}

/// Two instances on one PostgreSQL database, each with the background check every 300 ms:
/// together they never check more than once per interval.
#[tokio::test]
async fn instances_share_one_background_check_per_interval() {
    let database = super::postgres::TestDatabase::create().await;
    let world = World::with_token(FaultPlan::default(), "connection-checks-token").await;
    let every = Duration::from_millis(300);
    let tweak = |config: &mut EngineConfig| config.connections.every = every;
    let key = || VaultSettings::Key { current: world.key.clone(), previous: vec![] };
    let first = world.open_process_tweaked(&database.url, "one", key(), tweak).await;
    let second = world.open_process_tweaked(&database.url, "two", key(), tweak).await;
    let olive = user(&first, "olive", Role::Operator).await;

    let started = std::time::Instant::now();
    let monitors = [first.start_connection_monitor(), second.start_connection_monitor()];
    wait_for("the first background check", async || {
        first.connection_status(&olive).await.unwrap().checked_at.is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    first.shutdown();
    second.shutdown();
    for monitor in monitors {
        monitor.await.unwrap();
    }
    let elapsed = started.elapsed();

    let checks = vercel_checks(&world);
    // Claims are at least one interval apart, whichever instance makes them (one more for the
    // clocks: claims compare whole milliseconds of wall time, `elapsed` is monotonic).
    let most = (elapsed.as_millis() / every.as_millis()) as usize + 2;
    assert!(checks >= 3, "the check repeats on its interval: {checks} in {elapsed:?}");
    assert!(checks <= most, "{checks} checks in {elapsed:?} by two instances: more than one per {every:?}");
    let read = second.connection_status(&olive).await.unwrap();
    assert!(read.statuses.iter().all(|s| s.connected), "{read:?}");
}

/// The claim in the store: one check at a time, a running one is not started again however long
/// it takes (until it counts as abandoned), and an older check never overwrites a newer result.
#[tokio::test]
async fn a_running_check_is_not_claimed_again_and_an_older_result_never_overwrites_a_newer() {
    let (_dir, db) = database();
    let store = slipway_engine::store::Store::open(&db).await.unwrap();
    // (now, no check begun after, abandoned if begun before)
    assert!(store.claim_connection_check(10_000, 5_000, 0).await.unwrap(), "nothing ran yet");
    assert!(!store.claim_connection_check(20_000, 15_000, 0).await.unwrap(), "the first is still running");
    assert!(store.claim_connection_check(40_000, 35_000, 30_000).await.unwrap(), "abandoned: taken over");
    store.record_connections(r#"[{"newer": true}]"#, 40_000).await.unwrap();
    store.record_connections(r#"[{"older": true}]"#, 10_000).await.unwrap();
    let stored = store.connections().await.unwrap();
    assert_eq!((stored.checked_at, stored.statuses.as_str()), (40_000, r#"[{"newer": true}]"#));
    assert!(!store.claim_connection_check(42_000, 37_000, 30_000).await.unwrap(), "one began within the window");
    assert!(store.claim_connection_check(50_000, 45_000, 30_000).await.unwrap(), "recorded, and long enough ago");
}
