//! Every RLS template proven on real PostgreSQL in Supabase's shape (the simulator's
//! `DATABASE_SHAPE`: its roles, `auth.uid()` reading `request.jwt.claims`, its default grants):
//! an access matrix of role × command × own row / another's row, each cell in a transaction of
//! its own with `set local role` and `set_config('request.jwt.claims', …, true)`, rolled back.
//! User A never sees or changes B's rows, anon never writes, the service role does everything.

use sqlx::{Connection, Executor, PgConnection};

use super::postgres::TestDatabase;
use slipway_engine::rls::{self, TableRule, Template};

const A: &str = "00000000-0000-4000-8000-00000000000a";
const B: &str = "00000000-0000-4000-8000-00000000000b";
const TEAM_A: &str = "00000000-0000-4000-8000-0000000000aa";
const TEAM_B: &str = "00000000-0000-4000-8000-0000000000bb";
/// The rows: A's (in A's team) and B's (in B's team).
const ROW_A: &str = "00000000-0000-4000-8000-000000000001";
const ROW_B: &str = "00000000-0000-4000-8000-000000000002";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anon,
    UserA,
    ServiceRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Select,
    Insert,
    Update,
    Delete,
}

const COMMANDS: [Command; 4] = [Command::Select, Command::Insert, Command::Update, Command::Delete];

/// One cell: whether `who` may run `command` on their own row (`own`) or on B's.
async fn allowed(db: &mut PgConnection, who: Who, command: Command, own: bool) -> bool {
    let mut tx = db.begin().await.unwrap();
    let (role, claims) = match who {
        Who::Anon => ("anon", r#"{"role": "anon"}"#.to_string()),
        Who::UserA => ("authenticated", format!(r#"{{"sub": "{A}", "role": "authenticated"}}"#)),
        Who::ServiceRole => ("service_role", r#"{"role": "service_role"}"#.to_string()),
    };
    tx.execute(format!("set local role {role}").as_str()).await.unwrap();
    sqlx::query("select set_config('request.jwt.claims', $1, true)").bind(&claims).execute(&mut *tx).await.unwrap();
    let (row, user, team) = if own { (ROW_A, A, TEAM_A) } else { (ROW_B, B, TEAM_B) };
    let statement = match command {
        Command::Select => format!("select id from public.notes where id = '{row}'"),
        // A new row claiming to be the owner's (or B's), in that owner's team.
        Command::Insert => format!(
            "insert into public.notes (id, user_id, team_id, body) values (gen_random_uuid(), '{user}', '{team}', 'new') returning id"
        ),
        Command::Update => format!("update public.notes set body = 'changed' where id = '{row}' returning id"),
        Command::Delete => format!("delete from public.notes where id = '{row}' returning id"),
    };
    let outcome = sqlx::query(&statement).fetch_all(&mut *tx).await;
    tx.rollback().await.unwrap();
    match outcome {
        Ok(rows) => !rows.is_empty(),
        // 42501: no privilege, or a `with check` refused the row.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => false,
        Err(e) => panic!("{who:?} {command:?}: {e}"),
    }
}

/// A database in Supabase's shape with `public.notes`, A's and B's rows, and team memberships.
async fn shaped(rule: &TableRule) -> (TestDatabase, PgConnection) {
    let database = TestDatabase::create().await;
    let mut db = PgConnection::connect(&database.url).await.unwrap();
    db.execute(slipway_sim::supabase::DATABASE_SHAPE).await.unwrap();
    // Reconnect: `pgrst.db_schemas` was set on the database, which new sessions read.
    let mut db = PgConnection::connect(&database.url).await.unwrap();
    let setup = format!(
        "create table public.team_members (team_id uuid not null, user_id uuid not null);
         insert into public.team_members values ('{TEAM_A}', '{A}'), ('{TEAM_B}', '{B}');
         create table public.notes (id uuid primary key, user_id uuid not null, team_id uuid, body text);
         insert into public.notes values ('{ROW_A}', '{A}', '{TEAM_A}', 'a'), ('{ROW_B}', '{B}', '{TEAM_B}', 'b');"
    );
    db.execute(setup.as_str()).await.unwrap();
    // The membership table is the venture's too: members read their own memberships.
    let members = TableRule::new("team_members", Template::Owner);
    let script = format!("begin;\n{}{}commit;", members.sql(), rule.sql());
    db.execute(script.as_str()).await.unwrap_or_else(|e| panic!("{}: {e}\n{}", rule.template.as_str(), rule.sql()));
    (database, db)
}

/// The matrix: per role, per command, (own row, B's row).
async fn matrix(db: &mut PgConnection) -> Vec<(Who, Command, bool, bool)> {
    let mut cells = Vec::new();
    for who in [Who::Anon, Who::UserA, Who::ServiceRole] {
        for command in COMMANDS {
            cells.push((who, command, allowed(db, who, command, true).await, allowed(db, who, command, false).await));
        }
    }
    cells
}

/// What a template should allow: (anon select, A's read of B's row, A's own writes).
fn expected(template: Template, who: Who, command: Command) -> (bool, bool) {
    use Command::*;
    match (who, template, command) {
        (Who::ServiceRole, _, _) => (true, true),
        (_, Template::Private, _) => (false, false),
        (Who::Anon, Template::PublicRead, Select) => (true, true),
        (Who::Anon, _, _) => (false, false),
        (Who::UserA, Template::PublicRead | Template::AuthenticatedRead, Select) => (true, true),
        // Owner and team: A's own (or A's team's) rows only.
        (Who::UserA, _, _) => (true, false),
    }
}

/// The table's policies as PostgreSQL holds them (name, command, roles, using, with check).
async fn policies(db: &mut PgConnection) -> Vec<String> {
    let query = "select policyname || ' ' || cmd || ' ' || array_to_string(roles, ',') || ' ' || coalesce(qual, '') \
                 || ' ' || coalesce(with_check, '') as p from pg_policies where tablename = 'notes' order by 1";
    sqlx::query_scalar::<_, String>(query).fetch_all(db).await.unwrap()
}

#[tokio::test]
async fn every_template_allows_exactly_its_matrix_and_a_second_run_changes_nothing() {
    for template in Template::ALL {
        let rule = TableRule::new("notes", template);
        let (_database, mut db) = shaped(&rule).await;
        for (who, command, own, other) in matrix(&mut db).await {
            assert_eq!(
                (own, other),
                expected(template, who, command),
                "{}: {who:?} {command:?} (own row, B's row)",
                template.as_str()
            );
        }
        // Idempotent: the same policies after running the script again.
        let before = policies(&mut db).await;
        db.execute(format!("begin;\n{}commit;", rule.sql()).as_str()).await.unwrap();
        assert_eq!(policies(&mut db).await, before, "{}", template.as_str());
        assert_eq!(before.len(), if template == Template::Private { 0 } else { 4 }, "{before:?}");
    }
}

#[tokio::test]
async fn a_changed_template_replaces_slipways_policies_by_name_and_keeps_anyone_elses() {
    let (_database, mut db) = shaped(&TableRule::new("notes", Template::Owner)).await;
    db.execute("create policy \"hand_written\" on public.notes for select to authenticated using (body = 'shared')")
        .await
        .unwrap();
    db.execute(format!("begin;\n{}commit;", TableRule::new("notes", Template::AuthenticatedRead).sql()).as_str())
        .await
        .unwrap();
    let names: Vec<String> =
        sqlx::query_scalar("select policyname::text from pg_policies where tablename = 'notes' order by 1")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(
        names,
        [
            "hand_written",
            "slipway_authenticated_read_delete",
            "slipway_authenticated_read_insert",
            "slipway_authenticated_read_select",
            "slipway_authenticated_read_update"
        ]
    );
    // A now reads B's row: the new template, not the old one, is in force.
    assert!(allowed(&mut db, Who::UserA, Command::Select, false).await);
    assert!(!allowed(&mut db, Who::UserA, Command::Update, false).await);
}

/// The linter's answer on `db` (its rows as JSON, as the query endpoint returns them).
async fn lint(db: &mut PgConnection) -> Result<Vec<rls::Finding>, rls::LintError> {
    let preflight: serde_json::Value =
        sqlx::query_scalar(&format!("select row_to_json(p) from ({}) p", *rls::PREFLIGHT_SQL))
            .fetch_one(&mut *db)
            .await
            .unwrap();
    rls::check_preflight(&preflight)?;
    let rows: serde_json::Value =
        sqlx::query_scalar(&format!("select coalesce(json_agg(f), '[]'::json) from ({}) f", *rls::LINT_SQL))
            .fetch_one(&mut *db)
            .await
            .unwrap();
    rls::findings(rows.as_array().unwrap().clone())
}

#[tokio::test]
async fn each_lint_fires_on_its_fixture_and_not_on_the_fixed_one_and_the_templates_are_clean() {
    // (rule, object it names, SQL that trips it, SQL of the same thing done right)
    let fixtures: [(&str, &str, &str, &str); 8] = [
        (
            "rls_disabled_in_public",
            "public.t_open",
            "create table public.t_open (id int)",
            "create table public.t_open_ok (id int); alter table public.t_open_ok enable row level security; \
          create policy p on public.t_open_ok for select to authenticated using (true)",
        ),
        (
            "policy_exists_rls_disabled",
            "public.t_pol",
            "create table public.t_pol (id int); create policy p on public.t_pol for select using (true)",
            "create table public.t_pol_ok (id int); alter table public.t_pol_ok enable row level security; \
          create policy p on public.t_pol_ok for select to authenticated using (true)",
        ),
        (
            "rls_enabled_no_policy",
            "public.t_none",
            "create table public.t_none (id int); alter table public.t_none enable row level security",
            "create table public.t_none_ok (id int); alter table public.t_none_ok enable row level security; \
          create policy p on public.t_none_ok for select to authenticated using (true)",
        ),
        (
            "auth_rls_initplan",
            "public.t_uid policy p",
            "create table public.t_uid (u uuid); alter table public.t_uid enable row level security; \
          create policy p on public.t_uid for select to authenticated using (auth.uid() = u)",
            "create table public.t_uid_ok (u uuid); alter table public.t_uid_ok enable row level security; \
          create policy p on public.t_uid_ok for select to authenticated using ((select auth.uid()) = u)",
        ),
        (
            "rls_references_user_metadata",
            "public.t_meta policy p",
            "create table public.t_meta (team text); alter table public.t_meta enable row level security; \
          create policy p on public.t_meta for select to authenticated using (team = ((select auth.jwt()) -> 'user_metadata' ->> 'team'))",
            "create table public.t_meta_ok (team text); alter table public.t_meta_ok enable row level security; \
          create policy p on public.t_meta_ok for select to authenticated using (team = ((select auth.jwt()) -> 'app_metadata' ->> 'team'))",
        ),
        (
            "rls_policy_always_true",
            "public.t_true policy p",
            "create table public.t_true (id int); alter table public.t_true enable row level security; \
          create policy p on public.t_true for insert to anon with check (true)",
            "create table public.t_true_ok (id int); alter table public.t_true_ok enable row level security; \
          create policy p on public.t_true_ok for select to anon using (true)",
        ),
        (
            "function_search_path_mutable",
            "public.f_definer()",
            "create function public.f_definer() returns int language sql security definer as $$ select 1 $$",
            "create function public.f_definer_ok() returns int language sql security definer set search_path = '' as $$ select 1 $$",
        ),
        (
            "auth_users_exposed",
            "public.v_users",
            "create view public.v_users as select id, email from auth.users",
            "create view public.v_users_ok as select 1 as one",
        ),
    ];
    let (_database, mut db) = shaped(&TableRule::new("notes", Template::Owner)).await;
    let clean = lint(&mut db).await.unwrap();
    assert!(
        clean.iter().all(|f| f.level == rls::Level::Info),
        "a database in Supabase's shape with a template: {clean:?}"
    );
    for (rule, object, bad, good) in fixtures {
        db.execute(bad).await.unwrap_or_else(|e| panic!("{rule}: {e}"));
        db.execute(good).await.unwrap_or_else(|e| panic!("{rule} (fixed): {e}"));
        let found = lint(&mut db).await.unwrap();
        let of_rule: Vec<&str> = found.iter().filter(|f| f.rule == rule).map(|f| f.object.as_str()).collect();
        assert_eq!(of_rule, [object], "{rule}: only the fixture, not its fixed twin: {found:#?}");
    }

    // Every template passes with no error or warning by construction (private's deny-all is info).
    for template in Template::ALL {
        let (_database, mut db) = shaped(&TableRule::new("notes", template)).await;
        let found = lint(&mut db).await.unwrap();
        let loud: Vec<_> = found.iter().filter(|f| f.level != rls::Level::Info).collect();
        assert!(loud.is_empty(), "{}: {loud:#?}", template.as_str());
    }
}

#[tokio::test]
async fn off_supabase_the_linter_fails_loudly_instead_of_passing() {
    let database = TestDatabase::create().await;
    let mut db = PgConnection::connect(&database.url).await.unwrap();
    // Plain PostgreSQL: a table with RLS off, and no exposed schemas configured.
    db.execute("create table public.wide_open (id int)").await.unwrap();
    match lint(&mut db).await {
        Err(rls::LintError::Preconditions(message)) => {
            assert!(message.contains("anon") || message.contains("pgrst.db_schemas"), "{message}")
        }
        other => panic!("expected a refusal to lint, got {other:?}"),
    }
}

/// Supabase's PostgREST reads `pgrst.db_schemas` from the `authenticator` role's settings; the
/// linter finds it there too when the database has none of its own.
#[tokio::test]
async fn the_exposed_schemas_are_read_where_postgrest_reads_them_too() {
    let database = TestDatabase::create().await;
    let mut db = PgConnection::connect(&database.url).await.unwrap();
    db.execute(slipway_sim::supabase::DATABASE_SHAPE).await.unwrap();
    let name: String = sqlx::query_scalar("select current_database()::text").fetch_one(&mut db).await.unwrap();
    db.execute(format!("alter database {name} reset pgrst.db_schemas").as_str()).await.unwrap();
    db.execute("do $$ begin create role authenticator nologin noinherit; exception when duplicate_object or unique_violation then null; end $$")
        .await
        .unwrap();
    let mut db = PgConnection::connect(&database.url).await.unwrap();
    db.execute("create table public.wide_open (id int)").await.unwrap();
    match lint(&mut db).await {
        Err(rls::LintError::Preconditions(message)) => assert!(message.contains("pgrst.db_schemas"), "{message}"),
        other => panic!("no exposed schema anywhere is a refusal, got {other:?}"),
    }
    // Set for this database only: other databases on the server keep their own.
    db.execute(
        format!("alter role authenticator in database {name} set pgrst.db_schemas = 'public, graphql_public'").as_str(),
    )
    .await
    .unwrap();
    let findings = lint(&mut db).await.unwrap();
    assert!(
        findings.iter().any(|f| f.rule == "rls_disabled_in_public" && f.object == "public.wide_open"),
        "{findings:?}"
    );
}
