//! A venture's databases: each Supabase project's tables with the row-level security template
//! the spec gives them, and the linter's last findings there. Linting on demand runs the
//! linter on every project now, records it, and moves a settled venture between ready and
//! needs-attention.

use serde::{Deserialize, Serialize};

use super::*;
use crate::env::Tier;
use crate::provision::kind;
use crate::rls::{LintReport, Template};
use crate::venture::{NonProductionDatabase, VentureStatus};

/// One table as the spec wants it and as Slipway last wrote it on one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatabaseTable {
    pub table: String,
    pub template: Template,
    /// The column its policies read (none for `private`).
    #[schema(required = true)]
    pub column: Option<String>,
    /// The membership table, for `team`.
    #[schema(required = true)]
    pub membership_table: Option<String>,
    /// Whether the last apply wrote this template there (false: the next apply will).
    pub applied: bool,
}

/// One Supabase project's tables and lint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatabaseProject {
    pub project: Tier,
    pub name: String,
    #[schema(required = true)]
    pub reference: Option<String>,
    pub tables: Vec<DatabaseTable>,
    /// The last lint (after the last apply, or on demand); none before the first apply.
    #[schema(required = true)]
    pub lint: Option<LintReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatabaseOverview {
    pub projects: Vec<DatabaseProject>,
    /// Error findings over every project's last lint: any marks the venture needs-attention.
    pub errors: usize,
}

const PROJECTS: [(Tier, &str, &str); 2] = [
    (Tier::Production, kind::SUPABASE_PROJECT, kind::SUPABASE_POLICIES),
    (Tier::Staging, kind::SUPABASE_STAGING_PROJECT, kind::SUPABASE_STAGING_POLICIES),
];

impl Engine {
    /// Each Supabase project's tables and last lint, from the spec and what applies recorded
    /// (no platform call). Every role may read it.
    pub async fn database(&self, actor: &User, venture_id: &str) -> Result<DatabaseOverview, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let spec = self.stored_spec(&venture).await?;
        let store = &self.inner.store;
        let mut projects = Vec::new();
        for (tier, project_kind, policies_kind) in PROJECTS {
            if tier == Tier::Staging && spec.non_production != NonProductionDatabase::StagingProject {
                continue;
            }
            let reference = store.resource(venture_id, project_kind).await?.and_then(|r| r.external_id);
            let written = crate::provision::read_written(store, venture_id, policies_kind).await?;
            let tables = spec
                .tables
                .iter()
                .map(|rule| DatabaseTable {
                    table: rule.table.clone(),
                    template: rule.template,
                    column: rule.policy_column().map(str::to_string),
                    membership_table: (rule.template == Template::Team).then(|| rule.membership_table.clone()),
                    applied: written.tables.get(&rule.table).is_some_and(|t| t.template == rule.template),
                })
                .collect();
            projects.push(DatabaseProject {
                project: tier,
                name: tier.project_name(&venture.name),
                reference,
                tables,
                lint: written.lint,
            });
        }
        let errors = projects.iter().filter_map(|p| p.lint.as_ref()).map(LintReport::errors).sum();
        Ok(DatabaseOverview { projects, errors })
    }

    /// Runs the linter on every project the venture has now (two read-only queries each),
    /// records the reports and settles the venture's status on them. Creators and admins
    /// (operators watch; the lint is cheap but calls the platform).
    pub async fn lint_venture(&self, actor: &User, venture_id: &str) -> Result<DatabaseOverview, EngineError> {
        let venture = self.live_venture_to_change(actor, venture_id, "lint this venture's databases").await?;
        let store = &self.inner.store;
        let mut linted = 0;
        for (_, project_kind, policies_kind) in PROJECTS {
            let Some(reference) = store.resource(venture_id, project_kind).await?.and_then(|r| r.external_id) else {
                continue;
            };
            let lint = crate::platform::ratelimit::with_patience(
                PLAN_PATIENCE,
                crate::rls::lint_project(&self.inner.platforms.supabase, &reference),
            )
            .await
            .map_err(|err| match StepError::from(err) {
                StepError::OverBudget { retry_after } => EngineError::Busy { retry_after },
                other => EngineError::Platform(other.to_string()),
            })?;
            crate::provision::record_lint(store, venture_id, policies_kind, &reference, &lint).await?;
            let (level, note) = crate::provision::lint_note(&lint);
            let message = format!("Lint of {reference} by {}: {note}", actor.username);
            self.inner.events.emit(venture_id, None, "lint", level, &message).await;
            linted += 1;
        }
        if linted == 0 {
            return Err(EngineError::Conflict(format!("{} has no Supabase project yet: apply it first", venture.name)));
        }
        let overview = self.database(actor, venture_id).await?;
        let status = if overview.errors > 0 { VentureStatus::NeedsAttention } else { VentureStatus::Ready };
        store.settle_venture_status(venture_id, status).await?;
        Ok(overview)
    }
}
