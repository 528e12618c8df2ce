//! The Environment tab's secret rotations, below the variables: each secret Slipway rotates
//! with its policy, when it last rotated and when it falls due, "Rotate now" for admins, and
//! every rotation with its outcome and the deployments that carry each value. Never a value.
//! Rendered on the server only, like the Domains tab; its form is a plain post.

use leptos::prelude::*;

use crate::components::SECONDARY;
use crate::views::{RotationTabView, RotationView};

/// The panel's element id, by which the venture page's island shows and hides it.
pub const PANEL_ID: &str = "rotation-panel";

#[component]
pub fn RotationPanel(venture_id: String, view: RotationTabView, notice: Option<String>, hidden: bool) -> impl IntoView {
    let can_rotate = view.can_rotate;
    view! {
        <section id=PANEL_ID hidden=hidden class="mt-8" data-testid="rotation-panel">
            <h2 class="mb-2 text-lg font-semibold">"Secret rotation"</h2>
            {notice.map(|n| view! { <p role="status" class="mb-4 rounded bg-slate-100 px-3 py-2 text-sm" data-testid="rotation-notice">{n}</p> })}
            <p class="mb-3 text-sm text-slate-600">
                "A rotation makes the new value while the old one stays valid, sets it on every Vercel target, "
                "redeploys production and staging, checks that each new deployment answers its health path, and only "
                "then retires the old value. A failed step or check puts the previous value back everywhere."
            </p>
            <table class="mb-4 w-full text-left text-sm" data-testid="rotation-secrets">
                <thead class="text-slate-500">
                    <tr class="[&>th]:py-1 [&>th]:pr-4">
                        <th>"Secret"</th><th>"Policy"</th><th>"Since"</th><th>"Due"</th><th>"Scheduled"</th><th></th>
                    </tr>
                </thead>
                <tbody>
                    {view.secrets.into_iter().map(|s| {
                        let action = format!("/ventures/{venture_id}/secrets/{}/rotate", s.secret);
                        view! {
                            <tr class="border-t border-slate-100 [&>td]:py-2 [&>td]:pr-4" data-testid=format!("rotation-secret-{}", s.secret)>
                                <td>
                                    <span class="font-mono">{s.secret.clone()}</span>
                                    {s.explanation.clone().map(|e| view! {
                                        <p class="mt-1 max-w-md text-xs text-slate-600" data-testid="rotation-explanation">{e}</p>
                                    })}
                                </td>
                                <td>{s.policy.clone()}</td>
                                <td>{s.since.clone()}</td>
                                <td>{s.due.clone().unwrap_or_else(|| "never".into())}</td>
                                <td>{if s.running {
                                    "rotating now".to_string()
                                } else if !s.minted {
                                    "waits for a new value".to_string()
                                } else {
                                    s.scheduled.clone().unwrap_or_else(|| "-".into())
                                }}</td>
                                <td>
                                    {(can_rotate && !s.running).then(|| {
                                        let warning = s.warning.clone();
                                        // A secret a person entered: its new value, per environment.
                                        let asks: Vec<String> = if s.minted { Vec::new() } else { s.environments.clone() };
                                        view! {
                                            <form method="post" action=action data-testid=format!("rotate-{}", s.secret)>
                                                {asks.into_iter().map(|environment| view! {
                                                    <label class="mb-1 block text-xs">
                                                        {format!("New {environment} value ")}
                                                        <input type="password" name=format!("value.{environment}") autocomplete="off"
                                                            class="rounded border border-slate-300 px-1 py-0.5 font-mono" />
                                                    </label>
                                                }).collect_view()}
                                                {warning.map(|w| view! {
                                                    <label class="mb-1 block max-w-xs text-xs text-amber-800" data-testid="rotation-cut-warning">
                                                        <input type="checkbox" name="accept_connection_cut" value="true" required=true class="mr-1" />
                                                        {format!("I understand: {w}.")}
                                                    </label>
                                                })}
                                                <button type="submit" class=SECONDARY>"Rotate now"</button>
                                            </form>
                                        }
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h3 class="mb-2 font-medium">"History"</h3>
            {if view.history.is_empty() {
                view! { <p class="text-sm text-slate-500" data-testid="rotation-history">"No rotation yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="space-y-3 text-sm" data-testid="rotation-history">
                        {view.history.into_iter().map(|r| view! { <Rotation rotation=r /> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Rotation(rotation: RotationView) -> impl IntoView {
    let tone = match rotation.outcome.as_str() {
        "succeeded" => "text-emerald-700",
        "running" => "text-slate-600",
        _ => "text-rose-700",
    };
    let outcome = match rotation.outcome.as_str() {
        "running" => format!("running ({})", rotation.phase),
        "rolled_back" => "rolled back".to_string(),
        other => other.to_string(),
    };
    view! {
        <li class="rounded border border-slate-200 p-3" data-testid="rotation" data-outcome=rotation.outcome.clone()>
            <p>
                <span class="font-mono">{rotation.secret.clone()}</span>
                {format!(" · {} · by {} · ", rotation.when, rotation.by)}
                <span class=tone>{outcome}</span>
            </p>
            {rotation.error.map(|e| view! { <p class="text-rose-700" data-testid="rotation-error">{e}</p> })}
            {rotation.cut.map(|c| view! { <p class="text-slate-600" data-testid="rotation-cut">{c}</p> })}
            {rotation.waiting.map(|w| view! { <p class="text-slate-600" data-testid="rotation-waiting">{w}</p> })}
            <ul class="mt-1 text-xs text-slate-600">
                {rotation.deployments.into_iter().map(|(what, environment, id, url)| view! {
                    <li>{format!("{what}: {environment} ")}<span class="font-mono">{id}</span>" "
                        <a class="text-indigo-700 hover:underline" href=format!("https://{url}")>{url.clone()}</a></li>
                }).collect_view()}
            </ul>
            {rotation.warning.map(|w| view! { <p class="mt-1 text-amber-700" data-testid="rotation-warning">{w}</p> })}
        </li>
    }
}
