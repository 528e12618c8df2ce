//! `supabase.policies` and `supabase.staging_policies`: each Supabase project's row-level
//! security, from the spec's table templates ([`crate::rls`]), then the linter over the whole
//! database. What changed is written in one `database/query` call, so one transaction; what a
//! table looked like after Slipway wrote it is kept as a digest of the catalog, so a converged
//! project costs one read and writes nothing, and a policy or grant changed at Supabase shows as
//! drift in the plan.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::SupabaseReady;
use super::supabase_project::{ForTier, ProjectRef, wanted};
use crate::events::Level;
use crate::platform::supabase::QueryRequest;
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};
use crate::rls::{self, LintReport, TableRule, Template};
use crate::store::Store;

/// What Slipway wrote on the project last, and the last lint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Written {
    #[serde(default)]
    pub tables: BTreeMap<String, WrittenTable>,
    #[serde(default)]
    pub lint: Option<LintReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenTable {
    pub template: Template,
    /// A digest of the SQL written: Slipway's own SQL for a template changing is a change too.
    pub sql: String,
    /// The catalog's state of the table after the write (`None`: the database showed no such
    /// table, as a sandbox without PostgreSQL answers).
    pub state: Option<String>,
}

pub enum Observed {
    /// The spec wants no such project.
    NotWanted,
    /// The project does not exist yet (a plan before the first apply).
    Pending,
    Live {
        reference: String,
        /// Each spec table that exists there, by name: its catalog state.
        states: BTreeMap<String, String>,
        written: Written,
    },
}

pub struct SupabasePolicies<T>(PhantomData<T>);

fn sql_digest(rule: &TableRule) -> String {
    crate::digest::digest(&[&rule.sql()])
}

/// The tables to write, each with why.
fn changes(rules: &[TableRule], states: &BTreeMap<String, String>, written: &Written) -> Vec<(TableRule, String)> {
    let mut out = Vec::new();
    for rule in rules {
        let template = rule.template.as_str();
        let observed = states.get(&rule.table);
        let why = match written.tables.get(&rule.table) {
            None if observed.is_some() => Some(format!("{}: {template} (existing table)", rule.table)),
            None => Some(format!("{}: {template} (new table)", rule.table)),
            Some(was) if was.template != rule.template => {
                Some(format!("{}: {} → {template}", rule.table, was.template.as_str()))
            }
            Some(was) if was.sql != sql_digest(rule) => {
                Some(format!("{}: {template} (Slipway's SQL for it changed)", rule.table))
            }
            Some(was) if was.state.is_some() && observed.is_none() => {
                Some(format!("{}: {template} (the table is gone at Supabase: created again)", rule.table))
            }
            Some(was) if was.state.as_ref() != observed => {
                Some(format!("{}: {template} (its policies or grants were changed at Supabase)", rule.table))
            }
            Some(_) => None,
        };
        if let Some(why) = why {
            out.push((rule.clone(), why));
        }
    }
    out
}

fn summary(rules: &[TableRule]) -> String {
    if rules.is_empty() {
        return "no tables in the spec; the linter still checks the database after each apply".into();
    }
    let tables: Vec<String> = rules.iter().map(|r| format!("{} ({})", r.table, r.template.as_str())).collect();
    format!("{} table(s): {}", rules.len(), tables.join(", "))
}

/// The last lint's error findings, named for the plan.
fn lint_warning(written: &Written) -> Option<String> {
    let lint = written.lint.as_ref()?;
    let errors: Vec<String> = lint
        .findings
        .iter()
        .filter(|f| f.level == rls::Level::Error)
        .map(|f| format!("{} on {}", f.rule, f.object))
        .collect();
    (!errors.is_empty()).then(|| format!("the last lint found {} error(s): {}", errors.len(), errors.join("; ")))
}

async fn observe_states(
    ctx: &Context,
    reference: &str,
    rules: &[TableRule],
) -> Result<BTreeMap<String, String>, StepError> {
    if rules.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows = ctx.platforms.supabase.run_read_only_query(reference, &rls::observe_sql(rules)).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((row.get("table")?.as_str()?.to_string(), row.get("state")?.as_str()?.to_string())))
        .collect())
}

/// What the record of `kind` (`supabase_policies` or `supabase_staging_policies`) holds.
pub async fn read_written(store: &Store, venture_id: &str, kind: &str) -> Result<Written, sqlx::Error> {
    Ok(match store.resource(venture_id, kind).await? {
        Some(record) => serde_json::from_value(record.data).unwrap_or_default(),
        None => Written::default(),
    })
}

/// How many error findings the venture's last lints hold, over its projects.
pub async fn lint_errors(store: &Store, venture_id: &str) -> Result<usize, sqlx::Error> {
    let mut errors = 0;
    for kind in [super::kind::SUPABASE_POLICIES, super::kind::SUPABASE_STAGING_POLICIES] {
        errors += read_written(store, venture_id, kind).await?.lint.map(|l| l.errors()).unwrap_or(0);
    }
    Ok(errors)
}

/// Records a lint run on demand beside what the last apply wrote.
pub async fn record_lint(
    store: &Store,
    venture_id: &str,
    kind: &str,
    reference: &str,
    lint: &LintReport,
) -> Result<(), sqlx::Error> {
    let mut written = read_written(store, venture_id, kind).await?;
    written.lint = Some(lint.clone());
    store.set_resource(venture_id, kind, Some(reference), &json!(written)).await
}

impl<T: ForTier> Resource for SupabasePolicies<T> {
    const NAME: &'static str = T::POLICIES.0;
    const TITLE: &'static str = T::POLICIES.1;
    /// `None`: the spec wants no such project.
    type Output = Option<ProjectRef>;
    type Observed = Observed;

    async fn observe(ctx: &Context, upstream: &Upstream) -> Result<Observed, StepError> {
        if !wanted::<T>(ctx) {
            return Ok(Observed::NotWanted);
        }
        let Some(project) = upstream.get::<SupabaseReady<T>>().flatten() else { return Ok(Observed::Pending) };
        let states = observe_states(ctx, &project.reference, &ctx.spec.tables).await?;
        let written = read_written(&ctx.store, &ctx.venture.id, T::POLICIES_KIND).await?;
        Ok(Observed::Live { reference: project.reference, states, written })
    }

    fn diff(ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        let rules = &ctx.spec.tables;
        match observed {
            Observed::NotWanted => Change::new(Action::NoChange, "none: there is no staging project"),
            Observed::Pending if rules.is_empty() => Change::new(Action::NoChange, summary(rules)),
            Observed::Pending => Change::new(Action::Create, summary(rules)),
            Observed::Live { states, written, .. } => {
                let todo = changes(rules, states, written);
                let change = if todo.is_empty() {
                    Change::new(Action::NoChange, summary(rules))
                } else {
                    let why: Vec<&str> = todo.iter().map(|(_, why)| why.as_str()).collect();
                    Change::new(if written.tables.is_empty() { Action::Create } else { Action::Update }, why.join("; "))
                };
                match lint_warning(written) {
                    Some(warning) => change.warning(warning),
                    None => change,
                }
            }
        }
    }

    fn current(observed: &Observed) -> Option<Option<ProjectRef>> {
        match observed {
            Observed::NotWanted => Some(None),
            Observed::Live { reference, .. } => Some(Some(ProjectRef { reference: reference.clone() })),
            Observed::Pending => None,
        }
    }

    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Observed,
        _change: &Change,
    ) -> Result<Applied<Option<ProjectRef>>, StepError> {
        let (reference, states, mut written) = match observed {
            Observed::NotWanted => return Ok(Applied { changed: false, output: None }),
            Observed::Live { reference, states, written } => (reference, states, written),
            Observed::Pending => return Err(StepError::Permanent("the Supabase project reference is missing".into())),
        };
        let rules = &ctx.spec.tables;
        let todo = changes(rules, &states, &written);
        let changed = !todo.is_empty();
        if changed {
            // One request, so one transaction: a failing table leaves every table as it was.
            let script: String = todo.iter().map(|(rule, _)| rule.sql()).collect();
            ctx.platforms.supabase.run_query(&reference, &QueryRequest::new(script)).await.map_err(|err| {
                let err = StepError::from(err);
                match err {
                    StepError::Permanent(why) => StepError::Permanent(format!(
                        "the row-level security SQL was refused, and nothing of it applied: {why}"
                    )),
                    other => other,
                }
            })?;
            let why: Vec<&str> = todo.iter().map(|(_, why)| why.as_str()).collect();
            ctx.emit(Self::NAME, Level::Info, format!("{} of {reference}: {}", T::POLICIES.1, why.join("; "))).await;
        }
        let states = if changed { observe_states(ctx, &reference, rules).await? } else { states };
        written.tables = rules
            .iter()
            .map(|rule| {
                let table = WrittenTable {
                    template: rule.template,
                    sql: sql_digest(rule),
                    state: states.get(&rule.table).cloned(),
                };
                (rule.table.clone(), table)
            })
            .collect();
        let lint = rls::lint_project(&ctx.platforms.supabase, &reference).await?;
        written.lint = Some(lint.clone());
        ctx.store.set_resource(&ctx.venture.id, T::POLICIES_KIND, Some(&reference), &json!(written)).await?;
        let (level, note) = lint_note(&lint);
        ctx.emit(Self::NAME, level, format!("Lint of {reference}: {note}")).await;
        Ok(Applied { changed, output: Some(ProjectRef { reference }) })
    }

    /// The policies go with the project; only the record is Slipway's to remove.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        Ok(ctx.store.delete_resource(&ctx.venture.id, T::POLICIES_KIND).await?)
    }
}

/// A lint's outcome in one line, and how loudly to say it.
pub fn lint_note(lint: &LintReport) -> (Level, String) {
    if !lint.proven {
        return (Level::Warn, format!("unproven: {}", lint.reason.as_deref().unwrap_or("no reason given")));
    }
    if lint.findings.is_empty() {
        return (Level::Info, "clean".into());
    }
    let said: Vec<String> =
        lint.findings.iter().map(|f| format!("{} {} on {}", f.level.as_str(), f.rule, f.object)).collect();
    let level = if lint.errors() > 0 { Level::Warn } else { Level::Info };
    (level, format!("{} finding(s): {}", lint.findings.len(), said.join("; ")))
}
