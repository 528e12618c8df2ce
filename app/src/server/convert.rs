//! Views from engine types: the one place the server turns what the engine returns into what
//! the dashboard shows.

use secrecy::SecretString;
use slipway_engine::auth::User;
use slipway_engine::engine::{EnvChange, EnvListing};
use slipway_engine::provision::SyncState;
use slipway_engine::venture::{FieldError, NewVenture, Venture};

use crate::views::{EnvCellView, EnvForm, EnvPanelView, EnvVarView, RevealView, UserView, VentureForm, VentureView};

pub fn user_view(user: &User) -> UserView {
    UserView { username: user.username.clone(), role: user.role.as_str().to_string() }
}

pub fn venture_view(venture: &Venture) -> VentureView {
    VentureView {
        id: venture.id.clone(),
        name: venture.name.clone(),
        repository: venture.repository.clone(),
        status: venture.status.as_str().to_string(),
        vercel_project_id: venture.vercel_project_id.clone(),
        steps_done: 0,
        steps_total: 0,
    }
}

/// The venture spec the one-click form describes; the engine checks its rules (the form's
/// one closed choice, the database, is checked here).
pub fn venture_spec(form: VentureForm) -> Result<NewVenture, FieldError> {
    let given = |value: String| Some(value.trim().to_string()).filter(|v| !v.is_empty());
    let mut spec = NewVenture::new(&form.name, &form.repository);
    if let Some(branch) = given(form.production_branch) {
        spec.production_branch = branch;
    }
    spec.environments.staging.enabled = form.staging.is_some();
    if let Some(branch) = given(form.staging_branch) {
        spec.environments.staging.branch = branch;
    }
    if let Some(region) = given(form.region) {
        spec.supabase.region = region;
    }
    if let Some(database) = given(form.database).filter(|d| d != "default") {
        let choice = serde_json::from_value(serde_json::Value::String(database));
        spec.supabase.non_production = Some(choice.map_err(|_| {
            FieldError::new("supabase.non_production", "must be one of staging-project, none, production")
        })?);
    }
    if let Some(version) = given(form.node_version) {
        spec.framework.node_version = version;
    }
    spec.framework.build_command = given(form.build_command);
    spec.framework.install_command = given(form.install_command);
    spec.framework.output_directory = given(form.output_directory);
    spec.framework.root_directory = given(form.root_directory);
    Ok(spec)
}

/// The Environment tab's view of the engine's listing.
/// `may_change`: the caller may change this venture ([`User::may_change`]).
pub fn env_panel_view(listing: EnvListing, user: &User, may_change: bool) -> EnvPanelView {
    let cell = |value: slipway_engine::engine::EnvValue| {
        let (state, detail) = match value.sync {
            None => ("unknown", None),
            Some(SyncState::InSync) => ("in_sync", None),
            Some(SyncState::Pending(why)) => ("pending", Some(why)),
            Some(SyncState::Failed(why)) => ("failed", Some(why)),
            Some(SyncState::Drifted(why)) => ("drifted", Some(why)),
            Some(SyncState::Blocked(why)) => ("blocked", Some(why)),
        };
        EnvCellView {
            environment: value.environment.as_str().to_string(),
            set: value.set,
            value: value.value,
            state: state.to_string(),
            detail,
        }
    };
    EnvPanelView {
        environments: listing.environments.iter().map(|e| e.as_str().to_string()).collect(),
        // The venture's own variables first: they are what people come to the tab for.
        variables: {
            let (integration, own): (Vec<_>, Vec<_>) =
                listing.variables.into_iter().partition(|v| v.source == slipway_engine::env::Source::Integration);
            own.into_iter().chain(integration)
        }
        .map(|var| EnvVarView {
            key: var.key,
            description: var.description,
            secret: var.secret,
            source: var.source.as_str().to_string(),
            cells: var.values.into_iter().map(cell).collect(),
        })
        .collect(),
        sync_error: listing.sync_error,
        reveals: listing
            .reveals
            .into_iter()
            .map(|r| RevealView {
                line: format!(
                    "{} {} {} ({}) at {}",
                    r.revealed_by,
                    if r.via == slipway_engine::env::Disclosure::Pull { "pulled" } else { "revealed" },
                    r.key,
                    r.environment,
                    crate::views::format_time(r.revealed_at)
                ),
            })
            .collect(),
        can_edit: may_change,
        can_reveal: user.role == slipway_engine::auth::Role::Admin,
    }
}

/// The variable form as the engine's change: the fields typed, and a value for each
/// environment filled in (an empty one is left as it is).
pub fn env_change(form: EnvForm) -> (String, EnvChange) {
    let description = Some(form.description.trim().to_string()).filter(|d| !d.is_empty());
    let values = [
        ("development", form.development),
        ("preview", form.preview),
        ("staging", form.staging),
        ("production", form.production),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(environment, value)| (environment.to_string(), Some(SecretString::from(value))))
    .collect();
    let change = EnvChange { description, secret: Some(form.secret.is_some()), generate: None, values };
    (form.key.trim().to_string(), change)
}

/// The Database & Auth tab: each project's sign-in with its tables and last lint.
pub fn sign_in_view(
    overview: slipway_engine::engine::SignInOverview,
    database: slipway_engine::engine::DatabaseOverview,
) -> crate::views::SignInView {
    use crate::views::{FindingView, LintView, SignInProjectView, SignInProviderView, SignInView, TableView};
    let database_of = |tier| database.projects.iter().find(|d| d.project == tier);
    SignInView {
        lint_errors: database.errors,
        projects: overview
            .projects
            .into_iter()
            .map(|p| SignInProjectView {
                tables: database_of(p.project)
                    .map(|d| {
                        d.tables
                            .iter()
                            .map(|t| TableView {
                                table: t.table.clone(),
                                template: t.template.as_str().into(),
                                column: t.column.clone(),
                                membership_table: t.membership_table.clone(),
                                applied: t.applied,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                lint: database_of(p.project).and_then(|d| d.lint.as_ref()).map(|l| LintView {
                    at: crate::views::format_time(l.at),
                    proven: l.proven,
                    reason: l.reason.clone(),
                    findings: l
                        .findings
                        .iter()
                        .map(|f| FindingView {
                            rule: f.rule.clone(),
                            level: f.level.as_str().into(),
                            object: f.object.clone(),
                            detail: f.detail.clone(),
                            fix: f.fix.clone(),
                        })
                        .collect(),
                }),
                tier: p.project.as_str().into(),
                name: p.name,
                reference: p.reference,
                used_by: p.used_by.iter().map(|e| e.as_str().to_string()).collect(),
                callback_url: p.callback_url,
                site_url: p.site_url,
                redirect_urls: p.redirect_urls,
                providers: p
                    .providers
                    .into_iter()
                    .map(|v| SignInProviderView {
                        provider: v.provider.as_str().into(),
                        title: v.provider.title().into(),
                        enabled: v.enabled,
                        client_id: v.client_id,
                        app: v.app.as_str().into(),
                        secret_set: v.secret_set,
                        tenant: v.tenant,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn finding_views(report: &slipway_engine::domains::diagnosis::Report) -> Vec<crate::views::DoctorFindingView> {
    report
        .findings
        .iter()
        .map(|f| crate::views::DoctorFindingView {
            check: f.check.clone(),
            level: serde_json::to_value(f.level).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
            name: f.name.clone(),
            problem: f.problem.clone(),
            fix: f.fix.clone(),
        })
        .collect()
}

fn provider_label(provider: slipway_engine::domains::DnsProvider) -> &'static str {
    use slipway_engine::domains::DnsProvider;
    match provider {
        DnsProvider::Vercel => "Vercel DNS",
        DnsProvider::Cloudflare => "Cloudflare",
        DnsProvider::Rfc2136 => "RFC 2136 server",
        DnsProvider::Manual => "Manual (at your registrar)",
    }
}

/// The Domains tab's state of the venture's domain.
pub fn domain_state_view(status: slipway_engine::engine::DomainStatus) -> crate::views::DomainStateView {
    crate::views::DomainStateView {
        apex: status.apex.clone(),
        provider: provider_label(status.provider).into(),
        names: status
            .names
            .iter()
            .map(|n| crate::views::DomainNameView {
                name: n.name.clone(),
                role: n.role.clone(),
                attached: n.attached,
                verified: n.verified,
                configured: n.configured,
                https: n.https.as_ref().map(|a| a.outcome()),
                https_ok: n.https.as_ref().is_some_and(|a| a.ok()),
            })
            .collect(),
        certificate: status.certificate.clone(),
        findings: finding_views(&status.report),
        servers: status.report.servers.iter().map(|s| s.server.clone()).collect(),
        elapsed_ms: status.report.elapsed_ms,
    }
}

/// The wizard's choices of DNS provider.
pub fn provider_choices(providers: &[slipway_engine::domains::DnsProvider]) -> Vec<(String, String)> {
    providers.iter().map(|p| (p.as_str().to_string(), provider_label(*p).to_string())).collect()
}

/// The wizard's preview: the domain rows of the plan, record by record, and the findings.
pub fn domain_preview_view(preview: slipway_engine::engine::DomainPreview) -> crate::views::DomainPreviewView {
    use slipway_engine::provision::Action;
    let rows: Vec<_> = preview
        .plan
        .iter()
        .filter(|a| a.resource == "Custom domains" || a.resource == "DNS records")
        .map(|a| {
            let action =
                serde_json::to_value(a.action).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            (a.resource.clone(), action, a.detail.clone(), a.records.iter().map(|r| r.line()).collect())
        })
        .collect();
    crate::views::DomainPreviewView {
        blocked: preview.plan.iter().any(|a| a.action == Action::Blocked),
        primary: preview.primary,
        redirect: preview.redirect,
        staging: preview.staging,
        rows,
        findings: finding_views(&preview.report),
    }
}

pub fn connections_view(report: slipway_engine::engine::ConnectionReport) -> crate::views::ConnectionsView {
    crate::views::ConnectionsView {
        age_seconds: report.age_seconds(slipway_engine::time::now_ms()),
        checking: report.checking,
        statuses: report
            .statuses
            .into_iter()
            .map(|c| crate::views::ConnectionView {
                platform: c.platform,
                base_url: c.base_url,
                connected: c.connected,
                detail: c.detail,
            })
            .collect(),
    }
}

/// The Environment tab's rotations panel.
pub fn rotation_tab_view(
    viewer: &User,
    secrets: Vec<slipway_engine::engine::SecretRotationStatus>,
    history: Vec<slipway_engine::engine::Rotation>,
) -> crate::views::RotationTabView {
    use crate::views::{RotationTabView, RotationView, SecretRotationView};
    use slipway_engine::time::format_utc;
    let secrets = secrets
        .into_iter()
        .map(|s| SecretRotationView {
            since: format!("{} {}", if s.rotated { "rotated" } else { "set" }, format_utc(s.since)),
            due: s.due_at.map(format_utc),
            scheduled: s.scheduled_at.map(format_utc),
            running: s.running,
            warning: s.warning,
            minted: s.minted_by_slipway,
            explanation: s.explanation,
            environments: s.environments.iter().map(ToString::to_string).collect(),
            secret: s.secret,
            class: s.class,
            policy: s.policy,
        })
        .collect();
    let history = history
        .into_iter()
        .map(|r| {
            let mut deployments = Vec::new();
            for (what, built) in
                [("built with it", &r.deployments), ("replaced", &r.replaced), ("restored", &r.restored)]
            {
                for b in built.iter() {
                    deployments.push((what.to_string(), b.environment.to_string(), b.id.clone(), b.url.clone()));
                }
            }
            let outcome = serde_json::to_value(r.outcome).ok().and_then(|v| v.as_str().map(String::from));
            let phase = serde_json::to_value(r.phase).ok().and_then(|v| v.as_str().map(String::from));
            RotationView {
                when: format_utc(r.created_at),
                by: r.requested_by,
                outcome: outcome.unwrap_or_default(),
                phase: phase.unwrap_or_default(),
                error: r.error,
                warning: r.warning,
                waiting: r.waiting_until.map(|at| format!("waiting until {}; it goes on by itself", format_utc(at))),
                cut: r.connections_cut_ms.map(|ms| format!("connections failed for {:.1} s", ms as f64 / 1000.0)),
                secret: r.secret,
                deployments,
            }
        })
        .collect();
    RotationTabView { secrets, history, can_rotate: viewer.role == slipway_engine::auth::Role::Admin }
}
