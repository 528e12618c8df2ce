//! Secret rotation's closed loop in the sandbox: a new Supabase secret key made while the old
//! one stays valid, set on every Vercel target, the deployments rebuilt and health-checked, and
//! only then the old key deleted; a failed check rolls back; a crash at any phase resumes; an
//! apply or destroy and a rotation of one venture exclude each other; and a probe of the live
//! site sees no failed request throughout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use slipway_engine::EngineError;
use slipway_engine::auth::User;
use slipway_engine::engine::{RotateRequest, Rotation, RotationOutcome};
use slipway_engine::env::Environment;
use slipway_engine::rotation::Phase;

use super::support::*;

const SECRET: &str = "SUPABASE_SECRET_KEY";

struct Applied {
    _dir: tempfile::TempDir,
    db: String,
    world: World,
    engine: Engine,
    admin: User,
    creator: User,
    venture: slipway_engine::venture::Venture,
    project: String,
    /// The production and staging Supabase projects.
    references: [String; 2],
}

/// A venture (with staging, the default) applied until ready, and an admin beside its creator.
async fn applied(name: &str) -> Applied {
    applied_with(NewVenture::new(name, "acme/shop")).await
}

async fn applied_with(spec: NewVenture) -> Applied {
    let name = spec.name.clone();
    let name = name.as_str();
    let (_dir, db) = database();
    let world = World::with_token(FaultPlan::default(), &format!("rotation-{name}")).await;
    let engine = world.open_process(&db, "p1").await;
    let creator = creator(&engine).await;
    let password = SecretString::from("an admin's long password");
    let admin = engine.create_user_unchecked("ada", &password, Role::Admin).await.unwrap();
    let venture = engine.create_venture(&creator, &spec).await.unwrap();
    assert_eq!(settle(&engine, &creator, &venture.id).await, VentureStatus::Ready);
    let venture = engine.venture(&creator, &venture.id).await.unwrap();
    let project = venture.vercel_project_id.clone().unwrap();
    let reference = |wanted: String| {
        let projects = world.supabase().projects();
        let found = projects.iter().find(|p| p["name"] == wanted.as_str()).expect("the Supabase project");
        found["ref"].as_str().unwrap().to_string()
    };
    let references = [reference(name.to_string()), reference(format!("{name}-staging"))];
    Applied { _dir, db, world, engine, admin, creator, venture, project, references }
}

/// The project's secret API keys at Supabase: (id, name, value).
fn secret_keys(world: &World, reference: &str) -> Vec<(String, String, String)> {
    let text = |v: &Value, field: &str| v[field].as_str().unwrap_or_default().to_string();
    let keys = world.supabase().api_keys(reference);
    keys.iter()
        .filter(|k| k["type"] == "secret")
        .map(|k| (text(k, "id"), text(k, "name"), text(k, "api_key")))
        .collect()
}

/// What Vercel holds for `key`: production's value, and the staging environment's.
fn at_vercel(world: &World, project: &str, key: &str) -> (String, String) {
    let vars = world.vercel().env_vars(project);
    let value = |production: bool| {
        let found = vars.iter().find(|v| {
            let targets_production = v["target"].as_array().is_some_and(|t| t.iter().any(|t| t == "production"));
            let custom = v["customEnvironmentIds"].as_array().is_some_and(|c| !c.is_empty());
            v["key"] == key && if production { targets_production } else { custom }
        });
        found.and_then(|v| v["value"].as_str()).unwrap_or_default().to_string()
    };
    (value(true), value(false))
}

fn vault(world: &World) -> VaultSettings {
    VaultSettings::Key { current: world.key.clone(), previous: vec![] }
}

/// Runs the venture's jobs in a new process until its newest rotation is over; returns that
/// rotation.
async fn run_rotation(world: &World, db: &str, instance: &str, user: &User, venture_id: &str) -> Rotation {
    run_rotation_of(world, db, instance, user, venture_id, SECRET).await
}

async fn run_rotation_of(
    world: &World,
    db: &str,
    instance: &str,
    user: &User,
    venture_id: &str,
    secret: &str,
) -> Rotation {
    let engine = world.open_process(db, instance).await;
    let runner = engine.start_runner();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let newest = loop {
        let newest = engine.rotations(user, venture_id, Some(secret)).await.unwrap().into_iter().next();
        let over = newest.as_ref().is_some_and(|r| r.outcome != RotationOutcome::Running);
        if over && !engine.has_active_job(user, venture_id).await.unwrap() {
            break newest.unwrap();
        }
        if tokio::time::Instant::now() > deadline {
            let events = engine.venture_events(user, venture_id, 0, 10_000).await.unwrap();
            let last: Vec<String> =
                events.iter().rev().take(15).rev().map(|e| format!("{}: {}", e.step, e.message)).collect();
            panic!("the rotation did not end ({newest:?}); the last events:\n{}", last.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    engine.shutdown();
    runner.await.unwrap();
    newest
}

/// Asks the sandbox edge for `https://{name}/` as a visitor would (through the simulated DNS's
/// answer, trusting the edge's CA): the status and the deployment that answered.
struct Visitor {
    client: reqwest::Client,
}

impl Visitor {
    fn new(world: &World, name: &str) -> Visitor {
        let edge = world.sims.edge.address();
        let ca = reqwest::Certificate::from_pem(world.sims.edge.ca_pem().as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(ca)
            .resolve(name, edge)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        Visitor { client }
    }

    async fn visit(&self, name: &str) -> (u16, String) {
        match self.client.get(format!("https://{name}/")).send().await {
            Ok(response) => {
                let deployment = response.headers().get("x-vercel-deployment").and_then(|h| h.to_str().ok());
                (response.status().as_u16(), deployment.unwrap_or_default().to_string())
            }
            Err(err) => (0, err.to_string()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_key_rotation_retires_the_old_key_only_once_the_new_one_is_live_and_no_request_fails() {
    let a = applied("rotating-shop").await;
    let old: Vec<_> = a.references.iter().map(|r| secret_keys(&a.world, r)).collect();
    assert!(old.iter().all(|keys| keys.len() == 1), "one secret key per project before: {old:?}");
    assert_eq!(at_vercel(&a.world, &a.project, SECRET), (old[0][0].2.clone(), old[1][0].2.clone()));

    // Only admins rotate.
    let refused =
        a.engine.rotate_secret(&a.creator, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap_err();
    assert!(matches!(refused, EngineError::Forbidden { .. }), "{refused:?}");
    let unknown =
        a.engine.rotate_secret(&a.admin, &a.venture.id, "STRIPE_KEY", &RotateRequest::default()).await.unwrap_err();
    assert!(matches!(unknown, EngineError::NotFound("rotatable secret")), "{unknown:?}");

    // A visitor asks the production site all along.
    let site = "rotating-shop.vercel.app".to_string();
    let visitor = Arc::new(Visitor::new(&a.world, &site));
    assert_eq!(visitor.visit(&site).await.0, 200, "the site is up before");
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (visitor, stop, site) = (visitor.clone(), stop.clone(), site.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                answers.push(visitor.visit(&site).await);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            answers
        })
    };

    let queued = a.engine.rotate_secret(&a.admin, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap();
    assert_eq!(
        (queued.phase, queued.outcome, queued.cause.as_str()),
        (Phase::Pending, RotationOutcome::Running, "manual")
    );
    let again = a.engine.rotate_secret(&a.admin, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap();
    assert_eq!(again.id, queued.id, "asking again while it runs is the same rotation");
    let done = run_rotation(&a.world, &a.db, "runner", &a.admin, &a.venture.id).await;
    // A few more requests after the old key is gone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let answers = probe.await.unwrap();

    assert_eq!((done.phase, done.outcome, done.error.clone()), (Phase::Finished, RotationOutcome::Succeeded, None));
    let failed: Vec<_> = answers.iter().filter(|(status, _)| *status != 200).collect();
    assert!(failed.is_empty(), "no request failed during the rotation: {failed:?} of {}", answers.len());
    let served: std::collections::BTreeSet<&str> = answers.iter().map(|(_, d)| d.as_str()).collect();
    assert!(
        answers.len() > 20 && served.len() >= 2,
        "the probe saw the switch: {} answers from {served:?}",
        answers.len()
    );

    // One secret key per project, the new one, and Vercel holds it for each target.
    let new: Vec<_> = a.references.iter().map(|r| secret_keys(&a.world, r)).collect();
    for (before, after) in old.iter().zip(&new) {
        assert_eq!(after.len(), 1, "the old key is deleted: {after:?}");
        assert!(after[0].1.starts_with("slipway_rotated_"), "{after:?}");
        assert_ne!(after[0].2, before[0].2);
    }
    assert_eq!(at_vercel(&a.world, &a.project, SECRET), (new[0][0].2.clone(), new[1][0].2.clone()));

    // The history: the deployments built with the new key, and the one it replaced, which an
    // Instant Rollback would bring back with the retired key (it answers 500 now).
    let environments: Vec<Environment> = done.deployments.iter().map(|b| b.environment).collect();
    assert_eq!(environments, [Environment::Production, Environment::Staging]);
    let production = &done.deployments[0];
    let built_with = a.world.vercel().deployment_env(&production.id).unwrap();
    assert_eq!(built_with[SECRET], new[0][0].2);
    assert_eq!(done.replaced.len(), 1);
    let warning = done.warning.clone().unwrap();
    assert!(warning.contains(&done.replaced[0].id) && warning.contains("Instant Rollback"), "{warning}");
    let retired = Visitor::new(&a.world, &done.replaced[0].url);
    assert_eq!(retired.visit(&done.replaced[0].url).await.0, 500, "the old build's key no longer works");
    assert_eq!(Visitor::new(&a.world, &production.url).visit(&production.url).await.0, 200);

    // Everyone who may read the venture sees the rotation; no value is in it or the log.
    let seen = a.engine.rotations(&a.creator, &a.venture.id, None).await.unwrap();
    assert_eq!(seen, vec![done.clone()]);
    let shown = serde_json::to_string(&seen).unwrap();
    let events = a.engine.venture_events(&a.creator, &a.venture.id, 0, 10_000).await.unwrap();
    let log: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    assert!(log.iter().any(|m| m.starts_with("Rotated SUPABASE_SECRET_KEY")), "{log:#?}");
    for value in old.iter().chain(&new).map(|keys| keys[0].2.as_str()) {
        assert!(!shown.contains(value) && !log.iter().any(|m| m.contains(value)), "a key value leaked");
    }
    let audit = a.engine.audit_log(&a.admin, None, 100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "secret.rotate" && e.target == "rotating-shop/SUPABASE_SECRET_KEY"));

    // The rotation's own sealed copies are gone; an apply afterwards keeps the new key.
    let status = {
        let engine = a.world.open_process(&a.db, "p2").await;
        engine.apply_venture(&a.creator, &a.venture.id).await.unwrap();
        settle(&engine, &a.creator, &a.venture.id).await
    };
    assert_eq!(status, VentureStatus::Ready);
    assert_eq!(at_vercel(&a.world, &a.project, SECRET), (new[0][0].2.clone(), new[1][0].2.clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_health_check_puts_the_previous_key_back_everywhere_and_retires_the_new_one() {
    let a = applied("unhealthy-shop").await;
    let old: Vec<_> = a.references.iter().map(|r| secret_keys(&a.world, r)).collect();
    // The next build goes READY but its app answers 500.
    a.world.vercel().fail_health_of_next_deployment();
    let queued = a.engine.rotate_secret(&a.admin, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap();
    let done = run_rotation(&a.world, &a.db, "runner", &a.admin, &a.venture.id).await;

    assert_eq!((done.phase, done.outcome), (Phase::RolledBack, RotationOutcome::RolledBack));
    let error = done.error.clone().unwrap();
    assert!(error.contains("health check") && error.contains("500"), "{error}");
    assert!(done.warning.is_none());
    assert_eq!(done.restored.len(), done.deployments.len(), "each target built with the new key is rebuilt");
    let new: Vec<_> = a.references.iter().map(|r| secret_keys(&a.world, r)).collect();
    assert_eq!(new, old, "the new keys are deleted and the old ones kept");
    assert_eq!(at_vercel(&a.world, &a.project, SECRET), (old[0][0].2.clone(), old[1][0].2.clone()));
    let site = "unhealthy-shop.vercel.app";
    assert_eq!(Visitor::new(&a.world, site).visit(site).await.0, 200, "the site serves with the old key");
    let job = a.engine.venture_job(&a.admin, &a.venture.id, &queued.job_id).await.unwrap();
    assert_eq!(job.status, "failed");
    assert!(job.error.unwrap().contains("rolled back"));
}

const PASSWORD: &str = "POSTGRES_PASSWORD";

/// A visitor asking `site` every 10 ms until stopped: the answers, in order.
fn probe(world: &World, site: &str) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Vec<(u16, String)>>) {
    let visitor = Visitor::new(world, site);
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, site) = (stop.clone(), site.to_string());
    let task = tokio::spawn(async move {
        let mut answers = Vec::new();
        while !flag.load(Ordering::Relaxed) {
            answers.push(visitor.visit(&site).await);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        answers
    });
    (stop, task)
}

/// Each of the venture's Supabase projects' database password now.
fn database_passwords(a: &Applied) -> Vec<String> {
    a.references.iter().map(|r| a.world.supabase().database_password(r).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_password_rotation_resets_it_syncs_every_postgres_variable_and_measures_the_cut() {
    let a = applied("password-shop").await;
    let passwords = || database_passwords(&a);
    let old = passwords();
    assert_eq!(at_vercel(&a.world, &a.project, PASSWORD), (old[0].clone(), old[1].clone()));

    // The admin is told what the reset does, and must accept it.
    let status = a.engine.secret_rotation_status(&a.admin, &a.venture.id).await.unwrap();
    let of_password = status.iter().find(|s| s.secret == PASSWORD).expect("the password is listed");
    assert_eq!((of_password.class.as_str(), of_password.policy.as_str()), ("database-password", "never"));
    assert_eq!(of_password.scheduled_at, None, "never scheduled unless the owner asks");
    assert!(of_password.warning.as_deref().unwrap().contains("cuts every live connection"), "{of_password:?}");
    let refused = a.engine.rotate_secret(&a.admin, &a.venture.id, PASSWORD, &RotateRequest::default()).await;
    let EngineError::Invalid(fields) = refused.unwrap_err() else { panic!("refused as invalid") };
    assert_eq!(fields[0].field, "accept_connection_cut");
    assert!(fields[0].message.starts_with("must be true: resetting the database password"), "{fields:?}");
    assert!(a.engine.rotations(&a.admin, &a.venture.id, None).await.unwrap().is_empty(), "nothing was queued");

    let site = "password-shop.vercel.app";
    let (stop, answers) = probe(&a.world, site);
    let accepted = RotateRequest { accept_connection_cut: true, ..RotateRequest::default() };
    a.engine.rotate_secret(&a.admin, &a.venture.id, PASSWORD, &accepted).await.unwrap();
    let done = run_rotation_of(&a.world, &a.db, "runner", &a.admin, &a.venture.id, PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let answers = answers.await.unwrap();
    assert_eq!((done.phase, done.outcome, done.error.clone()), (Phase::Finished, RotationOutcome::Succeeded, None));

    // A new password per project, and every variable that embeds it carries it at Vercel.
    let new = passwords();
    for (before, after) in old.iter().zip(&new) {
        assert_ne!(before, after);
    }
    assert_eq!(at_vercel(&a.world, &a.project, PASSWORD), (new[0].clone(), new[1].clone()));
    for key in ["POSTGRES_URL", "POSTGRES_PRISMA_URL", "POSTGRES_URL_NON_POOLING"] {
        let (production, staging) = at_vercel(&a.world, &a.project, key);
        assert!(production.contains(&format!(":{}@", new[0])), "{key} carries production's new password");
        assert!(staging.contains(&format!(":{}@", new[1])), "{key} carries staging's new password");
    }
    let built_with = a.world.vercel().deployment_env(&done.deployments[0].id).unwrap();
    assert_eq!(built_with[PASSWORD], new[0]);

    // The cut is measured, and only the old build failed, only in that window.
    let cut = done.connections_cut_ms.expect("the cut is measured");
    assert!(cut > 0, "{cut}");
    let replaced = &done.replaced[0].id;
    let failed: Vec<_> = answers.iter().filter(|(status, _)| *status != 200).collect();
    assert!(
        failed.iter().all(|(status, deployment)| *status == 500 && deployment == replaced),
        "only the build with the old password failed: {failed:?}"
    );
    assert_eq!(answers.last().map(|a| a.0), Some(200), "the site is back");
    let failing_ms = failed.len() as i64 * 10;
    assert!(failing_ms <= cut + 1_000, "the probe failed for about {failing_ms} ms, within the measured {cut} ms");

    // The log and the history say how long; no password is in them.
    let events = a.engine.venture_events(&a.creator, &a.venture.id, 0, 10_000).await.unwrap();
    let log: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    assert!(log.iter().any(|m| m.starts_with("Rotated POSTGRES_PASSWORD: connections failed for")), "{log:#?}");
    let shown = serde_json::to_string(&a.engine.rotations(&a.creator, &a.venture.id, None).await.unwrap()).unwrap();
    for password in old.iter().chain(&new) {
        assert!(!shown.contains(password.as_str()) && !log.iter().any(|m| m.contains(password.as_str())));
    }
    let status = a.engine.secret_rotation_status(&a.admin, &a.venture.id).await.unwrap();
    let warning = status.iter().find(|s| s.secret == PASSWORD).unwrap().warning.clone().unwrap();
    assert!(warning.contains("the last rotation cut them for"), "{warning}");

    // An apply afterwards keeps the new password.
    let engine = a.world.open_process(&a.db, "p2").await;
    engine.apply_venture(&a.creator, &a.venture.id).await.unwrap();
    assert_eq!(settle(&engine, &a.creator, &a.venture.id).await, VentureStatus::Ready);
    assert_eq!(passwords(), new);
    assert_eq!(at_vercel(&a.world, &a.project, PASSWORD), (new[0].clone(), new[1].clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staging_project_that_only_previews_use_gets_its_new_password_too() {
    let mut spec = NewVenture::new("preview-db-shop", "acme/shop");
    spec.environments.staging.enabled = false;
    spec.supabase.non_production = Some(slipway_engine::venture::NonProductionDatabase::StagingProject);
    let a = applied_with(spec).await;
    let staging = &a.references[1];
    let old = a.world.supabase().database_password(staging).unwrap();
    assert_eq!(at_vercel_target(&a.world, &a.project, PASSWORD, "preview"), Some(old.clone()));
    let accepted = RotateRequest { accept_connection_cut: true, ..RotateRequest::default() };
    a.engine.rotate_secret(&a.admin, &a.venture.id, PASSWORD, &accepted).await.unwrap();
    let done = run_rotation_of(&a.world, &a.db, "runner", &a.admin, &a.venture.id, PASSWORD).await;
    assert_eq!((done.outcome, done.error.clone()), (RotationOutcome::Succeeded, None));
    let new = a.world.supabase().database_password(staging).unwrap();
    assert_ne!(new, old, "the staging project's password is reset though no staging deployment uses it");
    assert_eq!(at_vercel_target(&a.world, &a.project, PASSWORD, "preview"), Some(new), "previews build with it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_password_rotation_that_fails_its_check_sets_the_previous_password_back() {
    let a = applied("password-back-shop").await;
    let passwords = || database_passwords(&a);
    let old = passwords();
    a.world.vercel().fail_health_of_next_deployment();
    let accepted = RotateRequest { accept_connection_cut: true, ..RotateRequest::default() };
    a.engine.rotate_secret(&a.admin, &a.venture.id, PASSWORD, &accepted).await.unwrap();
    let done = run_rotation_of(&a.world, &a.db, "runner", &a.admin, &a.venture.id, PASSWORD).await;

    assert_eq!((done.phase, done.outcome), (Phase::RolledBack, RotationOutcome::RolledBack));
    assert!(done.error.clone().unwrap().contains("health check"), "{:?}", done.error);
    assert_eq!(passwords(), old, "Supabase has the previous passwords again");
    assert_eq!(at_vercel(&a.world, &a.project, PASSWORD), (old[0].clone(), old[1].clone()));
    assert_eq!(done.restored.len(), done.deployments.len());
    let site = "password-back-shop.vercel.app";
    assert_eq!(Visitor::new(&a.world, site).visit(site).await.0, 200, "the site serves with the previous password");
}

/// What Vercel holds for `key` in the standard `target` (production, preview, development).
fn at_vercel_target(world: &World, project: &str, key: &str, target: &str) -> Option<String> {
    let vars = world.vercel().env_vars(project);
    let found =
        vars.iter().find(|v| v["key"] == key && v["target"].as_array().is_some_and(|t| t.iter().any(|t| t == target)));
    found.and_then(|v| v["value"].as_str()).map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_and_person_entered_variables_rotate_through_the_same_loop_and_keep_their_history() {
    use slipway_engine::engine::EnvChange;
    let a = applied("variable-shop").await;
    let generated = EnvChange {
        description: Some("Session signing".into()),
        generate: Some("random-32".into()),
        ..EnvChange::default()
    };
    a.engine.put_env_var(&a.creator, &a.venture.id, "SESSION_SECRET", &generated).await.unwrap();
    let stripe = EnvChange {
        description: Some("Stripe API key".into()),
        secret: Some(true),
        values: [("production", "sk_live_old"), ("preview", "sk_test_old")]
            .into_iter()
            .map(|(e, v)| (e.to_string(), Some(SecretString::from(v))))
            .collect(),
        ..EnvChange::default()
    };
    a.engine.put_env_var(&a.creator, &a.venture.id, "STRIPE_KEY", &stripe).await.unwrap();
    let engine = a.world.open_process(&a.db, "p2").await;
    engine.apply_venture(&a.creator, &a.venture.id).await.unwrap();
    assert_eq!(settle(&engine, &a.creator, &a.venture.id).await, VentureStatus::Ready);
    let session = || at_vercel_target(&a.world, &a.project, "SESSION_SECRET", "production").unwrap();
    let old_session = session();

    // Both are listed: the generated one is scheduled, the person's waits for them once due.
    let status = a.engine.secret_rotation_status(&a.admin, &a.venture.id).await.unwrap();
    let of = |name: &str| status.iter().find(|s| s.secret == name).unwrap_or_else(|| panic!("{name} listed"));
    assert_eq!((of("SESSION_SECRET").class.as_str(), of("SESSION_SECRET").minted_by_slipway), ("generated", true));
    assert!(of("SESSION_SECRET").scheduled_at.is_some());
    let person = of("STRIPE_KEY");
    assert_eq!((person.class.as_str(), person.minted_by_slipway, person.scheduled_at), ("user-entered", false, None));
    assert_eq!(person.environments, [Environment::Preview, Environment::Production]);
    assert!(person.due_at.is_some(), "its age is tracked");

    // A value for a secret Slipway mints is refused, as is none for one it cannot.
    let given = |pairs: &[(&str, &str)]| RotateRequest {
        values: pairs.iter().map(|(e, v)| (e.to_string(), SecretString::from(*v))).collect(),
        ..RotateRequest::default()
    };
    let refused =
        a.engine.rotate_secret(&a.admin, &a.venture.id, "SESSION_SECRET", &given(&[("production", "x")])).await;
    let EngineError::Invalid(fields) = refused.unwrap_err() else { panic!("invalid") };
    assert_eq!((fields[0].field.as_str(), fields[0].message.starts_with("must be empty")), ("values", true));
    let refused = a.engine.rotate_secret(&a.admin, &a.venture.id, "STRIPE_KEY", &RotateRequest::default()).await;
    let EngineError::Invalid(fields) = refused.unwrap_err() else { panic!("invalid") };
    assert_eq!(fields[0].field, "values");
    assert!(fields[0].message.contains("preview, production"), "{fields:?}");
    let refused = a.engine.rotate_secret(&a.admin, &a.venture.id, "STRIPE_KEY", &given(&[("staging", "sk_x")])).await;
    let EngineError::Invalid(fields) = refused.unwrap_err() else { panic!("invalid") };
    assert_eq!(fields[0].field, "values.staging", "{fields:?}");

    // The generated variable: a new value, synced, built, checked; the old one in its history.
    a.engine.rotate_secret(&a.admin, &a.venture.id, "SESSION_SECRET", &RotateRequest::default()).await.unwrap();
    let done = run_rotation_of(&a.world, &a.db, "runner-1", &a.admin, &a.venture.id, "SESSION_SECRET").await;
    assert_eq!((done.outcome, done.error.clone()), (RotationOutcome::Succeeded, None));
    let new_session = session();
    assert_ne!(new_session, old_session);
    let built_with = a.world.vercel().deployment_env(&done.deployments[0].id).unwrap();
    assert_eq!(built_with["SESSION_SECRET"], new_session);
    let history = a.engine.env_value_history(&a.admin, &a.venture.id, "SESSION_SECRET", "production").await.unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0].set_by, "ada (rotation)");

    // The person's: production only gets the value given; preview keeps its own.
    let request = given(&[("production", "sk_live_new")]);
    a.engine.rotate_secret(&a.admin, &a.venture.id, "STRIPE_KEY", &request).await.unwrap();
    let done = run_rotation_of(&a.world, &a.db, "runner-2", &a.admin, &a.venture.id, "STRIPE_KEY").await;
    assert_eq!((done.outcome, done.error.clone()), (RotationOutcome::Succeeded, None));
    assert_eq!(at_vercel_target(&a.world, &a.project, "STRIPE_KEY", "production").as_deref(), Some("sk_live_new"));
    assert_eq!(at_vercel_target(&a.world, &a.project, "STRIPE_KEY", "preview").as_deref(), Some("sk_test_old"));
    let environments: Vec<Environment> = done.deployments.iter().map(|b| b.environment).collect();
    assert_eq!(environments, [Environment::Production], "only what holds it is rebuilt");
    let shown = serde_json::to_string(&a.engine.rotations(&a.creator, &a.venture.id, None).await.unwrap()).unwrap();
    let events = a.engine.venture_events(&a.creator, &a.venture.id, 0, 10_000).await.unwrap();
    for value in ["sk_live_new", "sk_live_old", new_session.as_str(), old_session.as_str()] {
        assert!(!shown.contains(value) && !events.iter().any(|e| e.message.contains(value)), "a value leaked");
    }
    let names = a.engine.secret_names(&a.admin, &a.venture.id).await.unwrap();
    assert!(!names.iter().any(|n| n.starts_with("rotation/")), "{names:?}");

    // And the admin can still roll the person's value back by hand, from its history.
    a.engine.rollback_env_value(&a.admin, &a.venture.id, "STRIPE_KEY", "production", 1).await.unwrap();
    let engine = a.world.open_process(&a.db, "p3").await;
    engine.apply_venture(&a.creator, &a.venture.id).await.unwrap();
    assert_eq!(settle(&engine, &a.creator, &a.venture.id).await, VentureStatus::Ready);
    assert_eq!(at_vercel_target(&a.world, &a.project, "STRIPE_KEY", "production").as_deref(), Some("sk_live_old"));
}

/// A Supabase project's signing keys: (id, status).
fn signing_keys(world: &World, reference: &str) -> Vec<(String, String)> {
    let keys = world.supabase().signing_keys(reference);
    keys.iter().map(|k| (k["id"].as_str().unwrap().to_string(), k["status"].as_str().unwrap().to_string())).collect()
}

/// Runs the venture's jobs in a new process until none is queued or running.
async fn run_jobs(world: &World, db: &str, instance: &str, user: &User, venture_id: &str) {
    let engine = world.open_process(db, instance).await;
    let runner = engine.start_runner();
    wait_for("the venture's jobs to end", async || !engine.has_active_job(user, venture_id).await.unwrap()).await;
    engine.shutdown();
    runner.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_key_rotation_waits_durably_for_the_jwks_caches_and_the_tokens_without_holding_the_venture() {
    const JWT: &str = "JWT_SIGNING_KEY";
    let a = applied("signing-shop").await;
    let keys = |reference: &str| signing_keys(&a.world, reference);
    let status = a.engine.secret_rotation_status(&a.admin, &a.venture.id).await.unwrap();
    let explanation = status.iter().find(|s| s.secret == JWT).unwrap().explanation.clone().unwrap();
    assert!(explanation.contains("never rotates the legacy JWT secret"), "{explanation}");
    let hour = 3600 * 1000;

    let mut previous: Vec<Option<String>> = vec![None, None];
    for round in 1..=2 {
        let rotation = a.engine.rotate_secret(&a.admin, &a.venture.id, JWT, &RotateRequest::default()).await.unwrap();
        run_jobs(&a.world, &a.db, &format!("standby-{round}"), &a.admin, &a.venture.id).await;
        // A standby key per project, published, signing nothing yet: the rotation waits ~20 min.
        let waiting = a.engine.rotations(&a.admin, &a.venture.id, Some(JWT)).await.unwrap().remove(0);
        assert_eq!(
            (waiting.id.as_str(), waiting.outcome, waiting.phase),
            (rotation.id.as_str(), RotationOutcome::Running, Phase::Set)
        );
        let until = waiting.waiting_until.expect("it waits");
        assert!(until > slipway_engine::time::now_ms() + 19 * 60 * 1000, "about 20 minutes");
        for (reference, before) in a.references.iter().zip(&previous) {
            let now = keys(reference);
            assert!(now.iter().any(|(_, s)| s == "standby"), "{now:?}");
            let in_use: Vec<_> = now.iter().filter(|(_, s)| s == "in_use").map(|(id, _)| id.clone()).collect();
            assert_eq!(in_use.first(), before.as_ref(), "the previous key still signs");
        }
        // Meanwhile the venture is free: an apply runs, and asking again is the same rotation.
        let again = a.engine.rotate_secret(&a.admin, &a.venture.id, JWT, &RotateRequest::default()).await.unwrap();
        assert_eq!(again.id, rotation.id);
        let engine = a.world.open_process(&a.db, &format!("apply-{round}")).await;
        engine.apply_venture(&a.creator, &a.venture.id).await.unwrap();
        assert_eq!(settle(&engine, &a.creator, &a.venture.id).await, VentureStatus::Ready);
        // Not resumed before its moment; resumed after it, with a new job.
        let scheduler = a.world.open_process(&a.db, &format!("scheduler-{round}")).await;
        assert_eq!(scheduler.queue_due_rotations(until - 1000).await.unwrap(), 0);
        assert_eq!(scheduler.queue_due_rotations(until + 1000).await.unwrap(), 1);
        run_jobs(&a.world, &a.db, &format!("switch-{round}"), &a.admin, &a.venture.id).await;
        // The new keys sign; the previous ones stay trusted until their tokens expire.
        let waiting = a.engine.rotations(&a.admin, &a.venture.id, Some(JWT)).await.unwrap().remove(0);
        assert_eq!((waiting.outcome, waiting.phase), (RotationOutcome::Running, Phase::Tested));
        let revoke_at = waiting.waiting_until.unwrap();
        assert!(revoke_at > slipway_engine::time::now_ms() + hour, "the token lifetime (1 h) plus 15 minutes");
        let mut signing = Vec::new();
        for (reference, before) in a.references.iter().zip(&previous) {
            let now = keys(reference);
            let in_use = now.iter().find(|(_, s)| s == "in_use").map(|(id, _)| id.clone()).unwrap();
            assert_ne!(Some(&in_use), before.as_ref());
            if let Some(before) = before {
                assert!(now.contains(&(before.clone(), "previously_used".into())), "{now:?}");
            }
            signing.push(Some(in_use));
        }
        assert_eq!(scheduler.queue_due_rotations(revoke_at - 1000).await.unwrap(), 0);
        assert_eq!(scheduler.queue_due_rotations(revoke_at + 1000).await.unwrap(), 1);
        run_jobs(&a.world, &a.db, &format!("revoke-{round}"), &a.admin, &a.venture.id).await;
        let done = a.engine.rotations(&a.admin, &a.venture.id, Some(JWT)).await.unwrap().remove(0);
        assert_eq!(
            (done.id.as_str(), done.outcome, done.waiting_until),
            (rotation.id.as_str(), RotationOutcome::Succeeded, None)
        );
        for ((reference, before), now) in a.references.iter().zip(&previous).zip(&signing) {
            let keys = keys(reference);
            assert!(keys.contains(&(now.clone().unwrap(), "in_use".into())), "{keys:?}");
            match before {
                // The first round moved off the legacy secret: nothing of it was revoked.
                None => assert_eq!(keys.len(), 1, "{keys:?}"),
                Some(before) => assert!(keys.contains(&(before.clone(), "revoked".into())), "{keys:?}"),
            }
        }
        previous = signing;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_key_rotation_killed_at_each_phase_makes_one_key_and_revokes_the_previous_once() {
    const JWT: &str = "JWT_SIGNING_KEY";
    let a = applied("resumed-signing-shop").await;
    let keys = |reference: &str| signing_keys(&a.world, reference);
    // Runs the newest rotation to its end: its jobs, and the schedule's resumptions far ahead.
    let finish = async |round: &str| {
        for step in 0..6 {
            run_jobs(&a.world, &a.db, &format!("{round}-{step}"), &a.admin, &a.venture.id).await;
            let newest = a.engine.rotations(&a.admin, &a.venture.id, Some(JWT)).await.unwrap().remove(0);
            if newest.outcome != RotationOutcome::Running {
                return newest;
            }
            let scheduler = a.world.open_process(&a.db, &format!("{round}-scheduler-{step}")).await;
            scheduler.queue_due_rotations(slipway_engine::time::now_ms() + 3 * 3600 * 1000).await.unwrap();
        }
        panic!("the rotation did not end");
    };
    // First off the legacy secret, to have a previous key to revoke.
    a.engine.rotate_secret(&a.admin, &a.venture.id, JWT, &RotateRequest::default()).await.unwrap();
    assert_eq!(finish("first").await.outcome, RotationOutcome::Succeeded);
    let order = |p: Phase| Phase::ALL.iter().position(|q| *q == p).unwrap();
    for (instance, stop_at) in [Phase::Pending, Phase::Set, Phase::Deployed, Phase::Tested].into_iter().enumerate() {
        let before: Vec<String> =
            a.references.iter().map(|r| keys(r).into_iter().find(|(_, s)| s == "in_use").unwrap().0).collect();
        let engine = a.world.open_process(&a.db, &format!("doomed-{instance}")).await;
        let rotation = engine.rotate_secret(&a.admin, &a.venture.id, JWT, &RotateRequest::default()).await.unwrap();
        if stop_at != Phase::Pending {
            // Up to the phase before the kill, by the normal route.
            let scheduler = a.world.open_process(&a.db, &format!("early-{instance}")).await;
            for step in 0..4 {
                let newest = a.engine.rotations(&a.admin, &a.venture.id, Some(JWT)).await.unwrap().remove(0);
                if order(newest.phase) >= order(stop_at) - 1 {
                    break;
                }
                run_jobs(&a.world, &a.db, &format!("early-{instance}-{step}"), &a.admin, &a.venture.id).await;
                scheduler.queue_due_rotations(slipway_engine::time::now_ms() + 3 * 3600 * 1000).await.unwrap();
            }
        }
        let runner = engine.start_runner();
        wait_for("the phase", async || {
            let newest = engine.rotations(&a.admin, &a.venture.id, Some(JWT)).await.unwrap();
            order(newest[0].phase) >= order(stop_at) || !engine.has_active_job(&a.admin, &a.venture.id).await.unwrap()
        })
        .await;
        runner.abort();
        let _ = runner.await;
        drop(engine);
        let done = finish(&format!("resumed-{instance}")).await;
        assert_eq!((done.id.as_str(), done.outcome), (rotation.id.as_str(), RotationOutcome::Succeeded), "{stop_at:?}");
        for (reference, previous) in a.references.iter().zip(&before) {
            let now = keys(reference);
            let in_use: Vec<_> = now.iter().filter(|(_, s)| s == "in_use").collect();
            assert_eq!(in_use.len(), 1, "{stop_at:?} {now:?}");
            assert!(now.contains(&(previous.clone(), "revoked".into())), "{stop_at:?} {now:?}");
            assert!(!now.iter().any(|(_, s)| s == "standby" || s == "previously_used"), "one key made: {now:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_waits_for_no_apply_or_destroy_and_they_wait_for_it() {
    let a = applied("exclusive-shop").await;
    // An apply queued: the rotation is refused, naming it.
    a.engine.apply_venture(&a.creator, &a.venture.id).await.unwrap();
    let refused = a.engine.rotate_secret(&a.admin, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap_err();
    assert!(refused.to_string().contains("an apply under way"), "{refused}");
    let applying = a.world.open_process(&a.db, "applying").await;
    assert_eq!(settle(&applying, &a.creator, &a.venture.id).await, VentureStatus::Ready);

    // A rotation queued: the apply and the destroy are refused, naming it.
    let engine = a.world.open_process(&a.db, "p2").await;
    let rotation = engine.rotate_secret(&a.admin, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap();
    let apply = engine.apply_venture(&a.creator, &a.venture.id).await.unwrap_err();
    assert!(apply.to_string().contains("a secret rotation under way"), "{apply}");
    let destroy = engine.destroy_venture(&a.admin, &a.venture.id, "exclusive-shop").await.unwrap_err();
    assert!(destroy.to_string().contains("a secret rotation under way"), "{destroy}");
    let done = run_rotation(&a.world, &a.db, "runner", &a.admin, &a.venture.id).await;
    assert_eq!((done.id, done.outcome), (rotation.id, RotationOutcome::Succeeded));
    // Once it is over, the destroy goes ahead.
    let engine = a.world.open_process(&a.db, "p3").await;
    engine.destroy_venture(&a.admin, &a.venture.id, "exclusive-shop").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_at_each_phase_resumes_and_retires_the_old_key_only_after_the_new_one_is_live() {
    let a = applied("resumed-shop").await;
    let mut instance = 1;
    for stop_at in [Phase::Pending, Phase::Set, Phase::Deployed, Phase::Tested] {
        let old: Vec<_> = a.references.iter().map(|r| secret_keys(&a.world, r)).collect();
        let engine = a.world.open_process(&a.db, &format!("doomed-{instance}")).await;
        let rotation = engine.rotate_secret(&a.admin, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap();
        // The process dies as soon as the rotation records the phase (or a later one, should
        // a phase be recorded and left between two looks).
        let runner = engine.start_runner();
        let order = |p: Phase| Phase::ALL.iter().position(|q| *q == p).unwrap();
        let mut reached = Phase::Pending;
        wait_for("the phase", async || {
            let newest = engine.rotations(&a.admin, &a.venture.id, Some(SECRET)).await.unwrap();
            reached = newest[0].phase;
            let keys_made = a.references.iter().all(|r| secret_keys(&a.world, r).len() == 2);
            order(reached) > order(stop_at) || (reached == stop_at && (stop_at != Phase::Pending || keys_made))
        })
        .await;
        runner.abort();
        let _ = runner.await;
        drop(engine);
        // Up to the kill, the old key stayed valid (it is deleted only after the test passed).
        if order(reached) < order(Phase::Tested) {
            for (reference, before) in a.references.iter().zip(&old) {
                assert!(secret_keys(&a.world, reference).iter().any(|k| k.0 == before[0].0), "{reached:?}");
            }
        }
        instance += 1;
        let engine = a.world.open_process(&a.db, &format!("survivor-{instance}")).await;
        let done = run_rotation(&a.world, &a.db, &format!("runner-{instance}"), &a.admin, &a.venture.id).await;
        assert_eq!((done.id.as_str(), done.outcome), (rotation.id.as_str(), RotationOutcome::Succeeded), "{stop_at:?}");
        let new: Vec<_> = a.references.iter().map(|r| secret_keys(&a.world, r)).collect();
        for (before, after) in old.iter().zip(&new) {
            assert_eq!(after.len(), 1, "exactly one key left, made once: {stop_at:?} {after:?}");
            assert_ne!(after[0].0, before[0].0, "the old key is retired: {stop_at:?}");
        }
        assert_eq!(at_vercel(&a.world, &a.project, SECRET), (new[0][0].2.clone(), new[1][0].2.clone()));
        // Every sealed value opens, the rotation's own copies are gone, no value sits in a
        // text column, and the site serves.
        let names = engine.secret_names(&a.admin, &a.venture.id).await.unwrap();
        assert!(!names.iter().any(|n| n.starts_with("rotation/")), "{names:?}");
        assert!(engine.reseal_secrets().await.unwrap().unreadable.is_empty(), "{stop_at:?}");
        assert!(engine.leak_scan(&[]).await.unwrap().leaks.is_empty(), "{stop_at:?}");
        let site = "resumed-shop.vercel.app";
        assert_eq!(Visitor::new(&a.world, site).visit(site).await.0, 200);
        instance += 1;
    }
    let rotations = a.engine.rotations(&a.admin, &a.venture.id, None).await.unwrap();
    assert_eq!(rotations.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_rotation_killed_at_each_phase_resumes_with_the_password_it_sealed() {
    let a = applied("resumed-password-shop").await;
    let passwords = || database_passwords(&a);
    let accepted = RotateRequest { accept_connection_cut: true, ..RotateRequest::default() };
    for (instance, stop_at) in [Phase::Pending, Phase::Set, Phase::Deployed, Phase::Tested].into_iter().enumerate() {
        let old = passwords();
        let engine = a.world.open_process(&a.db, &format!("doomed-{instance}")).await;
        let rotation = engine.rotate_secret(&a.admin, &a.venture.id, PASSWORD, &accepted).await.unwrap();
        let runner = engine.start_runner();
        let order = |p: Phase| Phase::ALL.iter().position(|q| *q == p).unwrap();
        wait_for("the phase", async || {
            let newest = engine.rotations(&a.admin, &a.venture.id, Some(PASSWORD)).await.unwrap();
            order(newest[0].phase) >= order(stop_at)
        })
        .await;
        runner.abort();
        let _ = runner.await;
        drop(engine);
        let runner = format!("runner-{instance}");
        let done = run_rotation_of(&a.world, &a.db, &runner, &a.admin, &a.venture.id, PASSWORD).await;
        assert_eq!((done.id.as_str(), done.outcome), (rotation.id.as_str(), RotationOutcome::Succeeded), "{stop_at:?}");
        // Supabase, the vault's sync to Vercel and the new build agree on one new password.
        let new = passwords();
        assert!(new.iter().zip(&old).all(|(n, o)| n != o), "{stop_at:?}");
        assert_eq!(at_vercel(&a.world, &a.project, PASSWORD), (new[0].clone(), new[1].clone()), "{stop_at:?}");
        assert!(done.connections_cut_ms.is_some(), "{stop_at:?}");
        let engine = a.world.open_process(&a.db, &format!("survivor-{instance}")).await;
        let names = engine.secret_names(&a.admin, &a.venture.id).await.unwrap();
        assert!(!names.iter().any(|n| n.starts_with("rotation/")), "{names:?}");
        assert!(engine.leak_scan(&[]).await.unwrap().leaks.is_empty(), "{stop_at:?}");
        let site = "resumed-password-shop.vercel.app";
        assert_eq!(Visitor::new(&a.world, site).visit(site).await.0, 200, "{stop_at:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_secret_is_rotated_by_schedule_at_its_spread_moment_once_and_a_failure_waits_a_day() {
    let (_dir, db) = database();
    let world = World::with_token(FaultPlan::default(), "rotation-schedule").await;
    let engine = world.open_process(&db, "p1").await;
    let creator = creator(&engine).await;
    let mut spec = NewVenture::new("scheduled-shop", "acme/shop");
    spec.rotation.policies.insert("supabase-secret-key".into(), "1d".into());
    let venture = engine.create_venture(&creator, &spec).await.unwrap();
    assert_eq!(settle(&engine, &creator, &venture.id).await, VentureStatus::Ready);
    let mut never = NewVenture::new("never-shop", "acme/never");
    never.rotation.policies.insert("supabase-secret-key".into(), "never".into());
    let never = engine.create_venture(&creator, &never).await.unwrap();
    let engine = world.open_process(&db, "p2").await;
    assert_eq!(settle(&engine, &creator, &never.id).await, VentureStatus::Ready);

    let engine = world.open_process(&db, "p3").await;
    let status = engine.secret_rotation_status(&creator, &venture.id).await.unwrap();
    let secret = &status[0];
    let day = 24 * 3600 * 1000;
    assert_eq!((secret.secret.as_str(), secret.policy.as_str(), secret.rotated), (SECRET, "1d", false));
    let due = secret.due_at.unwrap();
    let at = secret.scheduled_at.unwrap();
    assert_eq!(due, secret.since + day);
    assert!((due..due + day).contains(&at), "spread within the day after it falls due");
    let never_status = engine.secret_rotation_status(&creator, &never.id).await.unwrap();
    assert_eq!((never_status[0].due_at, never_status[0].scheduled_at), (None, None));

    // Nothing before its moment; at it, one rotation, queued once however often one looks.
    assert_eq!(engine.queue_due_rotations(at - 1).await.unwrap(), 0);
    assert_eq!(engine.queue_due_rotations(at).await.unwrap(), 1);
    assert_eq!(engine.queue_due_rotations(at + day).await.unwrap(), 0, "one under way is not queued again");
    let done = run_rotation(&world, &db, "runner-1", &creator, &venture.id).await;
    assert_eq!(
        (done.cause.as_str(), done.requested_by.as_str(), done.outcome),
        ("schedule", "schedule", RotationOutcome::Succeeded)
    );
    let events = engine.venture_events(&creator, &venture.id, 0, 10_000).await.unwrap();
    assert!(
        events.iter().any(|e| e
            .message
            .contains("Scheduled rotation of scheduled-shop's SUPABASE_SECRET_KEY queued (policy 1d)"))
    );

    // Rotated now: the next one falls due a day after this one.
    let status = engine.secret_rotation_status(&creator, &venture.id).await.unwrap();
    assert!(status[0].rotated && status[0].since == done.finished_at.unwrap());
    assert_eq!(engine.queue_due_rotations(at).await.unwrap(), 0);
    assert!(status[0].scheduled_at.unwrap() >= status[0].since + day);

    // A rotation that rolls back is tried again a day after the failure, not at every look,
    // even past its moment (with no spread, the moment is exactly a day after the last one).
    let engine = world.open_process_tweaked(&db, "p4", vault(&world), |c| c.rotation.spread = Duration::ZERO).await;
    let next = engine.secret_rotation_status(&creator, &venture.id).await.unwrap()[0].scheduled_at.unwrap();
    assert_eq!(next, done.finished_at.unwrap() + day);
    world.vercel().fail_health_of_next_deployment();
    assert_eq!(engine.queue_due_rotations(next).await.unwrap(), 1);
    let failed = run_rotation(&world, &db, "runner-2", &creator, &venture.id).await;
    assert_eq!(failed.outcome, RotationOutcome::RolledBack);
    let failed_at = failed.finished_at.unwrap();
    assert!(failed_at + day - 1 > next);
    assert_eq!(engine.queue_due_rotations(failed_at + day - 1).await.unwrap(), 0, "not retried within the day");
    let retry = engine.secret_rotation_status(&creator, &venture.id).await.unwrap()[0].scheduled_at.unwrap();
    assert_eq!(retry, failed_at + day);
    assert_eq!(engine.queue_due_rotations(retry).await.unwrap(), 1);
    // The venture with `never` was never queued.
    assert!(engine.rotations(&creator, &never.id, None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_given_up_leaves_no_sealed_copy_and_the_next_one_retires_the_key_it_made() {
    let a = applied("given-up-shop").await;
    let old: Vec<_> = a.references.iter().map(|r| secret_keys(&a.world, r)).collect();
    // The staging project's key cannot be made (two attempts of three calls each): the
    // production key is made, then the job is given up.
    let path = format!("/v1/projects/{}/api-keys", a.references[1]);
    a.world.supabase().queue_faults_for("POST", &path, [Fault::ServerError(503); 6]);
    let queued = a.engine.rotate_secret(&a.admin, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap();
    let engine = a.world.open_process_tweaked(&a.db, "giving-up", vault(&a.world), |c| c.runner.max_attempts = 2).await;
    let runner = engine.start_runner();
    wait_for("the rotation to be given up", async || {
        let newest = engine.rotations(&a.admin, &a.venture.id, None).await.unwrap();
        newest[0].outcome == RotationOutcome::Failed && !engine.has_active_job(&a.admin, &a.venture.id).await.unwrap()
    })
    .await;
    engine.shutdown();
    runner.await.unwrap();
    let failed = engine.rotations(&a.admin, &a.venture.id, None).await.unwrap().remove(0);
    assert_eq!(failed.id, queued.id);
    let error = failed.error.unwrap();
    assert!(error.contains("gave up") && error.contains("both still valid"), "{error}");
    assert_eq!(secret_keys(&a.world, &a.references[0]).len(), 2, "the key it made is still there");
    let names = engine.secret_names(&a.admin, &a.venture.id).await.unwrap();
    assert!(!names.iter().any(|n| n.starts_with("rotation/")), "{names:?}");
    // The vault and Vercel still hold the old key, which works.
    assert_eq!(at_vercel(&a.world, &a.project, SECRET), (old[0][0].2.clone(), old[1][0].2.clone()));

    // The next rotation retires the old key and the one the given-up rotation made.
    engine.rotate_secret(&a.admin, &a.venture.id, SECRET, &RotateRequest::default()).await.unwrap();
    let done = run_rotation(&a.world, &a.db, "runner-2", &a.admin, &a.venture.id).await;
    assert_eq!(done.outcome, RotationOutcome::Succeeded);
    let new: Vec<_> = a.references.iter().map(|r| secret_keys(&a.world, r)).collect();
    for (before, after) in old.iter().zip(&new) {
        assert_eq!(after.len(), 1, "{after:?}");
        assert_ne!(after[0].0, before[0].0);
    }
    assert_eq!(at_vercel(&a.world, &a.project, SECRET), (new[0][0].2.clone(), new[1][0].2.clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_rotation_runs_and_the_schedule_reads_it() {
    let db = super::postgres::TestDatabase::create().await;
    let world = World::with_token(FaultPlan::default(), "rotation-postgres").await;
    let engine = world.open_process(&db.url, "pg-1").await;
    let creator = creator(&engine).await;
    let password = SecretString::from("an admin's long password");
    let admin = engine.create_user_unchecked("ada", &password, Role::Admin).await.unwrap();
    let venture = engine.create_venture(&creator, &NewVenture::new("pg-rotating", "acme/pg")).await.unwrap();
    assert_eq!(settle(&engine, &creator, &venture.id).await, VentureStatus::Ready);
    let engine = world.open_process(&db.url, "pg-2").await;
    engine.rotate_secret(&admin, &venture.id, SECRET, &RotateRequest::default()).await.unwrap();
    let status = engine.secret_rotation_status(&admin, &venture.id).await.unwrap();
    assert!(status[0].running, "a queued rotation is running");
    let done = run_rotation(&world, &db.url, "pg-3", &admin, &venture.id).await;
    assert_eq!(done.outcome, RotationOutcome::Succeeded);
    let status = engine.secret_rotation_status(&admin, &venture.id).await.unwrap();
    assert!(!status[0].running && status[0].rotated && status[0].since == done.finished_at.unwrap());
    assert_eq!(engine.queue_due_rotations(status[0].scheduled_at.unwrap() - 1).await.unwrap(), 0);
    assert_eq!(engine.queue_due_rotations(status[0].scheduled_at.unwrap()).await.unwrap(), 1);
}
