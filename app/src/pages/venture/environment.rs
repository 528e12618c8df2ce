//! The venture page's Environment tab: every variable per environment with where it stands at
//! Vercel, masked secrets (an admin reveals one at a time, and the reveal is audited), the form
//! that adds or changes a variable, "Sync now" and the `.env.example` download.

use leptos::prelude::*;

use crate::components::{BUTTON, INPUT, SECONDARY};
use crate::server_fns::{DeleteEnv, EnvJob, RevealEnv, SaveEnv, env_panel, error_message};
use crate::views::{EnvCellView, EnvForm, EnvPanelView, EnvSaveOutcome, FieldIssue};

/// What a masked secret shows: the same for every value, so it does not tell the length.
const MASK: &str = "••••••••";

/// `progress` grows with the venture's log, so the states follow a sync as it runs.
#[component]
pub fn EnvironmentPanel(venture_id: String, #[prop(into)] progress: Signal<usize>) -> impl IntoView {
    let save = ServerAction::<SaveEnv>::new();
    let delete = ServerAction::<DeleteEnv>::new();
    // "Sync now" and the redeploys: one action, so one failure message and one refetch.
    let job = ServerAction::<EnvJob>::new();
    let reveal = ServerAction::<RevealEnv>::new();
    let id = venture_id.clone();
    // Read again after every change, a sync asked for, and a reveal (its audit line).
    let panel = Resource::new(
        move || {
            let versions = (save.version().get(), delete.version().get(), job.version().get(), reveal.version().get());
            (id.clone(), versions, progress.get())
        },
        |(id, ..)| env_panel(id),
    );
    let form = RwSignal::new(EnvForm::default());
    let issues = Signal::derive(move || match save.value().get() {
        Some(Ok(EnvSaveOutcome::Invalid { issues })) => issues,
        _ => Vec::new(),
    });
    // A saved form starts empty again.
    Effect::new(move |_| {
        if let Some(Ok(EnvSaveOutcome::Saved)) = save.value().get() {
            form.set(EnvForm::default());
        }
    });
    let failure = move || {
        let failed = |r: Option<Result<(), ServerFnError>>| r.and_then(|r| r.err()).map(|e| error_message(&e));
        failed(delete.value().get())
            .or_else(|| failed(job.value().get()))
            .or_else(|| save.value().get().and_then(|r| r.err()).map(|e| error_message(&e)))
            .or_else(|| reveal.value().get().and_then(|r| r.err()).map(|e| error_message(&e)))
    };
    // The one value revealed: (key, environment, value); another reveal replaces it.
    let asked = RwSignal::new(None::<(String, String)>);
    let revealed = RwSignal::new(None::<(String, String, String)>);
    Effect::new(move |_| {
        if let (Some(Ok(value)), Some((key, environment))) = (reveal.value().get(), asked.get_untracked()) {
            revealed.set(Some((key, environment, value)));
        }
    });
    let example_href = format!("/api/ventures/{venture_id}/env.example");
    let venture_id = StoredValue::new(venture_id);

    view! {
        <section data-testid="environment">
            <div class="mb-4 flex flex-wrap items-center gap-3">
                <h2 class="text-lg font-semibold">"Environment variables"</h2>
                <button type="button" class=SECONDARY disabled=move || job.pending().get()
                    on:click=move |_| { job.dispatch(EnvJob { id: venture_id.get_value(), job: "sync".into() }); }>
                    "Sync now"
                </button>
                <a class="text-sm text-indigo-700 hover:underline" href=example_href download=".env.example"
                    data-testid="env-example">
                    "Download .env.example"
                </a>
                <p role="alert" class="w-full text-sm text-rose-700" data-testid="env-message">{failure}</p>
            </div>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match panel.await {
                        Err(e) => view! { <p class="text-rose-700">{error_message(&e)}</p> }.into_any(),
                        Ok(view) => view! {
                            {view.can_edit.then(|| view! {
                                <RedeployBar staging=view.environments.iter().any(|e| e == "staging") job venture_id />
                            })}
                            <EnvTable view=view.clone() form asked revealed delete reveal venture_id />
                            {view.can_edit.then(|| view! {
                                <EnvEditor environments=view.environments.clone() form issues save venture_id />
                            })}
                            <RevealAudit view />
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A synced variable reaches a running deployment only when it is built again.
#[component]
fn RedeployBar(staging: bool, job: ServerAction<EnvJob>, venture_id: StoredValue<String>) -> impl IntoView {
    let environments: &[&str] = if staging { &["production", "staging"] } else { &["production"] };
    view! {
        <div class="mb-4 flex flex-wrap items-center gap-3 text-sm text-slate-600">
            <span>"Running deployments get changed variables when they are built again:"</span>
            {environments.iter().map(|&environment| view! {
                <button type="button" class=SECONDARY disabled=move || job.pending().get()
                    on:click=move |_| {
                        job.dispatch(EnvJob { id: venture_id.get_value(), job: format!("redeploy-{environment}") });
                    }>
                    {format!("Redeploy {environment} now")}
                </button>
            }).collect_view()}
        </div>
    }
}

fn state_label(cell: &EnvCellView) -> &'static str {
    match cell.state.as_str() {
        "in_sync" => "in sync",
        "pending" => "pending",
        "failed" => "failed",
        "drifted" => "changed at Vercel",
        "blocked" => "blocked",
        _ if cell.set => "not synced yet",
        _ => "",
    }
}

fn state_class(state: &str) -> &'static str {
    match state {
        "in_sync" => "text-emerald-700",
        "failed" | "blocked" => "text-rose-700",
        "drifted" | "pending" => "text-amber-700",
        _ => "text-slate-400",
    }
}

#[component]
fn EnvTable(
    view: EnvPanelView,
    form: RwSignal<EnvForm>,
    asked: RwSignal<Option<(String, String)>>,
    revealed: RwSignal<Option<(String, String, String)>>,
    delete: ServerAction<DeleteEnv>,
    reveal: ServerAction<RevealEnv>,
    venture_id: StoredValue<String>,
) -> impl IntoView {
    let can_edit = view.can_edit;
    let can_reveal = view.can_reveal;
    let sync_error = view.sync_error.clone();
    view! {
        {sync_error.map(|why| view! { <p class="mb-2 text-sm text-amber-700">{format!("Vercel could not be read: {why}")}</p> })}
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="w-full text-left text-sm" data-testid="env-table">
                <thead class="bg-slate-50 text-slate-500">
                    <tr>
                        <th class="px-3 py-2">"Variable"</th>
                        <th class="px-3 py-2">"Source"</th>
                        {view.environments.iter().map(|e| view! { <th class="px-3 py-2">{e.clone()}</th> }).collect_view()}
                        <th class="px-3 py-2"></th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {view.variables.into_iter().map(|var| {
                        let key = var.key.clone();
                        let editable = can_edit && var.source != "integration";
                        let edit = {
                            let var = var.clone();
                            move |_| form.set(EnvForm {
                                key: var.key.clone(),
                                description: var.description.clone(),
                                secret: var.secret.then(|| "on".to_string()),
                                ..EnvForm::default()
                            })
                        };
                        let remove_key = key.clone();
                        view! {
                            <tr data-testid=format!("env-row-{key}") data-secret=var.secret.to_string()>
                                <td class="px-3 py-2 align-top">
                                    <div class="font-mono text-xs font-semibold">{key.clone()}</div>
                                    <div class="text-xs text-slate-500">{var.description.clone()}</div>
                                </td>
                                <td class="px-3 py-2 align-top text-xs text-slate-600">
                                    {var.source.clone()}{var.secret.then_some(" · secret")}
                                </td>
                                {var.cells.into_iter().map(|cell| {
                                    let (cell_key, environment) = (key.clone(), cell.environment.clone());
                                    let shown = {
                                        let (cell_key, environment) = (cell_key.clone(), environment.clone());
                                        let value = cell.value.clone();
                                        let set = cell.set;
                                        move || match revealed.get() {
                                            Some((k, e, v)) if k == cell_key && e == environment => v,
                                            _ => match (&value, set) {
                                                (Some(v), _) => v.clone(),
                                                (None, true) => MASK.to_string(),
                                                (None, false) => "—".to_string(),
                                            },
                                        }
                                    };
                                    let ask = {
                                        let (cell_key, environment) = (cell_key.clone(), environment.clone());
                                        move |_| {
                                            asked.set(Some((cell_key.clone(), environment.clone())));
                                            reveal.dispatch(RevealEnv {
                                                id: venture_id.get_value(),
                                                key: cell_key.clone(),
                                                environment: environment.clone(),
                                            });
                                        }
                                    };
                                    let can_ask = can_reveal && var.secret && cell.set;
                                    view! {
                                        <td class="px-3 py-2 align-top" data-testid=format!("env-cell-{cell_key}-{}", cell.environment)
                                            data-state=cell.state.clone()>
                                            <div class="max-w-[14rem] truncate font-mono text-xs" data-testid="env-value">{shown}</div>
                                            <div class=format!("text-xs {}", state_class(&cell.state)) title=cell.detail.clone().unwrap_or_default()>
                                                {state_label(&cell)}
                                            </div>
                                            {can_ask.then(|| view! {
                                                <button type="button" class="text-xs text-indigo-700 hover:underline" on:click=ask>"Reveal"</button>
                                            })}
                                        </td>
                                    }
                                }).collect_view()}
                                <td class="px-3 py-2 align-top text-right">
                                    {editable.then(|| view! {
                                        <button type="button" class="text-xs text-indigo-700 hover:underline" on:click=edit>"Edit"</button>
                                        " "
                                        <button type="button" class="text-xs text-rose-700 hover:underline"
                                            on:click=move |_| { delete.dispatch(DeleteEnv { id: venture_id.get_value(), key: remove_key.clone() }); }>
                                            "Delete"
                                        </button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The rule `field` broke in the last save, shown under its input.
fn issue(issues: Signal<Vec<FieldIssue>>, field: &'static str) -> impl IntoView {
    move || {
        issues.get().into_iter().find(|i| i.field == field || i.field.starts_with(&format!("{field}."))).map(|i| {
            view! { <p class="mt-1 text-xs text-rose-700" data-testid=format!("env-error-{field}")>{format!("{} {}", i.field, i.message)}</p> }
        })
    }
}

#[component]
fn EnvEditor(
    environments: Vec<String>,
    form: RwSignal<EnvForm>,
    issues: Signal<Vec<FieldIssue>>,
    save: ServerAction<SaveEnv>,
    venture_id: StoredValue<String>,
) -> impl IntoView {
    let secret = move || form.with(|f| f.secret.is_some());
    let value_input = move |environment: String| {
        let label = format!("Value for {environment}");
        let get = {
            let environment = environment.clone();
            move || form.with(|f| value_of(f, &environment).to_string())
        };
        let set = move |ev| {
            let value = event_target_value(&ev);
            form.update(|f| *value_of_mut(f, &environment) = value);
        };
        view! {
            <label class="block text-xs font-medium text-slate-600">
                {label.clone()}
                <input class=INPUT aria-label=label type=move || if secret() { "password" } else { "text" }
                    autocomplete="off" prop:value=get on:input=set />
            </label>
        }
    };
    let submit = move |_| {
        save.dispatch(SaveEnv { id: venture_id.get_value(), variable: form.get_untracked() });
    };
    view! {
        <section class="mt-6 rounded-xl border border-slate-200 bg-white p-4" data-testid="env-editor">
            <h3 class="mb-3 text-sm font-semibold">"Add or change a variable"</h3>
            <div class="grid gap-3 sm:grid-cols-2">
                <label class="block text-xs font-medium text-slate-600">
                    "Key"
                    <input class=INPUT aria-label="Key" placeholder="STRIPE_SECRET_KEY" prop:value=move || form.with(|f| f.key.clone())
                        on:input=move |ev| form.update(|f| f.key = event_target_value(&ev)) />
                    {issue(issues, "key")}
                </label>
                <label class="block text-xs font-medium text-slate-600">
                    "Description"
                    <input class=INPUT aria-label="Description" placeholder="What it is for (shown in .env.example)"
                        prop:value=move || form.with(|f| f.description.clone())
                        on:input=move |ev| form.update(|f| f.description = event_target_value(&ev)) />
                    {issue(issues, "description")}
                </label>
                <label class="flex items-center gap-2 text-xs font-medium text-slate-600">
                    <input type="checkbox" aria-label="Secret" prop:checked=secret
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            form.update(|f| f.secret = on.then(|| "on".to_string()));
                        } />
                    "Secret (masked, write-only at Vercel, revealed to admins only)"
                    {issue(issues, "secret")}
                </label>
            </div>
            <p class="mt-3 text-xs text-slate-500">"Values: an empty one leaves that environment as it is."</p>
            <div class="mt-1 grid gap-3 sm:grid-cols-2">
                {environments.into_iter().map(value_input).collect_view()}
            </div>
            {issue(issues, "values")}
            <button type="button" class=format!("mt-3 {BUTTON}") disabled=move || save.pending().get() on:click=submit>
                "Save variable"
            </button>
        </section>
    }
}

fn value_of<'a>(form: &'a EnvForm, environment: &str) -> &'a str {
    match environment {
        "development" => &form.development,
        "preview" => &form.preview,
        "staging" => &form.staging,
        _ => &form.production,
    }
}

fn value_of_mut<'a>(form: &'a mut EnvForm, environment: &str) -> &'a mut String {
    match environment {
        "development" => &mut form.development,
        "preview" => &mut form.preview,
        "staging" => &mut form.staging,
        _ => &mut form.production,
    }
}

/// For admins: who revealed what, when.
#[component]
fn RevealAudit(view: EnvPanelView) -> impl IntoView {
    view.can_reveal.then(|| {
        view! {
            <section class="mt-6" data-testid="reveal-audit">
                <h3 class="mb-2 text-sm font-semibold">"Reveals and pulls"</h3>
                {if view.reveals.is_empty() {
                    view! { <p class="text-xs text-slate-500">"No secret has been revealed or pulled."</p> }.into_any()
                } else {
                    view! {
                        <ul class="space-y-1 text-xs text-slate-600">
                            {view.reveals.into_iter().map(|r| view! {
                                <li data-testid="reveal-line">
                                    {r.line}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        }
    })
}
