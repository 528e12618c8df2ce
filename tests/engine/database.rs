//! Row-level security applied by the venture's apply, on simulated Supabase projects whose SQL
//! runs on the test PostgreSQL server: both projects get the templates, the linter runs after
//! the apply and on demand, a converged venture writes nothing, a policy dropped at Supabase is
//! drift the next apply repairs, a table exposed by hand marks the venture needs-attention until
//! it is fixed, and SQL that fails applies nothing at all.

use slipway_engine::EngineError;
use slipway_engine::engine::DatabaseOverview;
use slipway_engine::env::Tier;
use slipway_engine::platform::supabase::{QueryRequest, SupabaseClient, SupabaseConfig};
use slipway_engine::provision::Action;
use slipway_engine::rls::{DatabaseInput, TableInput};

use super::support::*;

fn spec(name: &str) -> NewVenture {
    let mut spec = NewVenture::new(name, "acme/shop");
    let table = |template: &str| TableInput {
        template: template.into(),
        owner_column: None,
        team_column: None,
        membership_table: None,
    };
    spec.database = DatabaseInput {
        tables: [("notes".to_string(), table("owner")), ("projects".to_string(), table("team"))].into(),
    };
    spec
}

fn supabase(world: &World) -> SupabaseClient {
    SupabaseClient::new(SupabaseConfig::new(world.supabase().base_url(), SecretString::from(world.token.clone())))
        .unwrap()
}

fn reference(overview: &DatabaseOverview, tier: Tier) -> String {
    overview.projects.iter().find(|p| p.project == tier).unwrap().reference.clone().unwrap()
}

/// Slipway's policies on a table, as PostgreSQL holds them.
async fn policies(client: &SupabaseClient, reference: &str, table: &str) -> Vec<String> {
    let sql = format!(
        "select policyname from pg_policies where schemaname = 'public' and tablename = '{table}' order by policyname"
    );
    let rows = client.run_read_only_query(reference, &sql).await.unwrap();
    rows.iter().map(|r| r["policyname"].as_str().unwrap().to_string()).collect()
}

/// Queries sent to the read-write endpoint since `seen` (the read-only ones only look).
fn sql_writes(world: &World, seen: usize) -> usize {
    world.supabase().requests()[seen..]
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/database/query"))
        .count()
}

/// Applies again on a fresh process (a settled one has shut its runner down).
async fn reapply(
    world: &World,
    db: &str,
    engine: Engine,
    user: &slipway_engine::auth::User,
    id: &str,
    instance: &str,
) -> Engine {
    drop(engine);
    let engine = world.open_process(db, instance).await;
    engine.apply_venture(user, id).await.unwrap();
    assert_eq!(settle(&engine, user, id).await, VentureStatus::Ready);
    engine
}

#[tokio::test]
async fn both_projects_get_the_templates_the_lint_runs_and_drift_is_repaired() {
    let (_dir, db) = database();
    let world = World::with_postgres("rls-token-1").await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &spec("rls-shop")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);

    let overview = engine.database(&user, &venture.id).await.unwrap();
    assert_eq!(overview.projects.len(), 2, "production and staging: {overview:?}");
    assert_eq!(overview.errors, 0);
    let client = supabase(&world);
    for project in &overview.projects {
        let lint = project.lint.as_ref().expect("linted after the apply");
        assert!(lint.proven, "on real PostgreSQL the lint runs: {lint:?}");
        assert!(lint.findings.iter().all(|f| f.level != slipway_engine::rls::Level::Error), "{lint:?}");
        assert!(project.tables.iter().all(|t| t.applied), "{project:?}");
        let reference = project.reference.as_deref().unwrap();
        assert_eq!(
            policies(&client, reference, "notes").await,
            ["slipway_owner_delete", "slipway_owner_insert", "slipway_owner_select", "slipway_owner_update"]
        );
        assert_eq!(policies(&client, reference, "projects").await.len(), 4);
        assert_eq!(policies(&client, reference, "team_members").await, ["slipway_member_select"]);
    }
    let production = reference(&overview, Tier::Production);
    let staging = reference(&overview, Tier::Staging);
    assert_ne!(production, staging);

    // Converged: the plan says nothing changes and the apply sends no SQL that writes.
    let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
    let row = plan.iter().find(|p| p.resource == "Supabase row-level security").unwrap();
    assert_eq!(row.action, Action::NoChange, "{row:?}");
    assert_eq!(row.detail, "2 table(s): notes (owner), projects (team)");
    let seen = world.supabase().requests().len();
    let engine = reapply(&world, &db, engine, &user, &venture.id, "p2").await;
    assert_eq!(sql_writes(&world, seen), 0, "a converged venture writes no SQL");

    // Someone drops a policy at Supabase: drift in the plan, repaired by the next apply.
    client.run_query(&staging, &QueryRequest::new("drop policy slipway_owner_select on public.notes")).await.unwrap();
    let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
    let row = plan.iter().find(|p| p.resource == "Supabase staging row-level security").unwrap();
    assert_eq!(row.action, Action::Update, "{row:?}");
    assert_eq!(row.detail, "notes: owner (its policies or grants were changed at Supabase)");
    let untouched = plan.iter().find(|p| p.resource == "Supabase row-level security").unwrap();
    assert_eq!(untouched.action, Action::NoChange);
    let engine = reapply(&world, &db, engine, &user, &venture.id, "p3").await;
    assert_eq!(policies(&client, &staging, "notes").await.len(), 4, "repaired");

    // A table exposed by hand: the on-demand lint finds it and the venture needs attention
    // until it is fixed and linted again.
    client.run_query(&production, &QueryRequest::new("create table public.leaky (id int primary key)")).await.unwrap();
    let linted = engine.lint_venture(&user, &venture.id).await.unwrap();
    assert_eq!(linted.errors, 1, "{linted:?}");
    let lint = linted.projects.iter().find(|p| p.project == Tier::Production).unwrap().lint.clone().unwrap();
    let finding = lint.findings.iter().find(|f| f.rule == "rls_disabled_in_public").unwrap();
    assert_eq!(finding.object, "public.leaky");
    assert!(finding.fix.contains("enable row level security"), "{finding:?}");
    assert_eq!(engine.venture(&user, &venture.id).await.unwrap().status, VentureStatus::NeedsAttention);
    let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
    let row = plan.iter().find(|p| p.resource == "Supabase row-level security").unwrap();
    assert!(row.warning.as_deref().unwrap_or_default().contains("rls_disabled_in_public on public.leaky"), "{row:?}");
    client
        .run_query(&production, &QueryRequest::new("alter table public.leaky enable row level security"))
        .await
        .unwrap();
    let linted = engine.lint_venture(&user, &venture.id).await.unwrap();
    assert_eq!(linted.errors, 0, "{linted:?}");
    assert_eq!(engine.venture(&user, &venture.id).await.unwrap().status, VentureStatus::Ready);

    // Viewers may read the tab but not call the platform.
    let operator = engine
        .create_user_unchecked("olive", &SecretString::from("a long enough password"), Role::Operator)
        .await
        .unwrap();
    assert!(engine.database(&operator, &venture.id).await.is_ok());
    assert!(matches!(engine.lint_venture(&operator, &venture.id).await, Err(EngineError::Forbidden { .. })));
}

/// What `supabase.policies` sends is one script, so one transaction: a table that cannot take
/// its template stops every table's, with a message naming the column and the setting.
#[tokio::test]
async fn sql_that_fails_applies_nothing_and_says_which_column_is_missing() {
    let (_dir, db) = database();
    let world = World::with_postgres("rls-token-2").await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &NewVenture::new("rls-broken", "acme/shop")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let reference = reference(&engine.database(&user, &venture.id).await.unwrap(), Tier::Production);
    // The venture's own migration made `projects` without the team column.
    let client = supabase(&world);
    client
        .run_query(&reference, &QueryRequest::new("create table public.projects (id uuid primary key)"))
        .await
        .unwrap();

    let rules = spec("rls-broken").validate().unwrap().tables;
    let script: String = rules.iter().map(|r| r.sql()).collect();
    let refused = client.run_query(&reference, &QueryRequest::new(script)).await.unwrap_err();
    let said = refused.to_string();
    assert!(said.contains("table public.projects has no uuid column team_id, which the team template reads"), "{said}");
    assert!(said.contains("database.tables.projects.team_column"), "{said}");
    let exists = client
        .run_read_only_query(&reference, "select count(*)::int as n from pg_tables where tablename = 'notes'")
        .await
        .unwrap();
    assert_eq!(exists[0]["n"], 0, "not even the table the script creates first");
}

#[tokio::test]
async fn without_postgresql_the_lint_says_the_policies_are_unproven_and_the_venture_is_ready() {
    let (_dir, db) = database();
    let world = World::with_token(FaultPlan::default(), "rls-token-3").await;
    let engine = world.open_process(&db, "p1").await;
    let user = creator(&engine).await;
    let venture = engine.create_venture(&user, &spec("rls-sandbox")).await.unwrap();
    assert_eq!(settle(&engine, &user, &venture.id).await, VentureStatus::Ready);
    let overview = engine.database(&user, &venture.id).await.unwrap();
    for project in &overview.projects {
        let lint = project.lint.as_ref().unwrap();
        assert!(!lint.proven && lint.findings.is_empty(), "{lint:?}");
        assert!(lint.reason.as_deref().unwrap().contains("could not be proven"), "{lint:?}");
        let reference = project.reference.as_deref().unwrap();
        let sent = world.supabase().queries(reference);
        assert!(sent.iter().any(|q| q.contains("create policy \"slipway_owner_select\"")), "the SQL was sent");
    }
    // Re-applying converges here too: the record stands in for the catalog the sandbox lacks.
    let plan = engine.plan_venture(&user, &venture.id).await.unwrap();
    let row = plan.iter().find(|p| p.resource == "Supabase row-level security").unwrap();
    assert_eq!(row.action, Action::NoChange, "{row:?}");
}
