//! The Database & Auth tab: each Supabase project, the environments it serves, its tables with
//! their row-level security templates and the linter's last findings, its sign-in providers,
//! the callback URL to register at each provider and Slipway's redirect URLs; a form to lint
//! now, and a form per provider app to seal its client secret. Rendered on the server only: the island
//! around it just shows or hides it, so it adds nothing to the browser bundle.

use leptos::prelude::*;

use crate::components::{INPUT, SECONDARY};
use crate::views::{LintView, SignInProjectView, SignInProviderView, SignInView, TableView};

/// The panel's element id, by which the venture page's island shows and hides it.
pub const PANEL_ID: &str = "signin-panel";

#[component]
/// `can_change`: the viewer may change this venture (the forms are shown only then).
pub fn SignInPanel(
    venture_id: String,
    view: SignInView,
    can_change: bool,
    notice: Option<String>,
    hidden: bool,
) -> impl IntoView {
    view! {
        <section id=PANEL_ID hidden=hidden data-testid="signin-panel">
            {notice.map(|n| view! { <p role="status" class="mb-4 rounded bg-slate-100 px-3 py-2 text-sm" data-testid="signin-notice">{n}</p> })}
            <form method="post" action=format!("/ventures/{venture_id}/database/lint")
                class="mb-4 flex flex-wrap items-center gap-3" data-testid="lint-form">
                {can_change.then(|| view! { <button type="submit" class=SECONDARY>"Lint the databases now"</button> })}
                <span class="text-sm" data-testid="lint-errors" data-errors=view.lint_errors.to_string()>
                    {match view.lint_errors {
                        0 => "No error finding in the last lints.".to_string(),
                        n => format!("{n} error finding(s): the venture needs attention."),
                    }}
                </span>
            </form>
            <p class="mb-4 text-sm text-slate-600">
                "Client secrets are sealed in Slipway's vault and never shown; a spec file names the apps' client ids only. \
                 Supabase keeps the redirect URLs someone added there by hand: Slipway replaces only its own."
            </p>
            {view.projects.into_iter().map(|project| {
                let id = venture_id.clone();
                view! { <ProjectCard venture_id=id project can_change /> }
            }).collect_view()}
        </section>
    }
}

#[component]
fn ProjectCard(venture_id: String, project: SignInProjectView, can_change: bool) -> impl IntoView {
    let title = if project.tier == "production" { "Production project" } else { "Staging project" };
    // One form per app: a staging project without an app of its own uses production's.
    let apps: Vec<SignInProviderView> =
        project.providers.iter().filter(|p| can_change && p.app == project.tier).cloned().collect();
    view! {
        <article class="mb-6 rounded-xl border border-slate-200 p-4" data-testid=format!("signin-project-{}", project.tier)>
            <h2 class="mb-2 text-lg font-semibold">{title} " " <span class="font-mono text-base">{project.name.clone()}</span></h2>
            <dl class="mb-3 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
                <dt class="text-slate-500">"Reference"</dt>
                <dd class="font-mono">{project.reference.clone().unwrap_or_else(|| "not created yet".into())}</dd>
                <dt class="text-slate-500">"Serves"</dt>
                <dd data-testid="signin-used-by">{project.used_by.join(", ")}</dd>
                <dt class="text-slate-500">"Callback URL"</dt>
                <dd class="font-mono" data-testid="signin-callback">
                    {project.callback_url.clone().unwrap_or_else(|| "known once the project exists".into())}
                </dd>
                <dt class="text-slate-500">"Site URL"</dt>
                <dd class="font-mono">{project.site_url.clone().unwrap_or_else(|| "set by the next apply".into())}</dd>
                <dt class="text-slate-500">"Redirect URLs"</dt>
                <dd>
                    <ul class="font-mono text-xs" data-testid="signin-redirects">
                        {project.redirect_urls.iter().map(|url| view! { <li>{url.clone()}</li> }).collect_view()}
                    </ul>
                </dd>
            </dl>
            <Tables tables=project.tables.clone() />
            <Lint lint=project.lint.clone() />
            <p class="mb-2 text-xs text-slate-500">
                "Register the callback URL with each provider's app. Previews match a pattern scoped to this project and team; \
                 a Vercel Preview Deployment Suffix on your own domain narrows it to hosts you control."
            </p>
            {project.providers.is_empty().then(|| view! {
                <p class="mb-3 text-sm text-slate-500" data-testid="signin-no-providers">
                    "Email sign-in only: name providers under [auth] (google, github, microsoft) to add them."
                </p>
            })}
            <table class="mb-3 w-full text-left text-sm" data-testid="signin-providers" class:hidden=project.providers.is_empty()>
                <thead class="text-slate-500"><tr><th>"Provider"</th><th>"State"</th><th>"Client id"</th><th>"App"</th></tr></thead>
                <tbody>
                    {project.providers.iter().map(|p| {
                        let state = match (p.enabled, p.secret_set) {
                            (false, _) => "off",
                            (true, true) => "on",
                            (true, false) => "waiting for its client secret",
                        };
                        view! {
                            <tr data-testid=format!("signin-provider-{}", p.provider) data-state=state>
                                <td>{p.title.clone()}</td>
                                <td>{state}</td>
                                <td class="font-mono text-xs">{p.client_id.clone()}
                                    {p.tenant.clone().map(|t| format!(" (tenant {t})"))}</td>
                                <td>{p.app.clone()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {apps.into_iter().map(|p| view! {
                <form method="post" action=format!("/ventures/{venture_id}/auth/secret")
                    class="mb-2 flex flex-wrap items-end gap-2" data-testid=format!("signin-secret-{}-{}", p.provider, p.app)>
                    <input type="hidden" name="provider" value=p.provider.clone() />
                    <input type="hidden" name="app" value=p.app.clone() />
                    <label class="text-sm text-slate-600">
                        {format!("{} client secret ({} app)", p.title, p.app)}
                        <input type="password" name="value" autocomplete="off" required class=INPUT />
                    </label>
                    <button type="submit" class=SECONDARY>{if p.secret_set { "Replace secret" } else { "Set secret" }}</button>
                </form>
            }).collect_view()}
        </article>
    }
}

#[component]
fn Tables(tables: Vec<TableView>) -> impl IntoView {
    if tables.is_empty() {
        return view! {
            <p class="mb-3 text-sm text-slate-500" data-testid="db-tables">
                "No table in the spec: name tables under [database.tables] to give each a row-level security template."
            </p>
        }
        .into_any();
    }
    view! {
        <table class="mb-3 w-full text-left text-sm" data-testid="db-tables">
            <thead class="text-slate-500"><tr><th>"Table"</th><th>"Template"</th><th>"Column"</th><th>"State"</th></tr></thead>
            <tbody>
                {tables.into_iter().map(|t| {
                    let column = match (&t.column, &t.membership_table) {
                        (Some(c), Some(m)) => format!("{c} (members in {m})"),
                        (Some(c), None) => c.clone(),
                        _ => "service role only".into(),
                    };
                    view! {
                        <tr data-testid=format!("db-table-{}", t.table) data-applied=t.applied.to_string()>
                            <td class="font-mono">{t.table.clone()}</td>
                            <td>{t.template.clone()}</td>
                            <td class="font-mono text-xs">{column}</td>
                            <td>{if t.applied { "applied" } else { "applied by the next apply" }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Lint(lint: Option<LintView>) -> impl IntoView {
    let Some(lint) = lint else {
        return view! { <p class="mb-3 text-sm text-slate-500" data-testid="db-lint" data-state="none">"Not linted yet: the linter runs after each apply."</p> }.into_any();
    };
    if !lint.proven {
        return view! {
            <p class="mb-3 rounded bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="db-lint" data-state="unproven">
                {format!("Lint at {} UTC: the policies could not be proven here: {}", lint.at, lint.reason.unwrap_or_default())}
            </p>
        }
        .into_any();
    }
    let state = if lint.findings.iter().any(|f| f.level == "error") {
        "errors"
    } else if lint.findings.is_empty() {
        "clean"
    } else {
        "findings"
    };
    view! {
        <div class="mb-3 text-sm" data-testid="db-lint" data-state=state>
            <p class="mb-1">{if lint.findings.is_empty() {
                format!("Lint at {} UTC: clean, no table exposed without protection.", lint.at)
            } else {
                format!("Lint at {} UTC: {} finding(s).", lint.at, lint.findings.len())
            }}</p>
            <ul>
                {lint.findings.into_iter().map(|f| {
                    let colour = match f.level.as_str() { "error" => "text-rose-800", "warn" => "text-amber-800", _ => "text-slate-600" };
                    view! {
                        <li class=format!("mb-1 {colour}") data-testid="db-finding" data-rule=f.rule.clone()>
                            <span class="font-semibold">{f.level.clone()}</span> " " <span class="font-mono">{f.rule.clone()}</span>
                            " on " <span class="font-mono">{f.object.clone()}</span> ": " {f.detail.clone()}
                            <div class="font-mono text-xs text-slate-500">"fix: " {f.fix.clone()}</div>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
    .into_any()
}
