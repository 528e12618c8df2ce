//! Production secrets stay in production: staging, previews and development get a Supabase
//! project of their own (`<name>-staging`), or no database, or (an opt-in the plan warns
//! about) production's. A production secret on its way to another environment blocks the
//! sync, whether Slipway would write it or someone wired it by hand at Vercel.

use slipway_engine::engine::EnvChange;
use slipway_engine::env::{Environment, INTEGRATION};
use slipway_engine::provision::Action;
use slipway_engine::venture::NonProductionDatabase;

use super::support::*;

/// The Supabase projects at the simulator named after `name`: (name, ref).
fn supabase_projects(world: &World, name: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = world
        .supabase()
        .projects()
        .iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n == name || n.starts_with(&format!("{name}-"))))
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["id"].as_str().unwrap().to_string()))
        .collect();
    found.sort();
    found
}

/// The production project's secrets, as an admin reveals them.
async fn production_secrets(engine: &Engine, admin: &slipway_engine::auth::User, id: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    for var in INTEGRATION.iter().filter(|v| v.secret) {
        let value = engine.reveal_env_value(admin, id, var.key, "production").await.unwrap();
        secrets.push(value.expose_secret().to_string());
    }
    secrets
}

async fn admin(engine: &Engine) -> slipway_engine::auth::User {
    engine.create_user_unchecked("ada", &SecretString::from("another long password"), Role::Admin).await.unwrap()
}

/// Where a Vercel entry applies: its target, or `staging` for the custom environment.
fn place(entry: &serde_json::Value) -> String {
    entry["target"][0].as_str().map(str::to_string).unwrap_or_else(|| "staging".into())
}

#[tokio::test]
async fn by_default_staging_previews_and_development_get_the_staging_project_and_no_production_secret() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let spec = NewVenture::new("iso-shop", "acme/shop");
    let plan = engine.plan_new_venture(&user, &spec).await.unwrap();
    let staging_line = plan.iter().find(|p| p.resource == "Supabase staging project").unwrap();
    assert_eq!(staging_line.action, Action::Create);
    assert!(staging_line.detail.contains("iso-shop-staging") && staging_line.detail.contains("billed"));
    assert_eq!(staging_line.warning, None);

    let venture = engine.create_venture(&user, &spec).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let projects = supabase_projects(&world, "iso-shop");
    let names: Vec<&str> = projects.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["iso-shop", "iso-shop-staging"], "same organization: one search found both");
    let (production_ref, staging_ref) = (&projects[0].1, &projects[1].1);

    let project = engine.venture(&user, &venture.id).await.unwrap().vercel_project_id.unwrap();
    let vars = world.vercel().env_vars(&project);
    for entry in vars.iter().filter(|v| v["key"] == "SUPABASE_URL") {
        let wanted = if place(entry) == "production" { production_ref } else { staging_ref };
        assert_eq!(entry["value"], format!("https://{wanted}.supabase.co"), "{}", place(entry));
    }
    let places: std::collections::BTreeSet<String> =
        vars.iter().filter(|v| v["key"] == "POSTGRES_URL").map(place).collect();
    assert_eq!(places.into_iter().collect::<Vec<_>>(), ["development", "preview", "production", "staging"]);

    // Checked at the simulator, by value: no entry outside production holds a production
    // secret, and production's own entries do.
    let admin = admin(&engine).await;
    let secrets = production_secrets(&engine, &admin, &venture.id).await;
    for entry in &vars {
        let value = entry["value"].as_str().unwrap();
        let holds = secrets.iter().any(|s| value.contains(s.as_str()));
        if place(entry) != "production" {
            assert!(!holds, "{} ({}) holds a production secret", entry["key"], place(entry));
        }
    }
    let service_role =
        vars.iter().find(|v| v["key"] == "SUPABASE_SERVICE_ROLE_KEY" && place(v) == "production").unwrap();
    assert!(secrets.contains(&service_role["value"].as_str().unwrap().to_string()));

    // What a developer pulls for development is the staging project's, secrets included.
    let development = engine.env_pull(&user, &venture.id, "development").await.unwrap();
    let pulled = |key: &str| {
        let var = development.variables.iter().find(|v| v.key == key).unwrap();
        var.value.as_ref().map(|v| v.expose_secret().to_string())
    };
    assert_eq!(pulled("SUPABASE_URL").unwrap(), format!("https://{staging_ref}.supabase.co"));
    let local_password = pulled("POSTGRES_PASSWORD").expect("the staging database's password comes to development");
    assert!(!secrets.contains(&local_password));
    let as_creator = engine.env_pull(&user, &venture.id, "production").await.unwrap();
    let withheld = as_creator.variables.iter().find(|v| v.key == "POSTGRES_PASSWORD").unwrap();
    assert!(withheld.value.is_none() && withheld.withheld.as_deref().unwrap().contains("production database"));

    // Destroying the venture deletes both projects (a settled engine's runner is stopped:
    // another process does it).
    let engine = world.open_process(&db, "p2").await;
    engine.destroy_venture(&user, &venture.id, "iso-shop").await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Destroyed);
    assert_eq!(supabase_projects(&world, "iso-shop"), Vec::<(String, String)>::new());
}

#[tokio::test]
async fn without_staging_previews_get_no_database_and_the_production_opt_in_is_a_named_warning() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;

    let mut bare = NewVenture::new("bare-shop", "acme/shop");
    bare.environments.staging.enabled = false;
    let plan = engine.plan_new_venture(&user, &bare).await.unwrap();
    let line = plan.iter().find(|p| p.resource == "Supabase staging project").unwrap();
    assert_eq!(line.action, Action::NoChange);
    assert!(line.detail.contains("no database variables") && line.detail.contains("none"), "{}", line.detail);
    let venture = engine.create_venture(&user, &bare).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    assert_eq!(supabase_projects(&world, "bare-shop").len(), 1, "no second project");
    let project = engine.venture(&user, &venture.id).await.unwrap().vercel_project_id.unwrap();
    let vars = world.vercel().env_vars(&project);
    let integration: Vec<String> = vars
        .iter()
        .filter(|v| slipway_engine::env::integration(v["key"].as_str().unwrap()).is_some())
        .map(place)
        .collect();
    assert!(!integration.is_empty() && integration.iter().all(|p| p == "production"), "{integration:?}");
    let pulled = engine.env_pull(&user, &venture.id, "development").await.unwrap();
    let url = pulled.variables.iter().find(|v| v.key == "SUPABASE_URL").unwrap();
    assert!(url.value.is_none() && url.withheld.as_deref().unwrap().contains("no database outside production"));

    let engine = world.open_process(&db, "p2").await;
    let mut shared = NewVenture::new("shared-shop", "acme/shop");
    shared.supabase.non_production = Some(NonProductionDatabase::Production);
    let plan = engine.plan_new_venture(&user, &shared).await.unwrap();
    let line = plan.iter().find(|p| p.resource == "Supabase staging project").unwrap();
    let warning = line.warning.as_deref().expect("the opt-in is a warning");
    assert!(warning.contains("read and write production data"), "{warning}");
    let venture = engine.create_venture(&user, &shared).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let project = engine.venture(&user, &venture.id).await.unwrap().vercel_project_id.unwrap();
    let vars = world.vercel().env_vars(&project);
    let password =
        |at: &str| vars.iter().find(|v| v["key"] == "POSTGRES_PASSWORD" && place(v) == at).unwrap()["value"].clone();
    assert_eq!(password("preview"), password("production"), "opted in: the same database everywhere");
}

#[tokio::test]
async fn a_production_secret_wired_by_hand_or_set_for_a_preview_blocks_the_sync_without_showing_it() {
    let (_dir, db) = database();
    let world = World::new(FaultPlan::default()).await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &NewVenture::new("wired-shop", "acme/shop")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let project = engine.venture(&user, &venture.id).await.unwrap().vercel_project_id.unwrap();
    let admin = admin(&engine).await;
    let database_url = engine.reveal_env_value(&admin, &venture.id, "POSTGRES_URL", "production").await.unwrap();
    let database_url = database_url.expose_secret().to_string();
    let blocked_plan = async |engine: &Engine| {
        let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
        plan.into_iter().find(|p| p.resource == "Environment variables").unwrap()
    };

    // Someone pastes the production database URL into a preview variable at Vercel, readable
    // (plain), or hidden (encrypted: Slipway reads that one entry back to check it).
    for (var_type, target) in [("plain", "preview"), ("encrypted", "development")] {
        let id = world.vercel().add_env_var(&project, "DATABASE_URL", target, &database_url, var_type);
        let engine = world.open_process(&db, &format!("p-{var_type}")).await;
        let line = blocked_plan(&engine).await;
        assert_eq!(line.action, Action::Blocked, "{var_type}");
        assert!(
            line.detail.contains(&format!("DATABASE_URL ({target})")) && line.detail.contains(&id),
            "{}",
            line.detail
        );
        assert!(line.detail.contains("production secret"), "{}", line.detail);
        assert!(!line.detail.contains(&database_url), "named, never shown");
        world.vercel().remove_env_var(&project, &id);
    }
    // A production secret elsewhere in a value counts too; a sensitive entry cannot be read,
    // by Slipway or anyone, so it is not held against the venture.
    let password = engine.reveal_env_value(&admin, &venture.id, "POSTGRES_PASSWORD", "production").await.unwrap();
    let embedded = format!("postgres://app:{}@elsewhere:5432/db", password.expose_secret());
    let id = world.vercel().add_env_var(&project, "LEGACY_DB", "preview", &embedded, "plain");
    assert_eq!(blocked_plan(&world.open_process(&db, "p2").await).await.action, Action::Blocked);
    world.vercel().remove_env_var(&project, &id);
    world.vercel().add_env_var(&project, "OPAQUE", "preview", &database_url, "sensitive");
    world.vercel().add_env_var(&project, "PROD_ONLY", "production", &database_url, "plain");
    let engine = world.open_process(&db, "p3").await;
    assert_ne!(blocked_plan(&engine).await.action, Action::Blocked);

    // The venture's own variable: a preview value carrying the production password is refused
    // at the sync, and the apply stops there without writing it.
    let change = EnvChange {
        description: Some("Reporting database".into()),
        secret: Some(true),
        values: [("preview".to_string(), Some(SecretString::from(embedded.clone())))].into(),
        ..EnvChange::default()
    };
    engine.put_env_var(&user, &venture.id, "REPORTING_DATABASE_URL", &change).await.unwrap();
    let line = blocked_plan(&engine).await;
    assert_eq!(line.action, Action::Blocked);
    assert!(
        line.detail.contains("REPORTING_DATABASE_URL for preview would hold a production secret"),
        "{}",
        line.detail
    );
    engine.apply_venture(&user, &venture.id).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Failed);
    let engine = world.open_process(&db, "p4").await;
    let vars = world.vercel().env_vars(&project);
    assert!(!vars.iter().any(|v| v["key"] == "REPORTING_DATABASE_URL"), "nothing written");
    let listing = engine.env_listing(&user, &venture.id).await.unwrap();
    let reporting = listing.variables.iter().find(|v| v.key == "REPORTING_DATABASE_URL").unwrap();
    let preview = reporting.values.iter().find(|v| v.environment == Environment::Preview).unwrap();
    assert!(matches!(&preview.sync, Some(slipway_engine::provision::SyncState::Blocked(_))), "{:?}", preview.sync);

    // Given a value of its own, the preview syncs.
    let change = EnvChange {
        values: [("preview".to_string(), Some(SecretString::from("postgres://app:preview-only@elsewhere/db")))].into(),
        ..EnvChange::default()
    };
    engine.put_env_var(&user, &venture.id, "REPORTING_DATABASE_URL", &change).await.unwrap();
    engine.apply_venture(&user, &venture.id).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let vars = world.vercel().env_vars(&project);
    assert!(vars.iter().any(|v| v["key"] == "REPORTING_DATABASE_URL" && place(v) == "preview"));
}
