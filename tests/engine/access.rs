//! Who may act on which venture, and the audit log of what was destroyed, disclosed or handed
//! out: creators change only their own ventures, admins all, operators none; every refusal
//! names the rule, and nothing is done.

use std::collections::BTreeMap;

use slipway_engine::EngineError;
use slipway_engine::auth::User;
use slipway_engine::engine::{AuditEntry, EnvChange};

use super::support::*;

const PASSWORD: &str = "a long enough password";

async fn user(engine: &Engine, name: &str, role: Role) -> User {
    engine.create_user_unchecked(name, &SecretString::from(PASSWORD), role).await.unwrap()
}

fn secret(value: &str) -> EnvChange {
    EnvChange {
        description: Some("Payments key".into()),
        secret: Some(true),
        values: BTreeMap::from([("production".to_string(), Some(SecretString::from(value)))]),
        ..EnvChange::default()
    }
}

/// Asserts a refusal because the venture is someone else's, naming both.
fn not_yours<T: std::fmt::Debug>(result: Result<T, EngineError>, venture: &str, owner: &str) {
    match result {
        Err(err @ EngineError::NotYours { .. }) => {
            let message = err.to_string();
            assert!(message.starts_with(&format!("{venture} was created by {owner}: a creator may ")), "{message}");
            assert_eq!(err.code(), slipway_engine::ErrorCode::Forbidden);
        }
        other => panic!("expected a refusal of another's venture, got {other:?}"),
    }
}

fn actions(log: &[AuditEntry]) -> Vec<(&str, &str, &str)> {
    log.iter().map(|e| (e.action.as_str(), e.actor.as_str(), e.target.as_str())).collect()
}

#[tokio::test]
async fn creators_change_only_their_own_ventures_admins_all_operators_none() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let (casey, dana) = (user(&engine, "casey", Role::Creator).await, user(&engine, "dana", Role::Creator).await);
    let (ada, otto) = (user(&engine, "ada", Role::Admin).await, user(&engine, "otto", Role::Operator).await);
    let theirs = engine.create_venture(&ada, &NewVenture::new("admins-shop", "acme/admins")).await.unwrap();
    let own = engine.create_venture(&casey, &NewVenture::new("caseys-shop", "acme/caseys")).await.unwrap();
    assert_eq!((theirs.created_by.as_str(), own.created_by.as_str()), ("ada", "casey"));
    assert!(casey.may_change(&own) && !casey.may_change(&theirs) && !dana.may_change(&own));
    assert!(ada.may_change(&own) && !otto.may_change(&own));

    // Another's venture: every change is refused by name, and nothing is queued or stored.
    not_yours(engine.apply_venture(&casey, &theirs.id).await, "admins-shop", "ada");
    not_yours(engine.destroy_venture(&casey, &theirs.id, "admins-shop").await, "admins-shop", "ada");
    not_yours(engine.put_env_var(&casey, &theirs.id, "STRIPE_KEY", &secret("sk_1")).await, "admins-shop", "ada");
    not_yours(engine.sync_env(&casey, &theirs.id).await, "admins-shop", "ada");
    not_yours(engine.redeploy(&casey, &theirs.id, "production").await, "admins-shop", "ada");
    not_yours(engine.env_pull(&casey, &theirs.id, "development").await, "admins-shop", "ada");
    not_yours(engine.set_venture_domain(&casey, &theirs.id, None).await, "admins-shop", "ada");
    not_yours(engine.lint_venture(&dana, &own.id).await, "caseys-shop", "casey");
    let refused = engine.set_sign_in_secret(&dana, &own.id, "github", false, &SecretString::from("gh-secret")).await;
    not_yours(refused, "caseys-shop", "casey");
    assert!(engine.env_listing(&ada, &theirs.id).await.unwrap().variables.iter().all(|v| v.key != "STRIPE_KEY"));
    // Reading stays open: the log, the plan, the variables' names.
    engine.venture_events(&casey, &theirs.id, 0, 10).await.unwrap();
    engine.env_listing(&casey, &theirs.id).await.unwrap();

    // Operators change nothing, by role.
    assert!(matches!(engine.apply_venture(&otto, &own.id).await, Err(EngineError::Forbidden { .. })));
    // Their own, and an admin on anyone's, go through.
    engine.put_env_var(&casey, &own.id, "STRIPE_KEY", &secret("sk_casey")).await.unwrap();
    engine.put_env_var(&ada, &own.id, "STRIPE_KEY", &secret("sk_by_admin")).await.unwrap();
    engine.destroy_venture(&casey, &own.id, "caseys-shop").await.unwrap();
    engine.destroy_venture(&ada, &theirs.id, "admins-shop").await.unwrap();
}

#[tokio::test]
async fn destroys_disclosures_secrets_users_tokens_and_failed_sign_ins_are_audited_without_values() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let casey = user(&engine, "casey", Role::Creator).await;
    let ada = user(&engine, "ada", Role::Admin).await;
    engine.create_api_token_unchecked("casey", "generator", Role::Creator).await.unwrap();
    let venture = engine.create_venture(&casey, &NewVenture::new("audited-shop", "acme/audited")).await.unwrap();
    engine.put_env_var(&casey, &venture.id, "STRIPE_KEY", &secret("sk_live_audited_1")).await.unwrap();
    let revealed = engine.reveal_env_value(&ada, &venture.id, "STRIPE_KEY", "production").await.unwrap();
    assert_eq!(revealed.expose_secret(), "sk_live_audited_1");
    engine.put_env_var(&casey, &venture.id, "STRIPE_KEY", &secret("sk_live_audited_2")).await.unwrap();
    engine.rollback_env_value(&casey, &venture.id, "STRIPE_KEY", "production", 1).await.unwrap();
    let pulled = engine.env_pull(&ada, &venture.id, "production").await.unwrap();
    assert!(pulled.variables.iter().any(|v| v.key == "STRIPE_KEY" && v.value.is_some()));
    assert!(engine.login("casey", &SecretString::from("not the password at all"), "").await.is_err());
    assert!(engine.login("nobody-here", &SecretString::from("a guess of a password"), "").await.is_err());
    engine.destroy_venture(&casey, &venture.id, "audited-shop").await.unwrap();

    let log = engine.audit_log(&ada, None, 100).await.unwrap();
    assert_eq!(
        actions(&log),
        [
            ("venture.destroy", "casey", "audited-shop"),
            ("login.failed", "nobody-here", "nobody-here"),
            ("login.failed", "casey", "casey"),
            ("secret.pull", "ada", "audited-shop (production)"),
            ("env.rollback", "casey", "audited-shop/STRIPE_KEY (production)"),
            ("secret.set", "casey", "audited-shop/STRIPE_KEY"),
            ("secret.reveal", "ada", "audited-shop/STRIPE_KEY (production)"),
            ("secret.set", "casey", "audited-shop/STRIPE_KEY"),
            ("token.create", "(command line)", "casey"),
            ("user.create", "(command line)", "ada"),
            ("user.create", "(command line)", "casey"),
        ],
        "{log:#?}"
    );
    assert_eq!(
        (log[1].detail.as_str(), log[2].detail.as_str()),
        ("no such user (1 in a row)", "wrong password (1 in a row)")
    );
    assert_eq!(log[3].detail, "STRIPE_KEY");
    let text = format!("{log:?}");
    for value in ["sk_live_audited", "not the password", "a guess of a password", PASSWORD] {
        assert!(!text.contains(value), "{value} in the audit log");
    }

    // Pages, newest first; admins only; a limit in range.
    let first = engine.audit_log(&ada, None, 4).await.unwrap();
    let rest = engine.audit_log(&ada, Some(&first[3].id), 100).await.unwrap();
    assert_eq!(first.len() + rest.len(), log.len());
    assert_eq!(rest[0], log[4]);
    assert!(matches!(engine.audit_log(&casey, None, 10).await, Err(EngineError::Forbidden { .. })));
    match engine.audit_log(&ada, None, 0).await {
        Err(EngineError::Invalid(errors)) => assert_eq!(errors[0].field, "limit"),
        other => panic!("a limit of 0 must be refused: {other:?}"),
    }
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_name_and_address_on_every_instance_and_cost_the_same_hash() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    user(&engine, "casey", Role::Creator).await;
    user(&engine, "dana", Role::Creator).await;
    let wrong = SecretString::from("not casey's password");
    let right = SecretString::from(PASSWORD);
    let refused = |result: Result<_, EngineError>| match result {
        Err(EngineError::TooManyAttempts { retry_after }) => retry_after,
        other => panic!("expected a wait, got {other:?}"),
    };

    // An unknown name and a wrong password each cost one password hash: the time cannot tell.
    let before = engine.password_checks();
    assert!(matches!(engine.login("nobody", &wrong, "10.0.0.9").await, Err(EngineError::Unauthenticated)));
    assert_eq!(engine.password_checks(), before + 1);
    assert!(matches!(engine.login("casey", &wrong, "10.0.0.9").await, Err(EngineError::Unauthenticated)));
    assert_eq!(engine.password_checks(), before + 2);
    engine.login("casey", &right, "10.0.0.9").await.unwrap();

    // Three typos are free; the fourth failure in a row makes the name wait, then longer.
    for _ in 0..4 {
        assert!(matches!(engine.login("casey", &wrong, "10.0.0.1").await, Err(EngineError::Unauthenticated)));
    }
    let checks = engine.password_checks();
    let wait = refused(engine.login("casey", &right, "10.0.0.2").await);
    assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO, "{wait:?}");
    assert_eq!(engine.password_checks(), checks, "a refused attempt checks no password");
    // The address waits too, whichever name it tries; another address and name do not.
    refused(engine.login("dana", &right, "10.0.0.1").await);
    engine.login("dana", &right, "10.0.0.3").await.unwrap();
    // Another instance on the same database sees the same wait.
    let other = world.open_process(&db, "p2").await;
    refused(other.login("Casey", &right, "10.0.0.4").await);

    // Once the wait is over the right password works, and forgives the name and the address.
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    assert!(matches!(engine.login("casey", &wrong, "10.0.0.1").await, Err(EngineError::Unauthenticated)));
    let longer = refused(engine.login("casey", &right, "10.0.0.1").await);
    assert!(longer > Duration::from_secs(1) && longer <= Duration::from_secs(2), "the fifth waits 2 s: {longer:?}");
    tokio::time::sleep(longer + Duration::from_millis(50)).await;
    engine.login("casey", &right, "10.0.0.1").await.unwrap();
    for _ in 0..3 {
        assert!(matches!(engine.login("casey", &wrong, "10.0.0.1").await, Err(EngineError::Unauthenticated)));
    }
    engine.login("casey", &right, "10.0.0.1").await.unwrap();

    let delays: Vec<u64> = (1..=16).map(|n| slipway_engine::engine::login_delay(n).as_secs()).collect();
    assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
}

#[tokio::test]
async fn admins_change_roles_disable_users_reset_passwords_and_revoke_tokens_refused_at_once_on_every_instance() {
    let database = super::postgres::TestDatabase::create().await;
    let world = World::new(FaultPlan::default()).await;
    let (one, two) = (world.open_process(&database.url, "i1").await, world.open_process(&database.url, "i2").await);
    let ada = user(&one, "ada", Role::Admin).await;
    let casey = user(&one, "casey", Role::Creator).await;
    let otto = user(&one, "otto", Role::Operator).await;
    let signed_in = |engine: Engine, password: &'static str| async move {
        engine.login("casey", &SecretString::from(password), "").await.map(|(_, session)| session)
    };
    let session = signed_in(one.clone(), PASSWORD).await.unwrap();
    let token = one.create_api_token_for("casey", "generator", Role::Creator, Some(30)).await.unwrap();
    assert_eq!(two.authenticate_api_token(&token).await.unwrap().role, Role::Creator);

    // Tokens: listed without the token, with their expiry and last use; lifetimes bounded.
    let listed = two.list_api_tokens(&ada, Some("casey")).await.unwrap();
    assert_eq!(listed.len(), 1);
    let expires_in = listed[0].expires_at.unwrap() - listed[0].created_at;
    assert_eq!(expires_in, 30 * 24 * 3600 * 1000);
    assert!(listed[0].last_used_at.is_some(), "the use above is recorded");
    for days in [0, 366] {
        match one.create_api_token_for("casey", "x", Role::Creator, Some(days)).await {
            Err(EngineError::Invalid(errors)) => assert_eq!(errors[0].field, "expires_in_days"),
            other => panic!("{days} days must be refused: {other:?}"),
        }
    }
    let default = one.create_api_token_unchecked("otto", "watcher", Role::Operator).await.unwrap();
    let otto_tokens = one.list_api_tokens(&otto, None).await.unwrap();
    assert_eq!(otto_tokens.len(), 1, "a non-admin sees only their own");
    assert_eq!(otto_tokens[0].expires_at.unwrap() - otto_tokens[0].created_at, 90 * 24 * 3600 * 1000);
    assert!(matches!(one.list_api_tokens(&otto, Some("casey")).await, Err(EngineError::Forbidden { .. })));
    assert!(matches!(one.revoke_api_token(&otto, &listed[0].id).await, Err(EngineError::Forbidden { .. })));

    // A role change caps the token at once; the last admin keeps the role.
    one.set_user_role(&ada, "casey", Role::Operator).await.unwrap();
    assert_eq!(two.authenticate_api_token(&token).await.unwrap().role, Role::Operator);
    one.set_user_role(&ada, "casey", Role::Creator).await.unwrap();
    match one.set_user_role(&ada, "ada", Role::Creator).await {
        Err(EngineError::Invalid(errors)) => {
            assert_eq!(errors[0].message, "the last active admin keeps the admin role")
        }
        other => panic!("the last admin must stay one: {other:?}"),
    }
    assert!(matches!(one.set_user_role(&casey, "otto", Role::Admin).await, Err(EngineError::Forbidden { .. })));

    // Disabled: the session, the token and the right password are refused on both instances.
    one.set_user_disabled(&ada, "casey", true).await.unwrap();
    assert!(matches!(two.authenticate(&session).await, Err(EngineError::Unauthenticated)));
    assert!(matches!(two.authenticate_api_token(&token).await, Err(EngineError::Unauthenticated)));
    assert!(matches!(signed_in(two.clone(), PASSWORD).await, Err(EngineError::Unauthenticated)));
    assert!(one.set_user_disabled(&ada, "ada", true).await.is_err(), "nobody disables themselves");
    let users = two.list_users(&ada).await.unwrap();
    let state: Vec<(&str, bool)> = users.iter().map(|u| (u.user.username.as_str(), u.disabled_at.is_some())).collect();
    assert_eq!(state, [("ada", false), ("casey", true), ("otto", false)]);
    one.set_user_disabled(&ada, "casey", false).await.unwrap();
    assert_eq!(two.authenticate_api_token(&token).await.unwrap().username, "casey", "enabled, the token works again");

    // A new password ends every session; the old one no longer signs in.
    let session = signed_in(two.clone(), PASSWORD).await.unwrap();
    one.reset_password(&ada, "casey", &SecretString::from("a brand new password")).await.unwrap();
    assert!(matches!(two.authenticate(&session).await, Err(EngineError::Unauthenticated)));
    assert!(signed_in(two.clone(), PASSWORD).await.is_err());
    signed_in(two.clone(), "a brand new password").await.unwrap();
    match one.reset_password(&ada, "casey", &SecretString::from("short")).await {
        Err(EngineError::Invalid(errors)) => assert_eq!(errors[0].field, "password"),
        other => panic!("a short password must be refused: {other:?}"),
    }

    // Revoked on one instance: refused on the other at once; revoking twice is quiet.
    one.revoke_api_token(&ada, &listed[0].id).await.unwrap();
    assert!(matches!(two.authenticate_api_token(&token).await, Err(EngineError::Unauthenticated)));
    one.revoke_api_token(&ada, &listed[0].id).await.unwrap();
    assert!(two.list_api_tokens(&ada, Some("casey")).await.unwrap()[0].revoked_at.is_some());
    // Otto revokes his own.
    one.revoke_api_token(&otto, &otto_tokens[0].id).await.unwrap();
    assert!(two.authenticate_api_token(&default).await.is_err());

    let log = two.audit_log(&ada, None, 100).await.unwrap();
    let done: Vec<&str> = log
        .iter()
        .rev()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("user.") || a.starts_with("token."))
        .collect();
    assert_eq!(
        done,
        [
            "user.create",
            "user.create",
            "user.create",
            "token.create",
            "token.create",
            "user.role",
            "user.role",
            "user.disable",
            "user.enable",
            "user.password",
            "token.revoke",
            "token.revoke"
        ]
    );
    assert!(log.iter().any(|e| e.action == "login.failed" && e.detail.starts_with("the user is disabled")), "{log:#?}");
    drop((one, two));
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    user(&engine, "casey", Role::Creator).await;
    let token = engine.create_api_token_for("casey", "short-lived", Role::Creator, Some(1)).await.unwrap();
    engine.authenticate_api_token(&token).await.unwrap();
    // A day later (the expiry moved back, as the clock cannot be).
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = expires_at - 86400001").execute(&pool).await.unwrap();
    assert!(matches!(engine.authenticate_api_token(&token).await, Err(EngineError::Unauthenticated)));
}
