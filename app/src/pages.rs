//! The dashboard's pages.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{
    ApplyVenture, CreateVenture, CreateVentureOutcome, DestroyVenture, FieldIssue, LogLine, Login, PlanOutcome,
    PreviewPlan, VentureForm, VentureFormChoices, VentureState, connections, error_message, form_choices, get_venture,
    list_ventures, venture_overview,
};
use crate::components::{Layout, StatusBadge};

const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm \
                     focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";
const BUTTON: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm \
                      hover:bg-indigo-500 disabled:opacity-50";

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || login.value().get().and_then(|result| result.err()).map(|e| error_message(&e));
    view! {
        <main class="mx-auto mt-24 max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
            <h1 class="mb-6 text-2xl font-semibold">"Sign in to Slipway"</h1>
            <ActionForm action=login attr:class="space-y-4">
                <label class="block text-sm font-medium">
                    "Username" <input name="username" autocomplete="username" required class=INPUT />
                </label>
                <label class="block text-sm font-medium">
                    "Password"
                    <input
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        class=INPUT
                    />
                </label>
                <button type="submit" class=BUTTON disabled=move || login.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
            <p role="alert" data-testid="login-error" class="mt-4 text-sm text-rose-700">
                {error}
            </p>
        </main>
    }
}

/// The message for `field`, if the last submission broke one of its rules.
fn issue_for(issues: &[FieldIssue], field: &str) -> Option<String> {
    issues.iter().find(|i| i.field == field).map(|i| i.message.clone())
}

#[component]
pub fn VenturesPage() -> impl IntoView {
    let create = ServerAction::<CreateVenture>::new();
    let ventures = Resource::new(move || create.version().get(), |_| list_ventures());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(CreateVentureOutcome::Created { id })) = create.value().get() {
            navigate(&format!("/ventures/{id}"), Default::default());
        }
    });
    let issues = Signal::derive(move || match create.value().get() {
        Some(Ok(CreateVentureOutcome::Invalid { issues })) => issues,
        _ => Vec::new(),
    });
    let form_error = move || create.value().get().and_then(|r| r.err()).map(|e| error_message(&e));
    // The form's fields as signals, so "Preview plan" can send what is typed without submitting.
    let fields = RwSignal::new(VentureForm { staging: Some("on".into()), ..VentureForm::default() });
    let choices = Resource::new(|| (), |_| form_choices());
    let preview = ServerAction::<PreviewPlan>::new();
    let request_preview = move |_| {
        preview.dispatch(PreviewPlan { venture: fields.get_untracked() });
    };
    let field_error = move |field: &'static str| field_issue(issues, field);
    view! {
        <Layout>
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
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                let choices = choices.await.ok()?;
                                Some(view! { <VentureSettings choices fields issues /> })
                            })}
                        </Transition>
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
                                        <td class="py-1 text-slate-600">{row.detail}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()),
                }}
            </section>
            <ConnectionsPanel />
            <section>
                <h2 class="mb-4 text-lg font-semibold">"Ventures"</h2>
                <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match ventures.await {
                            Err(e) => view! { <p class="text-rose-700">{error_message(&e)}</p> }.into_any(),
                            Ok(list) if list.is_empty() => {
                                view! { <p class="text-sm text-slate-500">"No ventures yet."</p> }.into_any()
                            }
                            Ok(list) => {
                                view! {
                                    <ul class="divide-y divide-slate-200 rounded-xl border border-slate-200 bg-white" data-testid="venture-list">
                                        {list
                                            .into_iter()
                                            .map(|v| {
                                                let status = Signal::stored(v.status.clone());
                                                view! {
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
                                                            <StatusBadge status />
                                                        </span>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                }
                                .into_any()
                            }
                        }
                    })}
                </Transition>
            </section>
        </Layout>
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

#[component]
pub fn VenturePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let venture = Resource::new(id, get_venture);
    let lines = RwSignal::new(Vec::<LogLine>::new());
    let live = RwSignal::new(None::<VentureState>);
    Effect::new(move |_| follow_live_log(id(), lines, live));
    // Filters of the log view: by step, and by the lowest level shown.
    let step_filter = RwSignal::new(String::new());
    let level_filter = RwSignal::new(String::new());
    let shown = move || {
        let (step, level) = (step_filter.get(), level_filter.get());
        let rank = |l: &str| match l {
            "error" => 2,
            "warn" => 1,
            _ => 0,
        };
        lines.with(|all| {
            all.iter()
                .filter(|l| step.is_empty() || l.step == step)
                .filter(|l| rank(&l.level) >= rank(&level))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    // Steps and resources are read again whenever the log grows.
    let overview = Resource::new(move || (id(), lines.with(Vec::len)), |(id, _)| venture_overview(id));

    view! {
        <Layout>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match venture.await {
                        Err(e) => view! { <p class="text-rose-700">{error_message(&e)}</p> }.into_any(),
                        Ok(v) => {
                            let initial = VentureState { status: v.status.clone(), vercel_project_id: v.vercel_project_id.clone() };
                            let state = move || live.get().unwrap_or_else(|| initial.clone());
                            let status = Signal::derive({ let state = state.clone(); move || state().status });
                            let project = move || state().vercel_project_id;
                            view! {
                                <div class="mb-6 flex items-center gap-3">
                                    <h1 class="text-2xl font-semibold" data-testid="venture-name">{v.name.clone()}</h1>
                                    <StatusBadge status />
                                </div>
                                <dl class="mb-8 grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 text-sm">
                                    <dt class="text-slate-500">"Repository"</dt>
                                    <dd>{format!("github.com/{}", v.repository)}</dd>
                                    <dt class="text-slate-500">"Vercel project"</dt>
                                    <dd class="font-mono" data-testid="vercel-project-id">
                                        {move || project().unwrap_or_else(|| "—".into())}
                                    </dd>
                                </dl>
                                <VentureActions id=v.id.clone() name=v.name.clone() />
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
            <Transition>
                {move || Suspend::new(async move {
                    overview.await.ok().map(|o| view! {
                        <div class="mb-8 grid gap-6 sm:grid-cols-2">
                            <section>
                                <h2 class="mb-2 text-lg font-semibold">"Steps"</h2>
                                <ol class="space-y-1 text-sm" data-testid="steps">
                                    {o.steps.into_iter().map(|step| view! {
                                        <li data-testid=format!("step-{}", step.name) data-status=step.status.clone()>
                                            <span class=step_class(&step.status)>{step.status.clone()}</span>
                                            " "
                                            {step.title}
                                        </li>
                                    }).collect_view()}
                                </ol>
                            </section>
                            <section>
                                <h2 class="mb-2 text-lg font-semibold">"Resources"</h2>
                                <dl class="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm" data-testid="resources">
                                    {o.resources.into_iter().map(|(label, value)| view! {
                                        <dt class="text-slate-500">{label}</dt>
                                        <dd class="font-mono text-xs">{value}</dd>
                                    }).collect_view()}
                                </dl>
                                <p class="mt-2 text-xs text-slate-500" data-testid="secret-names">
                                    {format!("{} sealed values", o.secrets.len())}
                                </p>
                            </section>
                        </div>
                    })
                })}
            </Transition>
            <div class="mb-2 flex items-center gap-4">
                <h2 class="text-lg font-semibold">"Live log"</h2>
                <label class="text-sm text-slate-600">
                    "Step "
                    <select class="rounded border border-slate-300 px-1 py-0.5" data-testid="log-step"
                        on:change=move |ev| step_filter.set(event_target_value(&ev))>
                        <option value="">"all"</option>
                        {move || {
                            let mut steps: Vec<String> = lines.with(|all| all.iter().map(|l| l.step.clone()).collect());
                            steps.sort();
                            steps.dedup();
                            steps.into_iter().map(|step| view! { <option value=step.clone()>{step.clone()}</option> }).collect_view()
                        }}
                    </select>
                </label>
                <label class="text-sm text-slate-600">
                    "Level "
                    <select class="rounded border border-slate-300 px-1 py-0.5" data-testid="log-level"
                        on:change=move |ev| level_filter.set(event_target_value(&ev))>
                        <option value="">"all"</option>
                        <option value="warn">"warnings and errors"</option>
                        <option value="error">"errors"</option>
                    </select>
                </label>
            </div>
            <ol class="max-h-96 overflow-y-auto rounded-xl bg-slate-900 p-4 font-mono text-xs text-slate-100" data-testid="live-log">
                <For each=shown key=|line| line.id let:line>
                    <li class="py-0.5" data-level=line.level.clone()>
                        <span class="text-slate-400">{format_time(line.at)}</span>
                        " "
                        <span class=level_class(&line.level)>{line.level.to_uppercase()}</span>
                        " "
                        <span class="text-sky-300">{line.step.clone()}</span>
                        " "
                        {line.message.clone()}
                    </li>
                </For>
            </ol>
        </Layout>
    }
}

/// Apply again, and destroy after the name is typed.
#[component]
fn VentureActions(id: String, name: String) -> impl IntoView {
    let apply = ServerAction::<ApplyVenture>::new();
    let destroy = ServerAction::<DestroyVenture>::new();
    let confirm = RwSignal::new(String::new());
    let apply_id = id.clone();
    let message = move || {
        let failed =
            |result: Option<Result<(), ServerFnError>>| result.and_then(|r| r.err()).map(|e| error_message(&e));
        failed(destroy.value().get()).or_else(|| failed(apply.value().get())).unwrap_or_default()
    };
    view! {
        <section class="mb-8 flex flex-wrap items-end gap-3" data-testid="venture-actions">
            <button type="button" class=SECONDARY disabled=move || apply.pending().get()
                on:click=move |_| { apply.dispatch(ApplyVenture { id: apply_id.clone() }); }>
                "Apply again"
            </button>
            <label class="text-sm text-slate-600">
                "Type " <span class="font-mono">{name}</span> " to destroy it "
                <input class="rounded border border-slate-300 px-2 py-1 text-sm" data-testid="destroy-confirm"
                    aria-label="Venture name to confirm"
                    on:input=move |ev| confirm.set(event_target_value(&ev)) />
            </label>
            <button type="button" class=DANGER disabled=move || destroy.pending().get()
                on:click=move |_| { destroy.dispatch(DestroyVenture { id: id.clone(), confirm: confirm.get_untracked() }); }>
                "Destroy"
            </button>
            <p role="alert" class="w-full text-sm text-rose-700" data-testid="action-message">{message}</p>
        </section>
    }
}

const DANGER: &str = "rounded-md bg-rose-600 px-4 py-2 text-sm font-semibold text-white shadow-sm \
                      hover:bg-rose-500 disabled:opacity-50";

const SECONDARY: &str = "rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold \
                         text-slate-700 shadow-sm hover:bg-slate-50 disabled:opacity-50";

fn action_class(action: &str) -> &'static str {
    match action {
        "create" => "text-emerald-700",
        "update" => "text-amber-700",
        "blocked" => "text-rose-700",
        _ => "text-slate-500",
    }
}

/// Whether the platform tokens work, and for whom; checked on load and on demand.
#[component]
fn ConnectionsPanel() -> impl IntoView {
    let checks = RwSignal::new(0u32);
    let statuses = Resource::new(move || checks.get(), |_| connections());
    // Checked again every minute while the page is open (effects run only in the browser).
    Effect::new(move |_| {
        let recheck = move || checks.update(|n| *n += 1);
        if let Ok(handle) = set_interval_with_handle(recheck, std::time::Duration::from_secs(60)) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <section class="mb-10 rounded-xl border border-slate-200 bg-white p-6 shadow-sm" data-testid="connections">
            <div class="mb-3 flex items-center justify-between">
                <h2 class="text-lg font-semibold">"Connections"</h2>
                <button type="button" class=SECONDARY on:click=move |_| checks.update(|n| *n += 1)>"Check again"</button>
            </div>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Checking…"</p> }>
                {move || Suspend::new(async move {
                    match statuses.await {
                        Err(e) => view! { <p class="text-rose-700">{error_message(&e)}</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="space-y-1 text-sm">
                                {list.into_iter().map(|c| view! {
                                    <li data-testid=format!("connection-{}", c.platform.to_lowercase())
                                        data-connected=c.connected.to_string()>
                                        <span class=if c.connected { "font-semibold text-emerald-700" } else { "font-semibold text-rose-700" }>
                                            {format!("{} {}", c.platform, if c.connected { "connected" } else { "not connected" })}
                                        </span>
                                        " "
                                        <span class="text-slate-600">{c.detail}</span>
                                        " "
                                        <span class="font-mono text-xs text-slate-400">{c.base_url}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn step_class(status: &str) -> &'static str {
    match status {
        "done" => "text-emerald-700",
        "running" => "text-indigo-700",
        "failed" => "text-rose-700",
        _ => "text-slate-400",
    }
}

fn level_class(level: &str) -> &'static str {
    match level {
        "error" => "text-rose-400",
        "warn" => "text-amber-300",
        _ => "text-emerald-300",
    }
}

/// `HH:MM:SS` (UTC) of an epoch-millisecond time.
fn format_time(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// In the browser: opens the venture's event stream and appends its lines as they arrive.
/// The browser's EventSource reconnects by itself and resumes with `Last-Event-ID`.
#[cfg(feature = "hydrate")]
fn follow_live_log(venture_id: String, lines: RwSignal<Vec<LogLine>>, live: RwSignal<Option<VentureState>>) {
    use send_wrapper::SendWrapper;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{EventSource, MessageEvent};

    if venture_id.is_empty() {
        return;
    }
    let Ok(source) = EventSource::new(&format!("/api/ventures/{venture_id}/events")) else {
        return;
    };
    let on_log = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(line) = event.data().as_string().and_then(|d| serde_json::from_str::<LogLine>(&d).ok()) {
            lines.update(|all| {
                if all.last().is_none_or(|last| last.id < line.id) {
                    all.push(line);
                }
            });
        }
    });
    let on_state = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(state) = event.data().as_string().and_then(|d| serde_json::from_str::<VentureState>(&d).ok()) {
            live.set(Some(state));
        }
    });
    let _ = source.add_event_listener_with_callback("log", on_log.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("state", on_state.as_ref().unchecked_ref());
    let keep = SendWrapper::new((source, on_log, on_state));
    on_cleanup(move || keep.0.close());
}

#[cfg(not(feature = "hydrate"))]
fn follow_live_log(_venture_id: String, _lines: RwSignal<Vec<LogLine>>, _live: RwSignal<Option<VentureState>>) {}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="mx-auto mt-24 max-w-md text-center">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <a class="text-indigo-700 hover:underline" href="/ventures">"Back to ventures"</a>
        </main>
    }
}
