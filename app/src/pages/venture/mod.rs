//! One venture: its state, what an apply did and made (Overview), its variables
//! (Environment), its Supabase projects and sign-in (Database & Auth), its custom domain
//! (Domains), and the live log (Log).

mod domains;
mod environment;
mod rotation;
mod signin;

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::{DANGER, Layout, SECONDARY, StatusBadge};
use crate::server_fns::{
    ApplyVenture, DestroyVenture, error_message, get_venture, venture_domain_tab, venture_overview, venture_rotations,
    venture_sign_in,
};
use crate::views::{LogLine, VentureState, VentureView};
use domains::DomainsPanel;
use environment::EnvironmentPanel;
use rotation::RotationPanel;
use signin::SignInPanel;

/// The venture page's tabs: (key, label). A capability adds its tab here and its panel below.
const TABS: &[(&str, &str)] = &[
    ("overview", "Overview"),
    ("environment", "Environment"),
    ("auth", "Database & Auth"),
    ("domains", "Domains"),
    ("log", "Log"),
];

/// The panels rendered on the server, after the island: (tab, element id).
const SERVER_PANELS: &[(&str, &str)] =
    &[("environment", rotation::PANEL_ID), ("auth", signin::PANEL_ID), ("domains", domains::PANEL_ID)];

#[component]
pub fn VenturePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let venture = Resource::new(id, get_venture);
    let sign_in = Resource::new(id, venture_sign_in);
    // The wizard's preview comes back as `?tab=domains&domain=…&dns=…`.
    let domain_query = move || {
        let query = query.read();
        (id(), query.get("domain"), query.get("dns"))
    };
    let domain_tab = Resource::new(domain_query, |(id, domain, dns)| venture_domain_tab(id, domain, dns));
    let rotations = Resource::new(id, venture_rotations);
    view! {
        <Layout>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match (venture.await, sign_in.await, domain_tab.await, rotations.await) {
                        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
                            view! { <p class="text-rose-700">{error_message(&e)}</p> }.into_any()
                        }
                        (Ok(page), Ok(sign_in), Ok(domain_tab), Ok(rotations)) => {
                            let (venture, created_by, can_change) = (page.venture, page.created_by, page.can_change);
                            // A form's answer names the tab to come back to (`?tab=auth`).
                            let wanted = query.read().get("tab").unwrap_or_default();
                            let tab = TABS.iter().find(|(key, _)| *key == wanted).map_or("overview", |(key, _)| key);
                            let notice = query.read().get("notice");
                            let venture_id = venture.id.clone();
                            view! {
                                <p class="mb-1 text-sm text-slate-500" data-testid="venture-created-by">"Created by " {created_by}</p>
                                {(!can_change).then(|| view! {
                                    <p class="mb-1 text-sm text-slate-500" data-testid="venture-read-only">
                                        "You may look: only its creator and admins change it."
                                    </p>
                                })}
                                <VentureLive venture can_change tab=tab.to_string() rendered_at=domain_tab.rendered_at />
                                <RotationPanel venture_id=venture_id.clone() view=rotations
                                    notice=notice.clone().filter(|_| tab == "environment") hidden=tab != "environment" />
                                <SignInPanel venture_id=venture_id.clone() view=sign_in can_change
                                    notice=notice.clone().filter(|_| tab == "auth") hidden=tab != "auth" />
                                <DomainsPanel venture_id view=domain_tab can_change
                                    notice=notice.filter(|_| tab == "domains") hidden=tab != "domains" />
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </Layout>
    }
}

/// Everything on the venture page follows its event stream, so the whole page but the
/// navigation is one island: the state, the actions, the tabs and their panels. The Database &
/// Auth panel is rendered on the server, after the island, which only shows or hides it.
/// `rendered_at`: when the server rendered the page (epoch ms, its clock, as the log's).
#[island]
/// `can_change`: the viewer may apply and destroy it (the actions are shown only then).
fn VentureLive(venture: VentureView, can_change: bool, tab: String, rendered_at: i64) -> impl IntoView {
    let id = venture.id.clone();
    let venture_id = StoredValue::new(venture.id.clone());
    let lines = RwSignal::new(Vec::<LogLine>::new());
    let live = RwSignal::new(None::<VentureState>);
    {
        let id = id.clone();
        Effect::new(move |_| follow_live_log(id.clone(), rendered_at, lines, live));
    }
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
    // The tab shown; the log is followed whichever it is, so no line is missed.
    let tab = RwSignal::new(tab);
    Effect::new(move |_| {
        for (key, panel) in SERVER_PANELS {
            if let Some(panel) = document().get_element_by_id(panel) {
                let _ = panel.toggle_attribute_with_force("hidden", tab.with(|t| t != key));
            }
        }
    });
    // Steps and resources are read again whenever the log grows.
    let overview = Resource::new(move || (id.clone(), lines.with(Vec::len)), |(id, _)| venture_overview(id));
    let initial = VentureState { status: venture.status.clone(), vercel_project_id: venture.vercel_project_id.clone() };
    let state = move || live.get().unwrap_or_else(|| initial.clone());
    let status = Signal::derive({
        let state = state.clone();
        move || state().status
    });
    let project = move || state().vercel_project_id;

    view! {
        <div class="mb-6 flex items-center gap-3">
            <h1 class="text-2xl font-semibold" data-testid="venture-name">{venture.name.clone()}</h1>
            <StatusBadge status />
        </div>
        <dl class="mb-8 grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 text-sm">
            <dt class="text-slate-500">"Repository"</dt>
            <dd>{format!("github.com/{}", venture.repository)}</dd>
            <dt class="text-slate-500">"Vercel project"</dt>
            <dd class="font-mono" data-testid="vercel-project-id">
                {move || project().unwrap_or_else(|| "—".into())}
            </dd>
        </dl>
        // Shown to whoever may use them; the server refuses the others whatever they send.
        {can_change.then(|| view! { <VentureActions id=venture.id.clone() name=venture.name.clone() /> })}
        <div role="tablist" aria-label="Venture" class="mb-6 flex gap-1 border-b border-slate-200" data-testid="venture-tabs">
            {TABS.iter().map(|&(key, label)| view! {
                <button type="button" role="tab" aria-selected=move || tab.with(|t| t == key).to_string()
                    class="-mb-px border-b-2 border-transparent px-4 py-2 text-sm font-medium text-slate-500 hover:text-slate-900 aria-selected:border-indigo-600 aria-selected:text-indigo-700"
                    on:click=move |_| tab.set(key.to_string())>
                    {label}
                </button>
            }).collect_view()}
        </div>
        <Show when=move || tab.get() == "overview">
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
                                    {format!("{} sealed values from Supabase", o.secrets.len())}
                                </p>
                            </section>
                        </div>
                    })
                })}
            </Transition>
        </Show>
        <Show when=move || tab.get() == "environment">
            <EnvironmentPanel venture_id=venture_id.get_value() progress=Signal::derive(move || lines.with(Vec::len)) />
        </Show>
        <Show when=move || tab.get() == "log">
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
                        <span class="text-slate-400">{crate::views::format_time(line.at)}</span>
                        " "
                        <span class=level_class(&line.level)>{line.level.to_uppercase()}</span>
                        " "
                        <span class="text-sky-300">{line.step.clone()}</span>
                        " "
                        {line.message.clone()}
                    </li>
                </For>
            </ol>
        </Show>
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

/// In the browser: opens the venture's event stream and appends its lines as they arrive.
/// The browser's EventSource reconnects by itself and resumes with `Last-Event-ID`.
#[cfg(feature = "hydrate")]
fn follow_live_log(
    venture_id: String,
    rendered_at: i64,
    lines: RwSignal<Vec<LogLine>>,
    live: RwSignal<Option<VentureState>>,
) {
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
    // The Domains panel is rendered on the server: a domain step's news, arriving while it is
    // shown, reloads it, so each check turns green as it passes (lines replayed on connecting
    // are older than the page and do not).
    let on_log = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(line) = event.data().as_string().and_then(|d| serde_json::from_str::<LogLine>(&d).ok()) {
            let domain_step = matches!(line.step.as_str(), "vercel.domains" | "dns.records" | "domains.ready");
            let shown = document().get_element_by_id(domains::PANEL_ID).is_some_and(|p| !p.has_attribute("hidden"));
            // Not while the wizard shows a preview: the user is choosing (or posting) it.
            let previewing = document().get_element_by_id(domains::PREVIEW_ID).is_some();
            if domain_step && shown && !previewing && line.at > rendered_at {
                let _ = window().location().reload();
            }
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
fn follow_live_log(
    _venture_id: String,
    _rendered_at: i64,
    _lines: RwSignal<Vec<LogLine>>,
    _live: RwSignal<Option<VentureState>>,
) {
}
