//! The ventures list and the one-click form, with a plan preview before anything is created.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{BUTTON, INPUT, Layout, SECONDARY, StatusBadge};
use crate::server_fns::{CreateVenture, PreviewPlan, error_message, form_choices, list_ventures};
use crate::views::{CreateVentureOutcome, FieldIssue, PlanOutcome, VentureForm, VentureFormChoices, VentureListView};

/// The message for `field`, if the last submission broke one of its rules.
fn issue_for(issues: &[FieldIssue], field: &str) -> Option<String> {
    issues.iter().find(|i| i.field == field).map(|i| i.message.clone())
}

/// The ventures page: the one-click form, then the ventures newest first, a page at a time
/// (`?page=`), narrowed by a search (`?search=`). Both are plain links and a plain form: the
/// list adds nothing to the browser bundle.
#[component]
pub fn VenturesPage() -> impl IntoView {
    let query = use_query_map();
    let wanted = move || {
        let query = query.get();
        (query.get("page").and_then(|p| p.parse::<usize>().ok()), query.get("search").filter(|s| !s.trim().is_empty()))
    };
    let ventures = Resource::new(wanted, |(page, search)| list_ventures(page, search));
    let choices = Resource::new(|| (), |_| form_choices());
    view! {
        <Layout>
            <Suspense>
                {move || Suspend::new(async move {
                    let choices = choices.await.ok();
                    view! { <NewVentureForm choices /> }
                })}
            </Suspense>
            <section>
                <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match ventures.await {
                            Err(e) => view! { <p class="text-rose-700">{error_message(&e)}</p> }.into_any(),
                            Ok(list) => view! { <VentureList list /> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </Layout>
    }
}

/// A page of ventures with the search above it and the page links below.
#[component]
fn VentureList(list: VentureListView) -> impl IntoView {
    let VentureListView { ventures, matching, page, pages, search, newer, older } = list;
    let counted = match (matching, search.is_empty()) {
        (1, true) => "1 venture".to_string(),
        (n, true) => format!("{n} ventures"),
        (n, false) => format!("{n} matching “{search}”"),
    };
    let empty = if search.is_empty() { "No ventures yet." } else { "No venture matches." };
    view! {
        <div class="mb-4 flex flex-wrap items-center justify-between gap-3">
            <h2 class="text-lg font-semibold">
                "Ventures " <span class="text-sm font-normal text-slate-500" data-testid="venture-count">{counted}</span>
            </h2>
            <form method="get" action="/ventures" class="flex gap-2" role="search">
                <input type="search" name="search" value=search.clone() placeholder="Name or repository"
                    aria-label="Search ventures" class=INPUT />
                <button type="submit" class=SECONDARY>"Search"</button>
            </form>
        </div>
        {if ventures.is_empty() {
            view! { <p class="text-sm text-slate-500">{empty}</p> }.into_any()
        } else {
            view! {
                <ul class="divide-y divide-slate-200 rounded-xl border border-slate-200 bg-white" data-testid="venture-list">
                    {ventures.into_iter().map(|v| view! {
                        <li class="flex items-center justify-between px-4 py-3">
                            <a class="font-medium text-indigo-700 hover:underline" href=format!("/ventures/{}", v.id)>
                                {v.name}
                            </a>
                            <span class="text-sm text-slate-500">{v.repository}</span>
                            <span class="flex items-center gap-3">
                                {(v.steps_total > 0).then(|| view! {
                                    <span class="text-xs text-slate-500" data-testid="venture-progress">
                                        {format!("{}/{} steps", v.steps_done, v.steps_total)}
                                    </span>
                                })}
                                <StatusBadge status=Signal::stored(v.status) />
                            </span>
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        {(pages > 1).then(|| view! {
            <nav class="mt-4 flex items-center justify-between text-sm" aria-label="Pages" data-testid="venture-pages">
                {newer.map(|href| view! { <a class="text-indigo-700 hover:underline" rel="prev" href=href>"← Newer"</a> })}
                <span class="text-slate-500">{format!("Page {page} of {pages}")}</span>
                {older.map(|href| view! { <a class="text-indigo-700 hover:underline" rel="next" href=href>"Older →"</a> })}
            </nav>
        })}
    }
}

/// The one-click form: name, repository and settings, "Preview plan" and "Create and provision".
/// `choices` is `None` when the server could not list them; the settings are hidden then.
#[island]
fn NewVentureForm(choices: Option<VentureFormChoices>) -> impl IntoView {
    let create = ServerAction::<CreateVenture>::new();
    // A created venture's page is a page load of its own (islands have no client-side router).
    Effect::new(move |_| {
        if let Some(Ok(CreateVentureOutcome::Created { id })) = create.value().get() {
            let _ = window().location().set_href(&format!("/ventures/{id}"));
        }
    });
    let issues = Signal::derive(move || match create.value().get() {
        Some(Ok(CreateVentureOutcome::Invalid { issues })) => issues,
        _ => Vec::new(),
    });
    let form_error = move || create.value().get().and_then(|r| r.err()).map(|e| error_message(&e));
    // The form's fields as signals, so "Preview plan" can send what is typed without submitting.
    let fields = RwSignal::new(VentureForm { staging: Some("on".into()), ..VentureForm::default() });
    let preview = ServerAction::<PreviewPlan>::new();
    let request_preview = move |_| {
        preview.dispatch(PreviewPlan { venture: fields.get_untracked() });
    };
    let field_error = move |field: &'static str| field_issue(issues, field);
    view! {
        <section class="mb-10 rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
            <h2 class="mb-4 text-lg font-semibold">"New venture"</h2>
            <ActionForm action=create>
                <div class="grid gap-4 sm:grid-cols-[1fr_1fr_auto] sm:items-start">
                    <label class="block text-sm font-medium">
                        "Name"
                        <input name="venture[name]" placeholder="acme-shop" class=INPUT
                            on:input=move |ev| fields.update(|f| f.name = event_target_value(&ev)) />
                        {field_error("name")}
                    </label>
                    <label class="block text-sm font-medium">
                        "GitHub repository"
                        <input name="venture[repository]" placeholder="acme/shop" class=INPUT
                            on:input=move |ev| fields.update(|f| f.repository = event_target_value(&ev)) />
                        {field_error("repository")}
                    </label>
                    <div class="flex gap-2 sm:mt-6">
                        <button type="button" class=SECONDARY on:click=request_preview disabled=move || preview.pending().get()>
                            "Preview plan"
                        </button>
                        <button type="submit" class=BUTTON disabled=move || create.pending().get()>
                            "Create and provision"
                        </button>
                    </div>
                </div>
                <details class="mt-4 rounded-md border border-slate-200 px-4 py-3" data-testid="settings">
                    <summary class="cursor-pointer text-sm font-medium text-slate-700">
                        "Settings (defaults: Next.js, Node 22, production from main, staging from staging, Supabase us-east-1)"
                    </summary>
                    {choices.map(|choices| view! { <VentureSettings choices fields issues /> })}
                </details>
            </ActionForm>
            <p role="alert" class="mt-2 text-sm text-rose-700">{form_error}</p>
            {move || match preview.value().get() {
                None => None,
                Some(Err(e)) => Some(view! { <p class="mt-4 text-sm text-rose-700">{error_message(&e)}</p> }.into_any()),
                Some(Ok(PlanOutcome::Invalid { issues })) => Some(view! {
                    <ul class="mt-4 text-sm text-rose-700" data-testid="plan-issues">
                        {issues.into_iter().map(|i| view! { <li>{format!("{} {}", i.field, i.message)}</li> }).collect_view()}
                    </ul>
                }.into_any()),
                Some(Ok(PlanOutcome::Planned { rows })) => Some(view! {
                    <table class="mt-4 w-full text-left text-sm" data-testid="plan">
                        <thead class="text-slate-500"><tr><th>"Resource"</th><th>"Action"</th><th>"Detail"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| view! {
                                <tr data-testid="plan-row" data-action=row.action.clone()>
                                    <td class="py-1 pr-4 font-medium">{row.resource}</td>
                                    <td class=format!("py-1 pr-4 {}", action_class(&row.action))>{row.action.replace('_', " ")}</td>
                                    <td class="py-1 text-slate-600">
                                        {row.detail}
                                        {row.warning.map(|w| view! { <p class="text-amber-700" data-testid="plan-warning">{w}</p> })}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()),
            }}
        </section>
    }
}

/// The rule `field` broke in the last submission, shown under its input.
fn field_issue(issues: Signal<Vec<FieldIssue>>, field: &'static str) -> impl IntoView {
    move || {
        issue_for(&issues.get(), field).map(|message| {
            view! {
                <p class="mt-1 text-sm text-rose-700" data-testid=format!("error-{field}")>
                    {format!("{field} {message}")}
                </p>
            }
        })
    }
}

/// The one-click form's settings beyond name and repository, pre-filled with the defaults.
#[component]
fn VentureSettings(
    choices: VentureFormChoices,
    fields: RwSignal<VentureForm>,
    issues: Signal<Vec<FieldIssue>>,
) -> impl IntoView {
    let field_error = move |field: &'static str| field_issue(issues, field);
    let text =
        move |label: &'static str, name: &'static str, placeholder: &'static str, set: fn(&mut VentureForm, String)| {
            view! {
                <label class="block text-sm font-medium">
                    {label}
                    <input name=format!("venture[{name}]") placeholder=placeholder class=INPUT
                        on:input=move |ev| fields.update(|f| set(f, event_target_value(&ev))) />
                </label>
            }
        };
    let select = move |label: &'static str,
                       name: &'static str,
                       options: Vec<String>,
                       default: String,
                       set: fn(&mut VentureForm, String)| {
        fields.update_untracked(|f| set(f, default.clone()));
        view! {
            <label class="block text-sm font-medium">
                {label}
                <select name=format!("venture[{name}]") class=INPUT
                    on:change=move |ev| fields.update(|f| set(f, event_target_value(&ev)))>
                    {options.into_iter().map(|o| {
                        let selected = o == default;
                        view! { <option value=o.clone() selected=selected>{o.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
    };
    let production_branch = choices.default_production_branch.clone();
    let staging_branch = choices.default_staging_branch.clone();
    fields.update_untracked(|f| {
        f.production_branch = production_branch.clone();
        f.staging_branch = staging_branch.clone();
    });
    view! {
        <div class="mt-4 grid gap-4 sm:grid-cols-2">
            <label class="block text-sm font-medium">
                "Production branch"
                <input name="venture[production_branch]" value=production_branch class=INPUT
                    on:input=move |ev| fields.update(|f| f.production_branch = event_target_value(&ev)) />
                {field_error("production_branch")}
            </label>
            <div class="block text-sm font-medium">
                <label class="flex items-center gap-2">
                    <input type="checkbox" name="venture[staging]" checked=true
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            fields.update(|f| f.staging = on.then(|| "on".to_string()));
                        } />
                    "Staging environment, deployed from branch"
                </label>
                <input name="venture[staging_branch]" aria-label="Staging branch" value=staging_branch class=INPUT
                    on:input=move |ev| fields.update(|f| f.staging_branch = event_target_value(&ev)) />
                {field_error("environments.staging.branch")}
            </div>
            <div>
                {select("Supabase region", "region", choices.regions, choices.default_region, |f, v| f.region = v)}
                {field_error("supabase.region")}
            </div>
            <div>
                {select("Database for staging, previews and development", "database", choices.databases, String::new(),
                    |f, v| f.database = v)}
                <p class="mt-1 text-xs text-slate-500">{choices.databases_hint}</p>
                {field_error("supabase.non_production")}
            </div>
            {select("Node.js version", "node_version", choices.node_versions, choices.default_node_version, |f, v| f.node_version = v)}
            <div>
                {text("Build command", "build_command", "next build (framework default)", |f, v| f.build_command = v)}
                {field_error("framework.build_command")}
            </div>
            <div>
                {text("Install command", "install_command", "detected from the lock file", |f, v| f.install_command = v)}
                {field_error("framework.install_command")}
            </div>
            <div>
                {text("Output directory", "output_directory", ".next (framework default)", |f, v| f.output_directory = v)}
                {field_error("framework.output_directory")}
            </div>
            <div>
                {text("Root directory", "root_directory", "the repository root", |f, v| f.root_directory = v)}
                {field_error("framework.root_directory")}
            </div>
        </div>
    }
}

fn action_class(action: &str) -> &'static str {
    match action {
        "create" => "text-emerald-700",
        "update" => "text-amber-700",
        "blocked" => "text-rose-700",
        _ => "text-slate-500",
    }
}
