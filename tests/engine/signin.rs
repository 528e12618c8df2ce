//! Sign-in providers on each Supabase project: client ids from the spec, client secrets from
//! the vault only, the site URL and redirect allow-list from the venture's URLs, merged with
//! what someone added at Supabase; a provider changed at Supabase shows as drift (by digest)
//! and the next apply repairs it; a converged venture's apply writes nothing.

use slipway_engine::EngineError;
use slipway_engine::engine::SignInOverview;
use slipway_engine::env::Tier;
use slipway_engine::platform::supabase::{AuthConfig, AuthConfigUpdate, SupabaseClient, SupabaseConfig};
use slipway_engine::provision::{Action, PlannedAction};
use slipway_engine::signin::{AuthInput, Provider, ProviderInput};

use super::support::*;

const GOOGLE_ID: &str = "1234-abc.apps.googleusercontent.com";
const MICROSOFT_ID: &str = "6f1a2b3c-0000-4000-8000-000000000000";

fn spec(name: &str) -> NewVenture {
    let mut spec = NewVenture::new(name, "acme/shop");
    let app = |id: &str| ProviderInput { enabled: true, client_id: id.into(), staging_client_id: None, tenant: None };
    spec.auth = AuthInput {
        google: Some(app(GOOGLE_ID)),
        github: Some(ProviderInput { staging_client_id: Some("Iv1.staging".into()), ..app("Iv1.production") }),
        microsoft: Some(ProviderInput { tenant: Some("consumers".into()), ..app(MICROSOFT_ID) }),
        redirect_urls: Default::default(),
    };
    spec
}

fn supabase(world: &World) -> SupabaseClient {
    SupabaseClient::new(SupabaseConfig::new(world.supabase().base_url(), SecretString::from(world.token.clone())))
        .unwrap()
}

fn row<'a>(plan: &'a [PlannedAction], resource: &str) -> &'a PlannedAction {
    plan.iter().find(|p| p.resource == resource).unwrap_or_else(|| panic!("no {resource} in {plan:?}"))
}

fn references(overview: &SignInOverview) -> (String, String) {
    let reference = |tier| overview.projects.iter().find(|p| p.project == tier).unwrap().reference.clone().unwrap();
    (reference(Tier::Production), reference(Tier::Staging))
}

fn auth_writes(world: &World, seen: usize) -> usize {
    world.supabase().requests()[seen..]
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/config/auth"))
        .count()
}

/// A venture with staging and three providers, applied with the secrets of Google and of both
/// GitHub apps set (Microsoft's is not): what each project holds.
async fn applied(world: &World, db: &str, name: &str) -> (Engine, slipway_engine::auth::User, String) {
    let engine = world.open_process(db, "p1").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &spec(name)).await.unwrap();
    for (provider, staging, value) in [
        ("github", false, "gh-production-secret"),
        ("github", true, "gh-staging-secret"),
        ("google", false, "google-secret"),
    ] {
        engine.set_sign_in_secret(&user, &venture.id, provider, staging, &SecretString::from(value)).await.unwrap();
    }
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    (engine, user, venture.id)
}

#[tokio::test]
async fn each_project_gets_its_apps_its_urls_and_the_secrets_from_the_vault() {
    let (_dir, db) = database();
    let world = World::with_token(FaultPlan::default(), "signin-token-1").await;
    let (_plan_dir, plan_db) = database();
    let planner = world.open_process(&plan_db, "p0").await;
    let someone = creator(&planner).await;
    let plan = planner.plan_new_venture(&someone, &spec("sign-shop")).await.unwrap();
    let line = row(&plan, "Supabase sign-in");
    assert_eq!(line.action, Action::Create);
    let warning = line.warning.as_deref().unwrap();
    assert!(warning.contains("Microsoft sign-in stays off until its client secret is set"), "{warning}");
    assert!(warning.contains("supabase/auth#2795"), "{warning}");
    assert_eq!(row(&plan, "Supabase staging sign-in").action, Action::Create);
    drop(planner);

    let (engine, user, id) = applied(&world, &db, "sign-shop").await;
    let overview = engine.sign_in(&user, &id).await.unwrap();
    let (production, staging) = references(&overview);
    let slug = slipway_sim::SANDBOX_TEAM_SLUG;
    let client = supabase(&world);
    let prod = client.auth_config(&production).await.unwrap();
    assert_eq!(prod.site_url.as_deref(), Some("https://sign-shop.vercel.app"));
    assert_eq!(prod.redirect_urls(), ["https://sign-shop.vercel.app/**"], "no preview or localhost on production");
    assert_eq!(prod.external_github_enabled, Some(true));
    assert_eq!(prod.external_github_client_id.as_deref(), Some("Iv1.production"));
    assert!(AuthConfig::secret_matches(&prod.external_github_secret, &SecretString::from("gh-production-secret")));
    assert_eq!(prod.external_google_enabled, Some(true));
    assert_ne!(prod.external_azure_enabled, Some(true), "no secret, so Microsoft stays off");

    let stg = client.auth_config(&staging).await.unwrap();
    let staging_url = format!("https://sign-shop-git-staging-{slug}.vercel.app");
    assert_eq!(stg.site_url.as_deref(), Some(staging_url.as_str()));
    assert_eq!(
        stg.redirect_urls(),
        [
            format!("{staging_url}/**"),
            format!("https://sign-shop-*-{slug}.vercel.app/**"),
            "http://localhost:3000/**".into()
        ]
    );
    assert_eq!(stg.external_github_client_id.as_deref(), Some("Iv1.staging"), "staging's own GitHub app");
    assert!(AuthConfig::secret_matches(&stg.external_github_secret, &SecretString::from("gh-staging-secret")));
    assert_eq!(stg.external_google_client_id.as_deref(), Some(GOOGLE_ID), "Google's app is shared");
    assert!(AuthConfig::secret_matches(&stg.external_google_secret, &SecretString::from("google-secret")));

    // The overview: both projects, their callbacks, which secrets are set (never a value).
    assert_eq!(overview.projects.len(), 2);
    let prod_view = &overview.projects[0];
    assert_eq!(
        prod_view.callback_url.as_deref(),
        Some(format!("https://{production}.supabase.co/auth/v1/callback").as_str())
    );
    assert_eq!(prod_view.site_url.as_deref(), Some("https://sign-shop.vercel.app"));
    let state = |p: &slipway_engine::engine::SignInProject, provider| {
        let found = p.providers.iter().find(|x| x.provider == provider).unwrap();
        (found.client_id.clone(), found.app, found.secret_set)
    };
    assert_eq!(state(prod_view, Provider::Microsoft), (MICROSOFT_ID.into(), Tier::Production, false));
    assert_eq!(state(&overview.projects[1], Provider::Github), ("Iv1.staging".into(), Tier::Staging, true));
    let shown = serde_json::to_string(&overview).unwrap();
    for secret in ["gh-production-secret", "gh-staging-secret", "google-secret"] {
        assert!(!shown.contains(secret));
        let events = engine.venture_events(&user, &id, 0, 1000).await.unwrap();
        assert!(events.iter().all(|e| !e.message.contains(secret)), "{secret} in the log");
    }

    // Converged: the plan changes nothing, and another apply writes no auth config.
    let plan = engine.plan_venture(&user, &id).await.unwrap();
    assert_eq!(row(&plan, "Supabase sign-in").action, Action::NoChange, "{plan:?}");
    assert_eq!(row(&plan, "Supabase staging sign-in").action, Action::NoChange, "{plan:?}");
    drop(engine);
    let again = world.open_process(&db, "p2").await;
    let seen = world.supabase().requests().len();
    again.apply_venture(&user, &id).await.unwrap();
    assert_eq!(settle(&again, &user, &id).await, VentureStatus::Ready);
    assert_eq!(auth_writes(&world, seen), 0, "a converged venture writes no auth config");
}

#[tokio::test]
async fn hand_added_redirects_stay_and_a_provider_changed_at_supabase_is_drift_the_apply_repairs() {
    let (_dir, db) = database();
    let world = World::with_token(FaultPlan::default(), "signin-token-2").await;
    let (engine, user, id) = applied(&world, &db, "drift-shop").await;
    let (production, staging) = references(&engine.sign_in(&user, &id).await.unwrap());
    let client = supabase(&world);

    // Someone at Supabase: adds two redirect URLs (one the loose Vercel form), sets another
    // GitHub secret on staging, and switches Google off on production.
    let mut urls = client.auth_config(&staging).await.unwrap().redirect_urls();
    urls.extend(["https://hand.example.com/callback".to_string(), "https://**vercel.app/**".to_string()]);
    let by_hand = AuthConfigUpdate {
        uri_allow_list: Some(urls.clone()),
        external_github_secret: Some(SecretString::from("someone-elses-secret")),
        ..AuthConfigUpdate::default()
    };
    client.update_auth_config(&staging, &by_hand).await.unwrap();
    let google_off = AuthConfigUpdate { external_google_enabled: Some(false), ..AuthConfigUpdate::default() };
    client.update_auth_config(&production, &google_off).await.unwrap();

    let plan = engine.plan_venture(&user, &id).await.unwrap();
    let prod_line = row(&plan, "Supabase sign-in");
    assert_eq!((prod_line.action, prod_line.detail.as_str()), (Action::Update, "Google on"));
    let stg_line = row(&plan, "Supabase staging sign-in");
    assert_eq!(stg_line.action, Action::Update);
    assert_eq!(stg_line.detail, "GitHub client secret (changed at Supabase)", "hand-added URLs are not removed");
    assert!(stg_line.warning.as_deref().unwrap().contains("https://**vercel.app/**"), "{stg_line:?}");
    let shown = serde_json::to_string(&plan).unwrap();
    assert!(!shown.contains("someone-elses-secret") && !shown.contains("gh-staging-secret"));

    drop(engine);
    let again = world.open_process(&db, "p2").await;
    again.apply_venture(&user, &id).await.unwrap();
    assert_eq!(settle(&again, &user, &id).await, VentureStatus::Ready);
    let stg = client.auth_config(&staging).await.unwrap();
    assert_eq!(stg.redirect_urls(), urls, "the merge kept both hand-added entries, in place");
    assert!(AuthConfig::secret_matches(&stg.external_github_secret, &SecretString::from("gh-staging-secret")));
    assert_eq!(client.auth_config(&production).await.unwrap().external_google_enabled, Some(true));
}

#[tokio::test]
async fn a_secret_is_refused_with_its_rule_and_only_creators_and_admins_set_one() {
    let (_dir, db) = database();
    let world = World::with_token(FaultPlan::default(), "signin-token-3").await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let mut one = spec("rule-shop");
    one.auth.google = None;
    let venture = engine.create_venture(&user, &one).await.unwrap();
    let absent = engine.set_sign_in_secret(&user, &venture.id, "google", false, &SecretString::from("s3cret")).await;
    assert!(matches!(absent, Err(EngineError::NotFound(_))), "not in the spec: {absent:?}");
    match engine.set_sign_in_secret(&user, &venture.id, "microsoft", true, &SecretString::from("s3cret")).await {
        Err(EngineError::Conflict(message)) => {
            assert!(message.contains("signs in with the production app"), "{message}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let cases = [
        ("gitlab", false, "s3cret", "provider", "must be one of"),
        ("github", false, "", "value", "is required"),
        ("github", false, "pasted\n", "value", "line breaks"),
    ];
    for (provider, staging, value, field, rule) in cases {
        match engine.set_sign_in_secret(&user, &venture.id, provider, staging, &SecretString::from(value)).await {
            Err(EngineError::Invalid(errors)) => {
                assert_eq!(errors[0].field, field, "{provider}");
                assert!(errors[0].message.contains(rule), "{provider}: {}", errors[0].message);
            }
            other => panic!("{provider}: expected invalid, got {other:?}"),
        }
    }
    let overview = engine.sign_in(&user, &venture.id).await.unwrap();
    assert!(overview.projects.iter().flat_map(|p| &p.providers).all(|p| !p.secret_set), "nothing written");
    let operator = engine
        .create_user_unchecked("otto", &SecretString::from("an operator password"), Role::Operator)
        .await
        .unwrap();
    let refused = engine.set_sign_in_secret(&operator, &venture.id, "github", false, &SecretString::from("x1")).await;
    assert!(matches!(refused, Err(EngineError::Forbidden { .. })), "{refused:?}");
    // A spec that breaks a rule of the auth section is refused whole, naming the field.
    let mut bad = spec("bad-shop");
    bad.auth.microsoft.as_mut().unwrap().tenant = Some("https://login.microsoftonline.com/common/v2.0".into());
    match engine.create_venture(&user, &bad).await {
        Err(EngineError::Invalid(errors)) => assert_eq!(errors[0].field, "auth.microsoft.tenant"),
        other => panic!("expected invalid, got {other:?}"),
    }
}
