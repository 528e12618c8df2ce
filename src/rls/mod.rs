//! Row-Level Security from templates: the SQL Slipway writes for a table, the way Supabase's
//! guide recommends it (`supabase/supabase` `guides/database/postgres/row-level-security.mdx`):
//! grants revoked, then granted per role; RLS enabled; one policy per command, `to
//! authenticated` (or `anon` where meant), `(select auth.uid())` so it is evaluated once per
//! statement, an index on the policy column, and helper functions `security definer` with
//! `set search_path = ''` in a schema the API does not expose.
//!
//! The script is idempotent: it drops the table's `slipway_` policies before creating the
//! template's, so re-running it leaves the same policies and a changed template replaces the
//! old ones by name. Policies anyone else wrote are left alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// The most tables one spec may name (each adds statements to one transaction).
pub const MAX_TABLES: usize = 100;

/// The spec's `database` section: the tables in `public` whose row-level security Slipway
/// writes, on every Supabase project the venture has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseInput {
    /// Each table by name, with its template. A table that does not exist yet is created with
    /// an `id`, the template's column and `created_at`; an existing one must have the column.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "crate::env::unique_keys")]
    #[schema(value_type = BTreeMap<wire::Identifier, TableInput>, example = json!({"notes": {"template": "owner"}}))]
    pub tables: BTreeMap<String, TableInput>,
}

/// One table's template and the columns it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TableInput {
    #[schema(value_type = Template)]
    pub template: String,
    /// The `uuid` column holding the owner's user id (owner, public-read, authenticated-read);
    /// default `user_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Identifier>)]
    pub owner_column: Option<String>,
    /// The `uuid` column holding the row's team (team only); default `team_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Identifier>)]
    pub team_column: Option<String>,
    /// The membership table (`team_id`, `user_id`), created if missing (team only); default
    /// `team_members`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::Identifier>)]
    pub membership_table: Option<String>,
}

/// The `database` section from JSON or TOML, refusing an array where a table belongs (serde
/// would read a struct from a sequence).
pub fn deserialize_section<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DatabaseInput, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(deserializer)?;
    if !value.is_object() {
        return Err(D::Error::custom("database must be a table (an object)"));
    }
    if let Some(tables) = value.get("tables").and_then(|t| t.as_object()) {
        for (name, table) in tables {
            if !table.is_object() {
                return Err(D::Error::custom(format!("database.tables.{name} must be a table (an object)")));
            }
        }
    }
    serde_json::from_value(value).map_err(D::Error::custom)
}

impl DatabaseInput {
    pub fn is_unset(&self) -> bool {
        self.tables.is_empty()
    }

    /// Every broken rule, each naming its field (`database.tables.notes.template`).
    pub fn check(&self) -> Result<Vec<TableRule>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        if self.tables.len() > MAX_TABLES {
            errors.push(FieldError::new("database.tables", format!("must name at most {MAX_TABLES} tables")));
        }
        for (name, input) in &self.tables {
            let field = format!("database.tables.{name}");
            let mut broken = false;
            if let Err(e) = check_identifier(&field, name) {
                errors.push(e);
                broken = true;
            }
            let template = match Template::parse(&format!("{field}.template"), &input.template) {
                Ok(template) => template,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let mut rule = TableRule::new(name, template);
            let reads_owner = matches!(template, Template::Owner | Template::PublicRead | Template::AuthenticatedRead);
            for (key, value, read, target) in [
                ("owner_column", &input.owner_column, reads_owner, &mut rule.owner_column),
                ("team_column", &input.team_column, template == Template::Team, &mut rule.team_column),
                ("membership_table", &input.membership_table, template == Template::Team, &mut rule.membership_table),
            ] {
                let Some(value) = value else { continue };
                let field = format!("{field}.{key}");
                if !read {
                    errors
                        .push(FieldError::new(&field, format!("the {} template does not read it", template.as_str())));
                    broken = true;
                } else if let Err(e) = check_identifier(&field, value) {
                    errors.push(e);
                    broken = true;
                } else {
                    *target = value.clone();
                }
            }
            if template == Template::Team && rule.membership_table == rule.table {
                errors.push(FieldError::new(&format!("{field}.membership_table"), "must be another table"));
                broken = true;
            }
            if !broken {
                rules.push(rule);
            }
        }
        for rule in rules.iter().filter(|r| r.template == Template::Team) {
            if self.tables.contains_key(&rule.membership_table) {
                errors.push(FieldError::new(
                    &format!("database.tables.{}", rule.membership_table),
                    format!(
                        "is the membership table of {} (team template): Slipway writes its policies, so it takes no template",
                        rule.table
                    ),
                ));
            }
        }
        if errors.is_empty() { Ok(rules) } else { Err(errors) }
    }
}

/// The shapes the OpenAPI document gives the section's names; schema only.
pub mod wire {
    /// A PostgreSQL identifier Slipway writes (see [`super::check_identifier`]).
    #[derive(utoipa::ToSchema)]
    #[schema(
        description = "Lowercase letters, digits and '_', not starting with a digit or pg_, at most 63 characters.",
        pattern = "^(?:[a-oq-z_][a-z0-9_]{0,62}|p|p[a-fh-z0-9_][a-z0-9_]{0,61}|pg|pg[a-z0-9][a-z0-9_]{0,60})$",
        example = "notes"
    )]
    pub struct Identifier(pub String);
}

/// Who may do what with a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Template {
    /// A signed-in user reads and writes their own rows (`owner_column` = their id).
    Owner,
    /// Anyone reads, signed in or not; the owner writes.
    PublicRead,
    /// Signed-in users read every row; the owner writes.
    AuthenticatedRead,
    /// Members of the row's team read and write it (through the membership table).
    Team,
    /// Only the service role (server code), which bypasses RLS.
    Private,
}

impl Template {
    pub const ALL: [Template; 5] =
        [Template::Owner, Template::PublicRead, Template::AuthenticatedRead, Template::Team, Template::Private];

    pub fn as_str(self) -> &'static str {
        match self {
            Template::Owner => "owner",
            Template::PublicRead => "public-read",
            Template::AuthenticatedRead => "authenticated-read",
            Template::Team => "team",
            Template::Private => "private",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Template, FieldError> {
        Template::ALL.into_iter().find(|t| t.as_str() == raw).ok_or_else(|| {
            FieldError::new(field, "must be one of owner, public-read, authenticated-read, team, private")
        })
    }
}

/// PostgreSQL identifiers Slipway writes unquoted-safe: lowercase, at most 63 bytes.
pub fn check_identifier(field: &str, raw: &str) -> Result<(), FieldError> {
    let mut chars = raw.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') || raw.len() > 63 {
        return Err(FieldError::new(field, "must match ^[a-z_][a-z0-9_]*$ and be at most 63 characters"));
    }
    if raw.starts_with("pg_") {
        return Err(FieldError::new(field, "must not start with pg_ (PostgreSQL reserves it)"));
    }
    Ok(())
}

/// One table's rule: which template, and the columns it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRule {
    pub schema: String,
    pub table: String,
    pub template: Template,
    /// The column holding the owning user's id (`uuid`), for templates with an owner.
    pub owner_column: String,
    /// The column holding the row's team (`uuid`), for `team`.
    pub team_column: String,
    /// The membership table (`team_id`, `user_id` columns) in the same schema, for `team`.
    pub membership_table: String,
}

impl TableRule {
    pub fn new(table: &str, template: Template) -> TableRule {
        TableRule {
            schema: "public".into(),
            table: table.into(),
            template,
            owner_column: "user_id".into(),
            team_column: "team_id".into(),
            membership_table: "team_members".into(),
        }
    }

    fn qualified(&self) -> String {
        format!("\"{}\".\"{}\"", self.schema, self.table)
    }

    /// The helper that lists the caller's teams (in schema `private`, never exposed).
    pub fn team_helper(&self) -> String {
        format!("private.\"slipway_teams_of_{}\"", self.membership_table)
    }

    /// The column the template's policies read, if any.
    pub fn policy_column(&self) -> Option<&str> {
        match self.template {
            Template::Owner | Template::PublicRead | Template::AuthenticatedRead => Some(&self.owner_column),
            Template::Team => Some(&self.team_column),
            Template::Private => None,
        }
    }

    /// Creates the table when it does not exist yet, and refuses one without the column the
    /// policies read (a policy on a missing column would fail with a less helpful message).
    fn table_sql(&self) -> String {
        let table = self.qualified();
        let mut columns = Vec::new();
        match self.policy_column() {
            Some("id") if self.template != Template::Team => columns.push(
                "\"id\" uuid primary key default auth.uid() references auth.users (id) on delete cascade".to_string(),
            ),
            Some(column) => {
                columns.push("\"id\" uuid primary key default gen_random_uuid()".into());
                if column != "id" {
                    columns.push(match self.template {
                        Template::Team => format!("\"{column}\" uuid not null"),
                        _ => format!(
                            "\"{column}\" uuid not null default auth.uid() references auth.users (id) on delete cascade"
                        ),
                    });
                }
            }
            None => columns.push("\"id\" uuid primary key default gen_random_uuid()".into()),
        }
        columns.push("\"created_at\" timestamptz not null default now()".into());
        let mut sql = format!("create table if not exists {table} (\n  {}\n);\n", columns.join(",\n  "));
        if let Some(column) = self.policy_column() {
            let setting = match self.template {
                Template::Team => "team_column",
                _ => "owner_column",
            };
            sql.push_str(&format!(
                "do $slipway$ begin\n  if not exists (select 1 from information_schema.columns where table_schema = '{schema}' \
                 and table_name = '{name}' and column_name = '{column}' and data_type = 'uuid') then\n    \
                 raise exception 'table {schema}.{name} has no uuid column {column}, which the {template} template reads: \
                 add it, or name another with database.tables.{name}.{setting}';\n  end if;\nend $slipway$;\n",
                schema = self.schema,
                name = self.table,
                template = self.template.as_str(),
            ));
        }
        sql
    }

    /// The membership table `team` reads: created when missing, readable by each member for
    /// their own memberships only, written by the service role (server code).
    fn membership_sql(&self) -> String {
        let members = format!("\"{}\".\"{}\"", self.schema, self.membership_table);
        format!(
            "create table if not exists {members} (\n  \"team_id\" uuid not null,\n  \
             \"user_id\" uuid not null references auth.users (id) on delete cascade,\n  \
             primary key (\"team_id\", \"user_id\")\n);\n\
             revoke all on table {members} from anon, authenticated;\n\
             grant select on table {members} to authenticated;\n\
             alter table {members} enable row level security;\n\
             drop policy if exists \"slipway_member_select\" on {members};\n\
             create policy \"slipway_member_select\" on {members} for select to authenticated \
             using ((select auth.uid()) = \"user_id\");\n\
             create index if not exists \"{name}_user_id_slipway_idx\" on {members} (\"user_id\");\n",
            name = self.membership_table,
        )
    }

    /// Who may do what: (command, roles, using, with check) per policy.
    fn policies(&self) -> Vec<(&'static str, &'static str, Option<String>, Option<String>)> {
        let owner = format!("(select auth.uid()) = \"{}\"", self.owner_column);
        let owner_writes = |policies: &mut Vec<_>| {
            policies.push(("insert", "authenticated", None, Some(owner.clone())));
            policies.push(("update", "authenticated", Some(owner.clone()), Some(owner.clone())));
            policies.push(("delete", "authenticated", Some(owner.clone()), None));
        };
        let mut policies = Vec::new();
        match self.template {
            Template::Owner => {
                policies.push(("select", "authenticated", Some(owner.clone()), None));
                owner_writes(&mut policies);
            }
            Template::PublicRead => {
                policies.push(("select", "anon, authenticated", Some("true".into()), None));
                owner_writes(&mut policies);
            }
            Template::AuthenticatedRead => {
                policies.push(("select", "authenticated", Some("true".into()), None));
                owner_writes(&mut policies);
            }
            Template::Team => {
                let member = format!("\"{}\" in (select {}())", self.team_column, self.team_helper());
                policies.push(("select", "authenticated", Some(member.clone()), None));
                policies.push(("insert", "authenticated", None, Some(member.clone())));
                policies.push(("update", "authenticated", Some(member.clone()), Some(member.clone())));
                policies.push(("delete", "authenticated", Some(member), None));
            }
            Template::Private => {}
        }
        policies
    }

    /// The privileges each API role gets on the table (the service role keeps Supabase's).
    fn grants(&self) -> Vec<(&'static str, &'static str)> {
        let all = "select, insert, update, delete";
        match self.template {
            Template::Owner | Template::AuthenticatedRead | Template::Team => vec![("authenticated", all)],
            Template::PublicRead => vec![("anon", "select"), ("authenticated", all)],
            Template::Private => vec![],
        }
    }

    /// The script that puts the template in place, idempotently, to run in one transaction.
    pub fn sql(&self) -> String {
        let table = self.qualified();
        let mut sql = format!("-- slipway: {table} is {}\n", self.template.as_str());
        sql.push_str(&self.table_sql());
        if self.template == Template::Team {
            sql.push_str(&self.membership_sql());
        }
        sql.push_str(&format!("revoke all on table {table} from anon, authenticated;\n"));
        for (role, privileges) in self.grants() {
            sql.push_str(&format!("grant {privileges} on table {table} to {role};\n"));
        }
        sql.push_str(&format!("alter table {table} enable row level security;\n"));
        sql.push_str(&format!(
            "do $slipway$ declare p record; begin\n  for p in select policyname from pg_policies \
             where schemaname = '{schema}' and tablename = '{name}' and policyname like 'slipway\\_%' loop\n    \
             execute format('drop policy %I on {table}', p.policyname);\n  end loop;\nend $slipway$;\n",
            schema = self.schema,
            name = self.table,
        ));
        if self.template == Template::Team {
            let helper = self.team_helper();
            sql.push_str(&format!(
                "create schema if not exists private;\nrevoke all on schema private from public;\n\
                 grant usage on schema private to authenticated;\n\
                 create or replace function {helper}() returns setof uuid\n  language sql stable security definer \
                 set search_path = ''\n  as $fn$ select m.team_id from \"{schema}\".\"{members}\" m \
                 where m.user_id = (select auth.uid()) $fn$;\n\
                 revoke all on function {helper}() from public, anon;\n\
                 grant execute on function {helper}() to authenticated;\n",
                schema = self.schema,
                members = self.membership_table,
            ));
        }
        for (command, roles, using, check) in self.policies() {
            sql.push_str(&format!(
                "create policy \"slipway_{}_{command}\" on {table} for {command} to {roles}",
                self.template.as_str().replace('-', "_")
            ));
            if let Some(using) = using {
                sql.push_str(&format!(" using ({using})"));
            }
            if let Some(check) = check {
                sql.push_str(&format!(" with check ({check})"));
            }
            sql.push_str(";\n");
        }
        if let Some(column) = self.policy_column() {
            // The policy's column leads a btree index, so the filter is an index lookup.
            sql.push_str(&format!(
                "create index if not exists \"{}_{column}_slipway_idx\" on {table} (\"{column}\");\n",
                self.table
            ));
        }
        sql
    }
}

/// One row per listed table that exists: `table`, and `state`, a digest of what its template
/// sets (RLS on or off, the API roles' privileges, Slipway's policies as PostgreSQL deparsed
/// them). Equal states mean nothing changed since Slipway last looked; read-only.
pub fn observe_sql(rules: &[TableRule]) -> String {
    let names: Vec<String> = rules.iter().map(|r| format!("'{}'", r.table)).collect();
    format!(
        "select c.relname as \"table\", md5(concat_ws(' | ', c.relrowsecurity::text,
  (select string_agg(r || '=' || array_to_string(array(select x from unnest(array['select', 'insert', 'update', 'delete']) x
     where has_table_privilege(r, c.oid, x)), ','), ' ' order by r) from unnest(array['anon', 'authenticated']) r),
  (select string_agg(concat_ws(':', p.policyname, p.cmd, array_to_string(p.roles, ','), p.qual, p.with_check), ' | '
     order by p.policyname) from pg_policies p
     where p.schemaname = n.nspname and p.tablename = c.relname and p.policyname like 'slipway\\_%'))) as state
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname in ({})
order by c.relname",
        if names.is_empty() { "''".to_string() } else { names.join(", ") }
    )
}

/// The lints' preconditions, one row: `api_roles` (of anon, authenticated, service_role) and
/// `exposed_schemas` (`pgrst.db_schemas`).
pub static PREFLIGHT_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| with_exposed(include_str!("preflight.sql")));
/// The lints: one row per finding (`rule`, `level`, `object`, `detail`, `fix`), worst first.
pub static LINT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| with_exposed(include_str!("lint.sql")));

/// Splices the one definition of the exposed schemas into a script.
fn with_exposed(script: &str) -> String {
    let expression = include_str!("exposed_schemas.sql");
    let expression: String = expression.lines().filter(|l| !l.starts_with("--")).collect::<Vec<_>>().join("\n");
    script.replace("EXPOSED_SCHEMAS", expression.trim())
}

/// How much a finding matters: an error marks the venture "needs attention".
pub use crate::finding::Level;

/// One thing the linter found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// Supabase's advisor name for the same rule, so Studio can cross-check it.
    pub rule: String,
    pub level: Level,
    /// The table, policy, function or view.
    pub object: String,
    pub detail: String,
    pub fix: String,
}

/// Why the linter could not run: it refuses to pass silently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LintError {
    #[error("the lints cannot run on this database: {0}")]
    Preconditions(String),
    #[error("the lint answer does not read: {0}")]
    Answer(String),
}

/// Checks [`PREFLIGHT_SQL`]'s row: without Supabase's roles or with no exposed schema, every
/// exposure lint would find nothing, so that is an error, never zero findings.
pub fn check_preflight(row: &serde_json::Value) -> Result<(), LintError> {
    let roles = row["api_roles"].as_i64().unwrap_or(0);
    let schemas = row["exposed_schemas"].as_str().unwrap_or_default().trim();
    if roles < 3 {
        return Err(LintError::Preconditions(
            "the roles anon, authenticated and service_role do not all exist (is this a Supabase database?)".into(),
        ));
    }
    if schemas.is_empty() {
        return Err(LintError::Preconditions(
            "pgrst.db_schemas is unset, so no schema counts as exposed and every exposure check would pass".into(),
        ));
    }
    Ok(())
}

/// The last lint of one project: its findings, or why they could not be proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LintReport {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// Whether the lints ran; when not, `reason` says why and `findings` is empty.
    pub proven: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub findings: Vec<Finding>,
}

impl LintReport {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Error).count()
    }
}

/// Runs the preflight and then the lints on a project through the read-only query endpoint.
/// A database whose preconditions are missing (or that answers no preflight row at all, as a
/// sandbox without PostgreSQL does) gives an unproven report, never an empty one.
pub async fn lint_project(
    supabase: &crate::platform::supabase::SupabaseClient,
    reference: &str,
) -> Result<LintReport, crate::platform::api::ApiError> {
    let at = crate::time::now_ms();
    let unproven = |reason: String| LintReport { at, proven: false, reason: Some(reason), findings: Vec::new() };
    // A database that refuses the lint's SQL (a permission, a missing catalog) is unproven,
    // said with its reason; it does not fail the apply. Outages and rate limits still do.
    let refused = |err: crate::platform::api::ApiError| {
        if err.is(crate::platform::api::ErrorKind::BadRequest) {
            Ok(unproven(format!("the database refused the lint's SQL: {}", err.message)))
        } else {
            Err(err)
        }
    };
    let preflight = match supabase.run_read_only_query(reference, &PREFLIGHT_SQL).await {
        Ok(rows) => rows,
        Err(err) => return refused(err),
    };
    let Some(row) = preflight.first() else {
        return Ok(unproven(
            "the database answered the preflight with no row: its SQL is not run here (a sandbox without \
             PostgreSQL), so the policies could not be proven"
                .into(),
        ));
    };
    if let Err(e) = check_preflight(&serde_json::Value::Object(row.clone())) {
        return Ok(unproven(e.to_string()));
    }
    let rows = match supabase.run_read_only_query(reference, &LINT_SQL).await {
        Ok(rows) => rows,
        Err(err) => return refused(err),
    };
    match findings(rows.into_iter().map(serde_json::Value::Object).collect()) {
        Ok(findings) => Ok(LintReport { at, proven: true, reason: None, findings }),
        Err(e) => Ok(unproven(e.to_string())),
    }
}

/// [`LINT_SQL`]'s rows as findings.
pub fn findings(rows: Vec<serde_json::Value>) -> Result<Vec<Finding>, LintError> {
    rows.into_iter().map(|row| serde_json::from_value(row).map_err(|e| LintError::Answer(e.to_string()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_follows_supabase_advice_and_names_every_policy_for_replacement() {
        let sql = TableRule::new("notes", Template::Owner).sql();
        let revoke = sql.find("revoke all on table").unwrap();
        let grant = sql.find("grant select, insert, update, delete").unwrap();
        let enable = sql.find("enable row level security").unwrap();
        assert!(revoke < grant && grant < enable, "grants first, then RLS: {sql}");
        assert!(sql.contains("(select auth.uid()) = \"user_id\""));
        let policies: String = sql.lines().filter(|l| l.starts_with("create policy")).collect();
        assert!(!policies.replace("(select auth.uid())", "").contains("auth.uid()"), "never a bare auth.uid(): {sql}");
        assert!(sql.starts_with("-- slipway") && sql.contains("create table if not exists \"public\".\"notes\" ("));
        assert!(sql.contains("has no uuid column user_id, which the owner template reads"), "{sql}");
        assert_eq!(sql.matches("create policy \"slipway_owner_").count(), 4);
        assert!(sql.contains("to authenticated") && !sql.contains("to anon"));
        assert!(sql.contains("create index if not exists \"notes_user_id_slipway_idx\""));

        let team = TableRule::new("projects", Template::Team).sql();
        assert!(team.contains("security definer set search_path = ''"), "{team}");
        assert!(team.contains("\"team_id\" in (select private.\"slipway_teams_of_team_members\"())"));
        let public = TableRule::new("posts", Template::PublicRead).sql();
        assert!(public.contains("grant select on table \"public\".\"posts\" to anon;"));
        assert!(public.contains("for select to anon, authenticated using (true)"));
        let private = TableRule::new("audit", Template::Private).sql();
        assert!(!private.contains("create policy") && !private.contains("grant "), "{private}");
    }

    fn section(json: serde_json::Value) -> Result<Vec<TableRule>, Vec<FieldError>> {
        let input: DatabaseInput = serde_json::from_value(json).unwrap();
        input.check()
    }

    #[test]
    fn the_database_section_names_each_broken_field_and_reads_tables_only() {
        let rules = section(serde_json::json!({"tables": {
            "notes": {"template": "owner"},
            "profiles": {"template": "authenticated-read", "owner_column": "id"},
            "projects": {"template": "team", "team_column": "org_id", "membership_table": "org_members"},
        }}))
        .unwrap();
        assert_eq!(rules.iter().map(|r| r.table.as_str()).collect::<Vec<_>>(), ["notes", "profiles", "projects"]);
        assert_eq!(rules[1].policy_column(), Some("id"));
        assert!(rules[1].sql().contains("\"id\" uuid primary key default auth.uid() references auth.users"));
        assert_eq!((rules[2].team_column.as_str(), rules[2].membership_table.as_str()), ("org_id", "org_members"));

        let errors = section(serde_json::json!({"tables": {
            "Notes": {"template": "owner"},
            "posts": {"template": "everyone"},
            "audit": {"template": "private", "owner_column": "user_id"},
            "docs": {"template": "owner", "team_column": "team_id"},
            "projects": {"template": "team"},
            "team_members": {"template": "owner"},
            "loop": {"template": "team", "membership_table": "loop"},
        }}))
        .unwrap_err();
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
        for (field, rule) in [
            ("database.tables.Notes", "must match ^[a-z_][a-z0-9_]*$"),
            ("database.tables.posts.template", "must be one of owner, public-read"),
            ("database.tables.audit.owner_column", "the private template does not read it"),
            ("database.tables.docs.team_column", "the owner template does not read it"),
            ("database.tables.team_members", "is the membership table of projects"),
            ("database.tables.loop.membership_table", "must be another table"),
        ] {
            assert!(fields.iter().any(|(f, m)| *f == field && m.starts_with(rule)), "{field}: {fields:?}");
        }
        assert_eq!(fields.len(), 6, "{fields:?}");

        // An array where a table belongs is refused, not read as a struct.
        let spec = serde_json::json!({"name": "a", "repository": "a/b", "database": {"tables": {"notes": ["owner"]}}});
        let refused = serde_json::from_value::<crate::venture::NewVenture>(spec).unwrap_err().to_string();
        assert!(refused.contains("database.tables.notes must be a table"), "{refused}");
        let spec = serde_json::json!({"name": "a", "repository": "a/b", "database": [{"tables": {}}]});
        assert!(serde_json::from_value::<crate::venture::NewVenture>(spec).is_err());
    }

    #[test]
    fn names_and_templates_are_checked_naming_the_field() {
        assert!(check_identifier("t", "notes_2").is_ok());
        for bad in ["Notes", "2notes", "no-tes", "pg_notes", "", &"x".repeat(64)] {
            assert!(check_identifier("database.tables.x", bad).is_err(), "{bad}");
        }
        let err = Template::parse("database.tables.notes.template", "owners").unwrap_err();
        assert_eq!(err.field, "database.tables.notes.template");
        assert!(err.message.contains("public-read"));
    }
}
