//! A venture's own environment variables: declared in the spec or set by a person, synced to
//! Vercel by diff (ownership by entry id, drift of each type, partial failure), seen by each
//! role as it may, revealed by admins with an audit line, versioned and rolled back.

use std::collections::BTreeMap;

use slipway_engine::EngineError;
use slipway_engine::auth::User;
use slipway_engine::engine::{EnvChange, EnvListing};
use slipway_engine::env::{EnvDeclaration, Environment};
use slipway_engine::provision::SyncState;

use super::support::*;

/// A spec declaring a generated secret, a plain flag, and a secret set later.
fn spec_with_env(name: &str) -> NewVenture {
    let mut spec = NewVenture::new(name, "acme/shop");
    let declare = |description: &str, secret: bool, generate: Option<&str>, value: Option<&str>| EnvDeclaration {
        description: description.into(),
        secret,
        generate: generate.map(str::to_string),
        value: value.map(str::to_string),
    };
    spec.env.insert("AUTH_SECRET".into(), declare("Auth.js session secret", true, Some("random-32"), None));
    spec.env.insert("FEATURE_CHECKOUT".into(), declare("Turns the new checkout on", false, None, Some("on")));
    spec.env.insert("STRIPE_SECRET_KEY".into(), declare("Stripe API key", true, None, None));
    spec
}

fn values(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<SecretString>> {
    pairs.iter().map(|(e, v)| (e.to_string(), v.map(SecretString::from))).collect()
}

/// A venture made from [`spec_with_env`] and provisioned, with what the tests use of it.
struct Provisioned {
    _dir: tempfile::TempDir,
    db: String,
    world: World,
    engine: Engine,
    user: User,
    venture: slipway_engine::venture::Venture,
    project: String,
}

async fn provisioned(name: &str) -> Provisioned {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &spec_with_env(name)).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let project = engine.venture(&user, &venture.id).await.unwrap().vercel_project_id.unwrap();
    Provisioned { _dir, db, world, engine, user, venture, project }
}

/// An admin (ada) and an operator (otto) beside the creator.
async fn admin_and_operator(engine: &Engine) -> (User, User) {
    let admin =
        engine.create_user_unchecked("ada", &SecretString::from("another long password"), Role::Admin).await.unwrap();
    let operator = engine
        .create_user_unchecked("otto", &SecretString::from("a third long password"), Role::Operator)
        .await
        .unwrap();
    (admin, operator)
}

/// Applies again in a fresh "process" (a settled engine's runner is stopped) until settled.
async fn apply_again(world: &World, db: &str, user: &User, id: &str, instance: &str) -> VentureStatus {
    let engine = world.open_process(db, instance).await;
    engine.apply_venture(user, id).await.unwrap();
    settle(&engine, user, id).await
}

fn state_of(listing: &EnvListing, key: &str, environment: Environment) -> Option<SyncState> {
    let var = listing.variables.iter().find(|v| v.key == key)?;
    var.values.iter().find(|v| v.environment == environment)?.sync.clone()
}

/// The Vercel calls on the project's variables since `seen`: (reads, writes).
fn env_calls(world: &World, seen: usize) -> (Vec<String>, Vec<String>) {
    let calls: Vec<_> = world.vercel().requests()[seen..].iter().filter(|r| r.path.contains("/env")).cloned().collect();
    let reads = calls.iter().filter(|r| r.method == "GET").map(|r| r.path.clone()).collect();
    (reads, writes(&calls))
}

#[tokio::test]
async fn declared_and_set_variables_sync_by_diff_and_a_converged_venture_reads_once() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &spec_with_env("env-shop")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let project = engine.venture(&user, &venture.id).await.unwrap().vercel_project_id.unwrap();

    let vars = world.vercel().env_vars(&project);
    let of = |key: &str| vars.iter().filter(|v| v["key"] == key).cloned().collect::<Vec<_>>();
    // A generated secret: a value of its own per environment, write-only but in development.
    let auth = of("AUTH_SECRET");
    assert_eq!(auth.len(), 4, "one entry per environment");
    let distinct: std::collections::BTreeSet<&str> = auth.iter().map(|v| v["value"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 4, "each environment gets its own generated value");
    for entry in &auth {
        let wanted = if entry["target"][0] == "development" { "encrypted" } else { "sensitive" };
        assert_eq!(entry["type"], wanted, "{entry}");
        assert!(entry["comment"].as_str().unwrap().starts_with("Auth.js session secret"));
    }
    assert!(of("FEATURE_CHECKOUT").iter().all(|v| v["value"] == "on" && v["type"] == "plain"));
    assert!(of("STRIPE_SECRET_KEY").is_empty(), "declared without a value: nothing to sync yet");

    // Two values set: one create call writes both, nothing is deleted.
    let change = EnvChange {
        values: values(&[("production", Some("sk_live_51abc")), ("preview", Some("sk_test_51abc"))]),
        ..EnvChange::default()
    };
    engine.put_env_var(&user, &venture.id, "STRIPE_SECRET_KEY", &change).await.unwrap();
    let seen = world.vercel().requests().len();
    assert_eq!(apply_again(&world, &db, &user, &venture.id, "p2").await, VentureStatus::Ready);
    let (reads, writes) = env_calls(&world, seen);
    assert_eq!(writes, [format!("POST /v10/projects/{project}/env")], "one batch for everything new");
    assert_eq!(reads.len(), 1, "{reads:?}");
    let stripe = world.vercel().env_vars(&project);
    let live = stripe.iter().find(|v| v["key"] == "STRIPE_SECRET_KEY" && v["target"][0] == "production").unwrap();
    assert_eq!((live["value"].as_str(), live["type"].as_str()), (Some("sk_live_51abc"), Some("sensitive")));

    // Converged: one read, no write.
    let seen = world.vercel().requests().len();
    assert_eq!(apply_again(&world, &db, &user, &venture.id, "p3").await, VentureStatus::Ready);
    let (reads, writes) = env_calls(&world, seen);
    assert_eq!((reads.len(), writes), (1, Vec::<String>::new()));
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    assert_eq!(listing.sync_error, None);
    for var in &listing.variables {
        for value in var.values.iter().filter(|v| v.set) {
            assert_eq!(value.sync, Some(SyncState::InSync), "{} {}", var.key, value.environment);
        }
    }

    // Removing a variable deletes exactly Slipway's entries of it, in one batch.
    engine.delete_env_var(&user, &venture.id, "STRIPE_SECRET_KEY").await.unwrap();
    let seen = world.vercel().requests().len();
    assert_eq!(apply_again(&world, &db, &user, &venture.id, "p4").await, VentureStatus::Ready);
    let (_, writes) = env_calls(&world, seen);
    assert_eq!(writes, [format!("DELETE /v1/projects/{project}/env")]);
    assert!(!world.vercel().env_vars(&project).iter().any(|v| v["key"] == "STRIPE_SECRET_KEY"));
}

#[tokio::test]
async fn drift_at_vercel_shows_for_each_type_and_the_next_apply_repairs_it() {
    let Provisioned { _dir, db, world, engine: _, user, venture, project } = provisioned("drift-shop").await;
    let id_of = |key: &str, target: &str| {
        let vars = world.vercel().env_vars(&project);
        let found = vars.iter().find(|v| v["key"] == key && v["target"][0] == target).unwrap();
        (found["id"].as_str().unwrap().to_string(), found["value"].as_str().unwrap().to_string())
    };
    // A readable value changed, a write-only one changed, one deleted.
    let (flag, _) = id_of("FEATURE_CHECKOUT", "production");
    world.vercel().edit_env_value(&project, &flag, "off");
    let (auth, auth_value) = id_of("AUTH_SECRET", "production");
    world.vercel().edit_env_value(&project, &auth, "overwritten-by-hand");
    let (preview_flag, _) = id_of("FEATURE_CHECKOUT", "preview");
    world.vercel().remove_env_var(&project, &preview_flag);

    let engine = world.open_process(&db, "p2").await;
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    let changed = Some(SyncState::Drifted("changed at Vercel".into()));
    assert_eq!(state_of(&listing, "FEATURE_CHECKOUT", Environment::Production), changed);
    assert_eq!(state_of(&listing, "AUTH_SECRET", Environment::Production), changed);
    let deleted = Some(SyncState::Drifted("deleted at Vercel".into()));
    assert_eq!(state_of(&listing, "FEATURE_CHECKOUT", Environment::Preview), deleted);
    assert_eq!(state_of(&listing, "AUTH_SECRET", Environment::Preview), Some(SyncState::InSync));
    let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
    let env_plan = plan.iter().find(|p| p.resource == "Environment variables").unwrap();
    assert!(env_plan.detail.contains("3 drifted at Vercel"), "{}", env_plan.detail);

    assert_eq!(apply_again(&world, &db, &user, &venture.id, "p3").await, VentureStatus::Ready);
    assert_eq!(id_of("FEATURE_CHECKOUT", "production").1, "on");
    assert_eq!(id_of("FEATURE_CHECKOUT", "preview").1, "on");
    assert_eq!(id_of("AUTH_SECRET", "production").1, auth_value, "the value Slipway holds is back");
    let engine = world.open_process(&db, "p4").await;
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    assert_eq!(state_of(&listing, "AUTH_SECRET", Environment::Production), Some(SyncState::InSync));
    assert_eq!(state_of(&listing, "FEATURE_CHECKOUT", Environment::Preview), Some(SyncState::InSync));
}

#[tokio::test]
async fn entries_slipway_does_not_own_are_never_touched_and_a_refusal_fails_only_its_variable() {
    let Provisioned { _dir, db, world, engine, user, venture, project } = provisioned("owned-shop").await;
    // Another integration's variable, and one in the way of a variable Slipway is asked for.
    let sentry =
        world.vercel().add_env_var(&project, "SENTRY_DSN", "production", "https://sentry.example/1", "encrypted");
    let in_the_way = world.vercel().add_env_var(&project, "ANALYTICS_ID", "production", "theirs", "encrypted");
    let plain = |description: &str, value: &str| EnvChange {
        description: Some(description.into()),
        values: values(&[("production", Some(value))]),
        ..EnvChange::default()
    };
    engine.put_env_var(&user, &venture.id, "ANALYTICS_ID", &plain("Analytics site id", "ours")).await.unwrap();
    let engine = world.open_process(&db, "p2").await;
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    match state_of(&listing, "ANALYTICS_ID", Environment::Production) {
        Some(SyncState::Blocked(why)) => assert!(why.contains(&in_the_way) && why.contains("not Slipway's"), "{why}"),
        other => panic!("expected blocked, got {other:?}"),
    }
    assert_eq!(apply_again(&world, &db, &user, &venture.id, "p3").await, VentureStatus::Failed);
    let vars = world.vercel().env_vars(&project);
    let theirs = |id: &str| vars.iter().find(|v| v["id"] == id).cloned();
    assert_eq!(theirs(&in_the_way).unwrap()["value"], "theirs", "left alone");
    assert_eq!(theirs(&sentry).unwrap()["value"], "https://sentry.example/1");

    // Once it is out of the way, one refusal inside Vercel's 201 fails only its variable.
    world.vercel().remove_env_var(&project, &in_the_way);
    world.vercel().refuse_env_key("PAYMENTS_WEBHOOK_SECRET", false);
    let secret = EnvChange {
        description: Some("Webhook signing secret".into()),
        secret: Some(true),
        values: values(&[("production", Some("whsec_123"))]),
        ..EnvChange::default()
    };
    engine.put_env_var(&user, &venture.id, "PAYMENTS_WEBHOOK_SECRET", &secret).await.unwrap();
    assert_eq!(apply_again(&world, &db, &user, &venture.id, "p4").await, VentureStatus::Failed);
    let vars = world.vercel().env_vars(&project);
    assert!(vars.iter().any(|v| v["key"] == "ANALYTICS_ID" && v["value"] == "ours"), "the others land");
    let engine = world.open_process(&db, "p5").await;
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    match state_of(&listing, "PAYMENTS_WEBHOOK_SECRET", Environment::Production) {
        Some(SyncState::Failed(why)) => assert!(why.contains("Additional permissions"), "{why}"),
        other => panic!("expected failed, got {other:?}"),
    }
    assert_eq!(state_of(&listing, "ANALYTICS_ID", Environment::Production), Some(SyncState::InSync));
    assert!(world.vercel().env_vars(&project).iter().any(|v| v["id"] == sentry.as_str()), "never touched");
}

#[tokio::test]
async fn each_role_sees_what_it_may_and_reveals_are_admin_only_and_audited() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let (admin, operator) = admin_and_operator(&engine).await;
    let venture = engine.create_venture(&user, &spec_with_env("roles-shop")).await.unwrap();
    let set = |value: &str| EnvChange { values: values(&[("production", Some(value))]), ..EnvChange::default() };
    engine.put_env_var(&user, &venture.id, "STRIPE_SECRET_KEY", &set("sk_live_first")).await.unwrap();
    engine.put_env_var(&user, &venture.id, "STRIPE_SECRET_KEY", &set("sk_live_second")).await.unwrap();

    let shown = |listing: &EnvListing, key: &str| {
        let var = listing.variables.iter().find(|v| v.key == key).unwrap();
        var.values.iter().find(|v| v.environment == Environment::Production).unwrap().value.clone()
    };
    let as_creator = engine.env_listing(&user, &venture.id).await.unwrap();
    assert_eq!(shown(&as_creator, "FEATURE_CHECKOUT").as_deref(), Some("on"), "creators read plain values");
    assert_eq!(shown(&as_creator, "STRIPE_SECRET_KEY"), None, "never a secret");
    let as_operator = engine.env_listing(&operator, &venture.id).await.unwrap();
    assert!(as_operator.variables.iter().flat_map(|v| &v.values).all(|v| v.value.is_none()), "operators see no value");
    assert!(matches!(
        engine.reveal_env_value(&user, &venture.id, "STRIPE_SECRET_KEY", "production").await,
        Err(EngineError::Forbidden { .. })
    ));
    assert!(matches!(
        engine.put_env_var(&operator, &venture.id, "STRIPE_SECRET_KEY", &set("x")).await,
        Err(EngineError::Forbidden { .. })
    ));

    let revealed = engine.reveal_env_value(&admin, &venture.id, "STRIPE_SECRET_KEY", "production").await.unwrap();
    assert_eq!(revealed.expose_secret(), "sk_live_second");
    let audit = engine.env_listing(&admin, &venture.id).await.unwrap().reveals;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].key.as_str(), audit[0].revealed_by.as_str(), audit[0].version),
        ("STRIPE_SECRET_KEY", "ada", 2)
    );
    assert!(engine.env_listing(&user, &venture.id).await.unwrap().reveals.is_empty(), "the audit is for admins");
    let log = engine.venture_events(&admin, &venture.id, 0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.message == "ada revealed STRIPE_SECRET_KEY (production)"));
    assert!(log.iter().all(|e| !e.message.contains("sk_live")), "no value in the log");

    // The history keeps who set each version; a rollback makes an old one current again.
    let history = engine.env_value_history(&user, &venture.id, "STRIPE_SECRET_KEY", "production").await.unwrap();
    assert_eq!(history.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
    assert!(history.iter().all(|v| v.set_by == "casey"));
    engine.rollback_env_value(&user, &venture.id, "STRIPE_SECRET_KEY", "production", 1).await.unwrap();
    let revealed = engine.reveal_env_value(&admin, &venture.id, "STRIPE_SECRET_KEY", "production").await.unwrap();
    assert_eq!(revealed.expose_secret(), "sk_live_first");
    let history = engine.env_value_history(&user, &venture.id, "STRIPE_SECRET_KEY", "production").await.unwrap();
    assert_eq!(history[0].version, 3);
}

#[tokio::test]
async fn bad_input_names_the_field_and_the_rule_and_writes_nothing() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let mut spec = NewVenture::new("strict-shop", "acme/shop");
    spec.environments.staging.enabled = false;
    let venture = engine.create_venture(&user, &spec).await.unwrap();
    let described = |values: BTreeMap<String, Option<SecretString>>| EnvChange {
        description: Some("A key".into()),
        values,
        ..EnvChange::default()
    };
    let big = "x".repeat(64 * 1024 + 1);
    let cases: Vec<(&str, EnvChange, &str, &str)> = vec![
        (
            "NEXT_PUBLIC_STRIPE_KEY",
            EnvChange { secret: Some(true), ..described(values(&[("production", Some("pk"))])) },
            "key",
            "browser bundle",
        ),
        (
            "NEW_FLAG",
            EnvChange { values: values(&[("production", Some("1"))]), ..EnvChange::default() },
            "description",
            "is required",
        ),
        ("NEW_FLAG", described(values(&[("qa", Some("1"))])), "values.qa", "must be one of"),
        ("NEW_FLAG", described(values(&[("staging", Some("1"))])), "values.staging", "staging is off"),
        (
            "NEW_FLAG",
            described(values(&[("production", Some(big.as_str()))])),
            "values.production",
            "at most 65536 bytes",
        ),
        ("TZ", described(values(&[("production", Some("UTC"))])), "key", "reserved"),
        ("POSTGRES_URL", described(values(&[("production", Some("x"))])), "key", "integration"),
        ("BAD-KEY", described(BTreeMap::new()), "key", "must match"),
    ];
    for (key, change, field, rule) in cases {
        match engine.put_env_var(&user, &venture.id, key, &change).await {
            Err(EngineError::Invalid(errors)) => {
                let error = errors.iter().find(|e| e.field == field).unwrap_or_else(|| panic!("{key}: {errors:?}"));
                assert!(error.message.contains(rule), "{key}: {}", error.message);
            }
            other => panic!("{key}: expected invalid, got {other:?}"),
        }
    }
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    assert!(listing.variables.iter().all(|v| v.source == slipway_engine::env::Source::Integration), "nothing written");
    assert!(!listing.environments.contains(&Environment::Staging));
    // An environment the venture does not have is absent, not malformed (a 404, not a 422).
    let pull = engine.env_pull(&user, &venture.id, "staging").await;
    assert!(matches!(pull, Err(EngineError::NotFound("staging environment"))), "{pull:?}");
    let redeploy = engine.redeploy(&user, &venture.id, "staging").await;
    assert!(matches!(redeploy, Err(EngineError::NotFound("staging environment"))), "{redeploy:?}");

    // A spec that declares a key twice is refused, not silently cut to one.
    let twice = r#"{"name": "twice", "repository": "acme/shop", "env": {
        "A_KEY": {"description": "first"}, "A_KEY": {"description": "second"}}}"#;
    let err = serde_json::from_str::<NewVenture>(twice).unwrap_err().to_string();
    assert!(err.contains("A_KEY is declared twice"), "{err}");
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_is_adopted_not_blocked_or_duplicated() {
    let Provisioned { _dir, db, world, engine, user, venture, project } = provisioned("lost-shop").await;
    let change = EnvChange { values: values(&[("production", Some("sk_live_lost"))]), ..EnvChange::default() };
    engine.put_env_var(&user, &venture.id, "STRIPE_SECRET_KEY", &change).await.unwrap();
    // Every attempt of the step's create takes effect, and none of its answers arrives.
    let lost = Fault::Dropped { handled: true };
    world.vercel().queue_faults_for("POST", "/v10/projects/*/env", [lost, lost, lost]);
    assert_eq!(apply_again(&world, &db, &user, &venture.id, "p2").await, VentureStatus::Ready);
    let vars = world.vercel().env_vars(&project);
    let stripe: Vec<_> = vars.iter().filter(|v| v["key"] == "STRIPE_SECRET_KEY").collect();
    assert_eq!(stripe.len(), 1, "made once: {stripe:?}");
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    assert_eq!(state_of(&listing, "STRIPE_SECRET_KEY", Environment::Production), Some(SyncState::InSync));
}

#[tokio::test]
async fn a_value_a_platform_echoes_in_an_error_is_stored_redacted() {
    let Provisioned { _dir, db, world, engine, user, venture, .. } = provisioned("echo-shop").await;
    let value = "whsec_echoed_by_the_platform_42";
    world.vercel().refuse_env_key("PAYMENTS_WEBHOOK_SECRET", true);
    let change = EnvChange {
        description: Some("Webhook signing secret".into()),
        secret: Some(true),
        values: values(&[("production", Some(value))]),
        ..EnvChange::default()
    };
    engine.put_env_var(&user, &venture.id, "PAYMENTS_WEBHOOK_SECRET", &change).await.unwrap();
    assert_eq!(apply_again(&world, &db, &user, &venture.id, "p2").await, VentureStatus::Failed);
    let refusal = world.vercel().requests().iter().any(|r| r.path.ends_with("/env") && r.method == "POST");
    assert!(refusal, "the write was sent and refused");

    let engine = world.open_process(&db, "p3").await;
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    match state_of(&listing, "PAYMENTS_WEBHOOK_SECRET", Environment::Production) {
        Some(SyncState::Failed(why)) => {
            assert!(why.contains("[redacted]") && !why.contains(value), "{why}");
        }
        other => panic!("expected failed, got {other:?}"),
    }
    let log = engine.venture_events(&user, &venture.id, 0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.message.contains("[redacted]")), "the refusal is in the log, scrubbed");
    assert!(log.iter().all(|e| !e.message.contains(value)), "{log:#?}");
}

#[tokio::test]
async fn a_pull_hands_each_role_what_it_may_keeps_production_secrets_in_production_and_is_audited() {
    let p = provisioned("pull-shop").await;
    let (engine, user, id) = (&p.engine, &p.user, p.venture.id.as_str());
    let (admin, operator) = admin_and_operator(engine).await;
    let change = EnvChange {
        values: values(&[("development", Some("sk_test_local")), ("production", Some("sk_live_pull"))]),
        ..EnvChange::default()
    };
    engine.put_env_var(user, id, "STRIPE_SECRET_KEY", &change).await.unwrap();
    let value = |pull: &slipway_engine::engine::EnvPull, key: &str| {
        let var = pull.variables.iter().find(|v| v.key == key).unwrap_or_else(|| panic!("{key} listed"));
        (var.value.as_ref().map(|v| v.expose_secret().to_string()), var.withheld.clone())
    };

    // A creator's development pull: the venture's own secrets of development, plain values,
    // and the integration's values, which are the staging project's (tests/engine/isolation.rs).
    let development = engine.env_pull(user, id, "development").await.unwrap();
    assert_eq!(value(&development, "STRIPE_SECRET_KEY").0.as_deref(), Some("sk_test_local"));
    assert_eq!(value(&development, "FEATURE_CHECKOUT").0.as_deref(), Some("on"));
    assert!(value(&development, "AUTH_SECRET").0.is_some_and(|v| v.len() >= 43), "generated");
    assert!(value(&development, "NEXT_PUBLIC_SUPABASE_URL").0.is_some());
    assert!(value(&development, "SUPABASE_SERVICE_ROLE_KEY").0.is_some());
    assert!(value(&development, "POSTGRES_PASSWORD").0.is_some());

    // Production: a creator gets plain values only; an admin who names it gets everything.
    let as_creator = engine.env_pull(user, id, "production").await.unwrap();
    let (stripe, why) = value(&as_creator, "STRIPE_SECRET_KEY");
    assert!(stripe.is_none() && why.unwrap().contains("only an admin"));
    let (service_key, why) = value(&as_creator, "SUPABASE_SERVICE_ROLE_KEY");
    assert!(service_key.is_none() && why.unwrap().contains("production database: only an admin"));
    let as_admin = engine.env_pull(&admin, id, "production").await.unwrap();
    assert_eq!(value(&as_admin, "STRIPE_SECRET_KEY").0.as_deref(), Some("sk_live_pull"));
    assert!(value(&as_admin, "SUPABASE_SERVICE_ROLE_KEY").0.is_some());
    assert_eq!(value(&as_admin, "STRIPE_SECRET_KEY").1, None);
    let preview = engine.env_pull(&admin, id, "preview").await.unwrap();
    assert_eq!(value(&preview, "STRIPE_SECRET_KEY").1.as_deref(), Some("not set for preview"));

    assert!(matches!(engine.env_pull(&operator, id, "development").await, Err(EngineError::Forbidden { .. })));
    let staging = engine.env_pull(user, id, "staging").await.unwrap();
    assert_eq!(value(&staging, "AUTH_SECRET").1.as_deref(), Some("a secret of staging: only an admin pulls it"));
    assert_eq!(value(&staging, "FEATURE_CHECKOUT").0.as_deref(), Some("on"));
    match engine.env_pull(user, id, "qa").await {
        Err(EngineError::Invalid(errors)) => assert_eq!(errors[0].field, "environment"),
        other => panic!("no such environment: {other:?}"),
    }

    // Every secret handed out is in the audit list, marked as pulled, and in the log by name.
    let audit = engine.env_listing(&admin, id).await.unwrap().reveals;
    let pulled: Vec<(String, Environment, String)> = audit
        .iter()
        .filter(|r| r.via == slipway_engine::env::Disclosure::Pull)
        .map(|r| (r.key.clone(), r.environment, r.revealed_by.clone()))
        .collect();
    assert!(pulled.contains(&("STRIPE_SECRET_KEY".into(), Environment::Development, "casey".into())));
    assert!(pulled.contains(&("AUTH_SECRET".into(), Environment::Development, "casey".into())));
    assert!(pulled.contains(&("SUPABASE_SERVICE_ROLE_KEY".into(), Environment::Production, "ada".into())));
    assert!(
        !pulled.iter().any(|(k, e, by)| k == "STRIPE_SECRET_KEY" && *e == Environment::Production && by == "casey")
    );
    let log = engine.venture_events(&admin, id, 0, 1000).await.unwrap();
    let pulls: Vec<&str> = log.iter().filter(|e| e.message.contains(" pulled ")).map(|e| e.message.as_str()).collect();
    let development_pull = "casey pulled development with 8 secrets (POSTGRES_URL, POSTGRES_PRISMA_URL, \
        POSTGRES_URL_NON_POOLING, POSTGRES_PASSWORD, SUPABASE_SERVICE_ROLE_KEY, SUPABASE_SECRET_KEY, AUTH_SECRET, \
        STRIPE_SECRET_KEY)";
    assert!(pulls.contains(&development_pull), "{pulls:?}");
    assert!(pulls.contains(&"casey pulled production (no secrets)"), "{pulls:?}");
}

/// The bodies of the deployments created at Vercel since `seen`.
fn deployments_created(world: &World, seen: usize) -> Vec<serde_json::Value> {
    let requests = world.vercel().requests();
    requests[seen..]
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v13/deployments")
        .filter_map(|r| r.body.clone())
        .collect()
}

/// Runs the queued `job` in a fresh process until it succeeds or fails.
async fn finish_job(world: &World, db: &str, user: &User, id: &str, job: &str) -> slipway_engine::engine::JobState {
    let engine = world.open_process(db, "runner").await;
    let runner = engine.start_runner();
    let mut state = None;
    wait_for("the job to finish", async || {
        let now = engine.venture_job(user, id, job).await.unwrap();
        let finished = matches!(now.status.as_str(), "succeeded" | "failed");
        state = Some(now);
        finished
    })
    .await;
    engine.shutdown();
    runner.await.unwrap();
    state.unwrap()
}

#[tokio::test]
async fn a_sync_writes_only_the_variables_and_a_redeploy_builds_production_or_staging_with_them() {
    let p = provisioned("redeploy-shop").await;
    let (engine, user, id) = (&p.engine, &p.user, p.venture.id.as_str());
    let change = EnvChange { values: values(&[("production", Some("off"))]), ..EnvChange::default() };
    engine.put_env_var(user, id, "FEATURE_CHECKOUT", &change).await.unwrap();

    // The sync: one write for the changed variable, no deployment, the status untouched.
    let seen = p.world.vercel().requests().len();
    let job = engine.sync_env(user, id).await.unwrap();
    assert_eq!(engine.sync_env(user, id).await.unwrap(), job, "asked twice, it is the same job");
    assert_eq!(finish_job(&p.world, &p.db, user, id, &job).await.status, "succeeded");
    let (_, env_writes) = env_calls(&p.world, seen);
    assert_eq!(env_writes.len(), 1, "{env_writes:?}");
    let calls = p.world.vercel().requests()[seen..].to_vec();
    assert!(!calls.iter().any(|r| r.path.contains("/deployments")), "a sync deploys nothing");
    let listing = engine.env_listing(user, id).await.unwrap();
    assert_eq!(state_of(&listing, "FEATURE_CHECKOUT", Environment::Production), Some(SyncState::InSync));
    assert_eq!(engine.venture(user, id).await.unwrap().status, VentureStatus::Ready);

    // Production is rebuilt from its running deployment, which the record then follows.
    let recorded = async || {
        let resources = engine.venture_resources(user, id).await.unwrap();
        resources.into_iter().find(|(kind, _)| kind == "vercel_deployment").and_then(|(_, r)| r.external_id).unwrap()
    };
    let running = recorded().await;
    let seen = p.world.vercel().requests().len();
    let job = engine.redeploy(user, id, "production").await.unwrap();
    assert_eq!(finish_job(&p.world, &p.db, user, id, &job).await.status, "succeeded");
    let created = deployments_created(&p.world, seen);
    assert_eq!(created.len(), 1);
    assert_eq!(
        (created[0]["deploymentId"].as_str(), created[0]["target"].as_str()),
        (Some(running.as_str()), Some("production"))
    );
    assert_ne!(recorded().await, running, "the new deployment is the one recorded");

    // Staging is built from its branch into the staging environment.
    let seen = p.world.vercel().requests().len();
    let job = engine.redeploy(user, id, "staging").await.unwrap();
    assert_eq!(finish_job(&p.world, &p.db, user, id, &job).await.status, "succeeded");
    let created = deployments_created(&p.world, seen);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["gitSource"]["ref"], "staging");
    assert!(created[0]["customEnvironmentSlugOrId"].as_str().is_some_and(|e| !e.is_empty()), "{}", created[0]);
    let log = engine.venture_events(user, id, 0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.message.starts_with("Staging is live at https://")), "{log:?}");

    // The overview still shows the apply's steps, all done.
    assert!(engine.venture_steps(user, id).await.unwrap().iter().all(|s| s.status == "done"));
    match engine.redeploy(user, id, "preview").await {
        Err(EngineError::Invalid(errors)) => {
            assert_eq!(errors[0].field, "environment");
            assert!(errors[0].message.contains("no running deployment"), "{}", errors[0].message);
        }
        other => panic!("previews deploy per pull request: {other:?}"),
    }
    let (_, operator) = admin_and_operator(engine).await;
    assert!(matches!(engine.redeploy(&operator, id, "production").await, Err(EngineError::Forbidden { .. })));
    assert!(matches!(engine.sync_env(&operator, id).await, Err(EngineError::Forbidden { .. })));
}

#[tokio::test]
async fn the_leak_scan_finds_a_sealed_value_in_any_form_in_texts_and_database_rows_and_names_only_the_place() {
    let p = provisioned("leaky-shop").await;
    let (engine, user, id) = (&p.engine, &p.user, p.venture.id.as_str());
    let secret = "sk_live/leak+scan=0123456789";
    let change = EnvChange { values: values(&[("production", Some(secret))]), ..EnvChange::default() };
    engine.put_env_var(user, id, "STRIPE_SECRET_KEY", &change).await.unwrap();

    // A plain variable's value is shown on purpose: not a leak.
    let plain = EnvChange {
        description: Some("Which checkout the shop shows".into()),
        values: values(&[("production", Some("embedded-checkout-v2"))]),
        ..EnvChange::default()
    };
    engine.put_env_var(user, id, "CHECKOUT_MODE", &plain).await.unwrap();
    let page = "all quiet\n<td>embedded-checkout-v2</td>\n".to_string();
    let clean = engine.leak_scan(&[("server.log".into(), page)]).await.unwrap();
    assert!(clean.leaks.is_empty(), "{:?}", clean.leaks);
    assert!(clean.cells > 50, "the database is scanned: {} cells", clean.cells);

    // A percent-encoded copy in a log line, and a plain one written into a row by a careless
    // path (here: straight into the store, as no Slipway path does).
    let encoded = "sk_live%2Fleak%2Bscan%3D0123456789";
    let log = format!("started\nGET /callback?key={encoded} 200\n");
    let store = slipway_engine::store::Store::open(&p.db).await.unwrap();
    store.set_resource(id, "careless", None, &serde_json::json!({ "copied": secret })).await.unwrap();
    let found = engine.leak_scan(&[("server.log".into(), log)]).await.unwrap();
    let places: Vec<(String, usize)> = found.leaks.iter().map(|l| (l.source.clone(), l.line)).collect();
    assert!(places.contains(&("server.log".into(), 2)), "{places:?}");
    assert!(places.iter().any(|(source, _)| source == "db:venture_resources.data"), "{places:?}");
    assert!(
        found.leaks.iter().all(|l| !l.excerpt.contains(secret) && !l.excerpt.contains(encoded)),
        "{:?}",
        found.leaks
    );
    assert!(found.leaks.iter().all(|l| l.excerpt.contains("[redacted]")));
}
