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

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

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
        let column = match self.template {
            Template::Owner | Template::PublicRead | Template::AuthenticatedRead => Some(&self.owner_column),
            Template::Team => Some(&self.team_column),
            Template::Private => None,
        };
        if let Some(column) = column {
            // The policy's column leads a btree index, so the filter is an index lookup.
            sql.push_str(&format!(
                "create index if not exists \"{}_{column}_slipway_idx\" on {table} (\"{column}\");\n",
                self.table
            ));
        }
        sql
    }
}

/// The lints' preconditions, one row: `api_roles` (of anon, authenticated, service_role) and
/// `exposed_schemas` (`pgrst.db_schemas`).
pub const PREFLIGHT_SQL: &str = include_str!("preflight.sql");
/// The lints: one row per finding (`rule`, `level`, `object`, `detail`, `fix`), worst first.
pub const LINT_SQL: &str = include_str!("lint.sql");

/// How much a finding matters: an error marks the venture "needs attention".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warn,
    Info,
}

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
        assert!(!sql.replace("(select auth.uid())", "").contains("auth.uid()"), "never a bare auth.uid(): {sql}");
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
