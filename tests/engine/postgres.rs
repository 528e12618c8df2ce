//! Several instances on one PostgreSQL database: each job (and so each step) is worked on by
//! one instance at a time, a dead instance's job is taken over once its lease runs out, and a
//! log line written on one instance reaches live viewers on the other at once.
//!
//! Each test creates its own database on the server named by `SLIPWAY_TEST_POSTGRES_URL`
//! (default: the local one, `postgres://postgres@127.0.0.1:5432/test`) and drops it afterwards.

use std::collections::BTreeSet;
use std::time::Duration;

use sqlx::Connection;

use super::support::{World, creator, wait_for};
use slipway_engine::auth::Role;
use slipway_engine::store::Store;
use slipway_engine::time::now_ms;
use slipway_engine::venture::{NewVenture, VentureStatus};
use slipway_sim::faults::FaultPlan;

/// A database of its own on the test server, dropped (connections and all) when this is.
pub struct TestDatabase {
    server: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let server = std::env::var("SLIPWAY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("slipway_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {server} (set SLIPWAY_TEST_POSTGRES_URL): {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        let base = server.rsplit_once('/').map(|(base, _)| base).unwrap_or(&server);
        let url = format!("{base}/{name}");
        TestDatabase { server, name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: use a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

async fn queue_jobs(store: &Store, count: usize) -> Vec<String> {
    let user = store.insert_user("casey", "not-a-real-hash", Role::Creator).await.unwrap();
    let mut jobs = Vec::new();
    for i in 0..count {
        let name = format!("claim-{i:02}");
        let queued = store.insert_venture_with_job(
            &name,
            "acme/shop",
            "{}",
            None,
            &user,
            slipway_engine::provision::APPLY_VENTURE,
            &[],
            &|_, _, _| unreachable!("no variables to seal"),
        );
        jobs.push(queued.await.unwrap().1);
    }
    jobs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_racing_for_jobs_each_claim_a_different_one() {
    let db = TestDatabase::create().await;
    let store = Store::open(&db.url).await.unwrap();
    let queued: BTreeSet<String> = queue_jobs(&store, 40).await.into_iter().collect();

    // Eight instances, each with its own pool, claim as fast as they can.
    let mut claimers = Vec::new();
    for instance in 0..8 {
        let store = Store::open(&db.url).await.unwrap();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = store.claim_job(&format!("instance-{instance}"), 60_000).await.unwrap() {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    let distinct: BTreeSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), distinct.len(), "a job was claimed twice");
    assert_eq!(distinct, queued, "every job was claimed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_asking_for_jobs_of_one_venture_at_once_queue_exactly_one() {
    let db = TestDatabase::create().await;
    let store = Store::open(&db.url).await.unwrap();
    queue_jobs(&store, 1).await;
    let job = store.claim_job("instance-0", 60_000).await.unwrap().unwrap();
    store.finish_job(&job.id, "instance-0", "succeeded", None, None).await.unwrap();
    let venture_id = job.venture_id.clone();

    // Eight instances, each with its own pool, ask for a sync or a redeploy at the same moment.
    let mut askers = Vec::new();
    for instance in 0..8 {
        let store = Store::open(&db.url).await.unwrap();
        let venture_id = venture_id.clone();
        askers.push(tokio::spawn(async move {
            let kind = if instance % 2 == 0 { "sync_env" } else { "redeploy_production" };
            store.queue_job(&venture_id, kind, None, "asked").await.unwrap()
        }));
    }
    let mut queued = Vec::new();
    let mut answered = Vec::new();
    for asker in askers {
        match asker.await.unwrap() {
            Ok(id) => queued.push(id),
            Err(active) => answered.push(active.id),
        }
    }
    assert_eq!(queued.len(), 1, "exactly one job queued: {queued:?}");
    assert!(answered.iter().all(|id| *id == queued[0]), "the others are told which: {answered:?}");
}

#[tokio::test]
async fn a_stalled_instance_whose_lease_passed_on_can_neither_start_a_step_nor_finish_the_job() {
    let db = TestDatabase::create().await;
    let store = Store::open(&db.url).await.unwrap();
    let job = queue_jobs(&store, 1).await.remove(0);

    let first = store.claim_job("instance-a", 100).await.unwrap().unwrap();
    assert_eq!(first.id, job);
    assert!(store.start_step(&job, "instance-a", "supabase.project").await.unwrap(), "the lease holder may start");
    assert!(store.claim_job("instance-b", 60_000).await.unwrap().is_none(), "a live lease is not taken");
    assert!(!store.start_step(&job, "instance-b", "vercel.project").await.unwrap(), "a non-holder may not start");

    tokio::time::sleep(Duration::from_millis(150)).await; // instance-a stalls past its lease
    let taken = store.claim_job("instance-b", 60_000).await.unwrap().expect("an expired lease is taken over");
    assert_eq!((taken.id.as_str(), taken.attempts), (job.as_str(), 2));
    assert!(!store.start_step(&job, "instance-a", "vercel.project").await.unwrap(), "the old holder is fenced off");
    assert!(!store.renew_lease(&job, "instance-a", 60_000).await.unwrap(), "and learns it at its next renewal");
    store.finish_job(&job, "instance-a", "failed", None, Some("stale")).await.unwrap();
    assert_eq!(store.job_status(&job).await.unwrap().as_deref(), Some("running"), "its verdict is ignored");
    assert!(store.start_step(&job, "instance-b", "vercel.project").await.unwrap(), "the new holder goes on");
    store.finish_job(&job, "instance-b", "succeeded", None, None).await.unwrap();
    assert_eq!(store.job_status(&job).await.unwrap().as_deref(), Some("succeeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_ventures_and_make_each_resource_once() {
    let db = TestDatabase::create().await;
    let mut world = World::new(FaultPlan { latency: Duration::from_millis(20), ..FaultPlan::default() }).await;
    world.concurrency = 2; // so that neither instance can take all the work alone
    let a = world.open_process(&db.url, "instance-a").await;
    let b = world.open_process(&db.url, "instance-b").await;
    let user = creator(&a).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(a.create_venture(&user, &NewVenture::new(&format!("pair-{i}"), "acme/pair")).await.unwrap().id);
    }
    let runners = [a.start_runner(), b.start_runner()];
    wait_for("every venture to settle", async || {
        for id in &ids {
            if b.venture(&user, id).await.unwrap().status == VentureStatus::Provisioning {
                return false;
            }
        }
        true
    })
    .await;
    a.shutdown();
    b.shutdown();
    for runner in runners {
        runner.await.unwrap();
    }

    let mut instances = BTreeSet::new();
    for id in &ids {
        assert_eq!(a.venture(&user, id).await.unwrap().status, VentureStatus::Ready);
        let steps = b.venture_steps(&user, id).await.unwrap();
        assert!(steps.iter().all(|s| s.status == "done"), "{steps:?}");
        let log = b.venture_events(&user, id, 0, 1000).await.unwrap();
        let starts: Vec<_> = log.iter().filter(|e| e.step == "start").collect();
        assert_eq!(starts.len(), 1, "one attempt, by one instance: {starts:#?}");
        instances.insert(if starts[0].message.contains("on instance-a") { "a" } else { "b" });
    }
    assert_eq!(instances.len(), 2, "both instances worked");
    let progress = a.ventures_page(&user, "", 0, 50).await.unwrap();
    assert_eq!(progress.entries.len(), 8);
    assert!(progress.entries.iter().all(|e| e.steps_done == e.steps_total && e.steps_total == 17), "{progress:?}");
    let posts = |requests: Vec<slipway_sim::RecordedRequest>, path: &str| {
        requests.iter().filter(|r| r.method == "POST" && r.path == path && r.status < 300).count()
    };
    assert_eq!(posts(world.vercel().requests(), "/v11/projects"), 8, "one Vercel project per venture");
    assert_eq!(
        posts(world.supabase().requests(), "/v1/projects"),
        16,
        "one Supabase project and its staging twin per venture"
    );
    assert_eq!(posts(world.vercel().requests(), "/v13/deployments"), 8, "one production deployment per venture");
    assert_eq!(world.vercel().projects().len(), 8);
    assert_eq!(world.supabase().projects().len(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_instances_apply_is_taken_over_by_the_other_once_its_lease_expires() {
    let db = TestDatabase::create().await;
    // Creates land at once but answers take a while: the kill below falls between.
    let world = World::new(FaultPlan { latency: Duration::from_millis(400), ..FaultPlan::default() }).await;
    let a = world.open_process(&db.url, "instance-a").await;
    let b = world.open_process(&db.url, "instance-b").await;
    let user = creator(&a).await;
    let venture = a.create_venture(&user, &NewVenture::new("acme-shop", "acme/shop")).await.unwrap();
    let runner = a.runner();
    let killed = tokio::spawn(async move { runner.run_once().await });
    wait_for("both projects to exist", async || {
        !world.vercel().projects().is_empty() && !world.supabase().projects().is_empty()
    })
    .await;
    killed.abort(); // instance A dies holding the lease, with create answers in flight
    let _ = killed.await;
    let killed_at = now_ms();

    let runner = b.start_runner();
    wait_for("the venture to settle", async || {
        b.venture(&user, &venture.id).await.unwrap().status != VentureStatus::Provisioning
    })
    .await;
    b.shutdown();
    runner.await.unwrap();

    assert_eq!(b.venture(&user, &venture.id).await.unwrap().status, VentureStatus::Ready);
    let log = b.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    let resumed = log.iter().find(|e| e.message.contains("attempt 2, on instance-b")).expect("B resumed it");
    // A renews a 900 ms lease every 300 ms, so at least 600 ms of it were left at the kill.
    assert!(resumed.created_at - killed_at >= 450, "B waited for the lease: {} ms", resumed.created_at - killed_at);
    assert_eq!(world.vercel().projects().len(), 1, "exactly one Vercel project");
    assert_eq!(world.supabase().projects().len(), 2, "exactly one Supabase project, and its staging twin");
    assert!(log.iter().filter(|e| e.message.contains("Adopting")).count() >= 2, "{log:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_line_written_on_one_instance_wakes_live_viewers_on_the_other() {
    let db = TestDatabase::create().await;
    let world = World::new(FaultPlan::default()).await;
    let a = world.open_process(&db.url, "instance-a").await;
    let b = world.open_process(&db.url, "instance-b").await;
    let user = creator(&a).await;
    let mut wake = b.subscribe_events();
    wake.borrow_and_update();
    tokio::time::sleep(Duration::from_millis(200)).await; // B's listener is connected

    // Instance B writes nothing itself: only A's insert can wake B's viewers.
    let venture = a.create_venture(&user, &NewVenture::new("acme-shop", "acme/shop")).await.unwrap();
    tokio::time::timeout(Duration::from_millis(800), wake.changed())
        .await
        .expect("B is woken well before its one-second re-read")
        .unwrap();
    let newest = *wake.borrow_and_update();
    let log = b.venture_events(&user, &venture.id, 0, 100).await.unwrap();
    assert_eq!(log.last().map(|e| e.id), Some(newest), "the id B was woken with is A's line: {log:#?}");
}

/// The env store's SQL on PostgreSQL: a spec's declarations written with the venture, values
/// versioned, a reveal audited, a rollback, the sync's records, a removal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_are_declared_versioned_revealed_synced_and_removed_on_postgres() {
    use secrecy::{ExposeSecret, SecretString};
    use slipway_engine::engine::EnvChange;
    use slipway_engine::env::{EnvDeclaration, Environment};
    use slipway_engine::provision::SyncState;

    let db = TestDatabase::create().await;
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db.url, "pg-env").await;
    let user = creator(&engine).await;
    let admin =
        engine.create_user_unchecked("ada", &SecretString::from("another long password"), Role::Admin).await.unwrap();
    let mut spec = NewVenture::new("pg-env", "acme/pg-env");
    spec.env.insert(
        "AUTH_SECRET".into(),
        EnvDeclaration {
            description: "Auth.js secret".into(),
            secret: true,
            generate: Some("random-32".into()),
            value: None,
        },
    );
    let venture = engine.create_venture(&user, &spec).await.unwrap();
    let set = |value: &str| EnvChange {
        description: Some("Stripe API key".into()),
        secret: Some(true),
        values: [("production".to_string(), Some(SecretString::from(value)))].into_iter().collect(),
        ..EnvChange::default()
    };
    engine.put_env_var(&user, &venture.id, "STRIPE_SECRET_KEY", &set("sk_live_pg_1")).await.unwrap();
    engine.put_env_var(&user, &venture.id, "STRIPE_SECRET_KEY", &set("sk_live_pg_2")).await.unwrap();
    let runner = engine.start_runner();
    wait_for("the apply", async || engine.venture(&user, &venture.id).await.unwrap().status == VentureStatus::Ready)
        .await;
    wait_for("the job to finish", async || !engine.has_active_job(&user, &venture.id).await.unwrap()).await;

    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    let state = |key: &str| {
        let var = listing.variables.iter().find(|v| v.key == key).unwrap();
        var.values.iter().find(|v| v.environment == Environment::Production).unwrap().sync.clone()
    };
    assert_eq!(state("STRIPE_SECRET_KEY"), Some(SyncState::InSync));
    assert_eq!(state("AUTH_SECRET"), Some(SyncState::InSync));
    let revealed = engine.reveal_env_value(&admin, &venture.id, "STRIPE_SECRET_KEY", "production").await.unwrap();
    assert_eq!(revealed.expose_secret(), "sk_live_pg_2");
    assert_eq!(engine.env_listing(&admin, &venture.id).await.unwrap().reveals.len(), 1);
    // A pull's disclosures, and the leak scan's walk over every table, on PostgreSQL too.
    let pull = engine.env_pull(&admin, &venture.id, "production").await.unwrap();
    let secrets = pull.variables.iter().filter(|v| v.secret && v.value.is_some()).count();
    assert!(secrets >= 1);
    assert_eq!(engine.env_listing(&admin, &venture.id).await.unwrap().reveals.len(), 1 + secrets);
    let scan = engine.leak_scan(&[("page".into(), "<td>sk_live_pg_2</td>".into())]).await.unwrap();
    assert!(scan.cells > 20, "{} cells", scan.cells);
    assert_eq!(scan.leaks.iter().map(|l| l.source.as_str()).collect::<Vec<_>>(), ["page"]);
    engine.rollback_env_value(&user, &venture.id, "STRIPE_SECRET_KEY", "production", 1).await.unwrap();
    let history = engine.env_value_history(&user, &venture.id, "STRIPE_SECRET_KEY", "production").await.unwrap();
    assert_eq!(history.iter().map(|v| v.version).collect::<Vec<_>>(), [3, 2, 1]);
    engine.delete_env_var(&user, &venture.id, "STRIPE_SECRET_KEY").await.unwrap();
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    assert!(!listing.variables.iter().any(|v| v.key == "STRIPE_SECRET_KEY"));
    engine.shutdown();
    runner.await.unwrap();
}
