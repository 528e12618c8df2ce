//! The audit log, for admins: who destroyed, revealed, pulled or set what, and when; users and
//! tokens made; failed sign-ins. Rendered on the server (it only shows data).

use leptos::prelude::*;

use crate::components::Layout;
use crate::server_fns::{audit_log, error_message};
use slipway_engine::time::format_utc;

#[component]
pub fn AuditPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| audit_log());
    view! {
        <Layout>
            <h1 class="mb-2 text-2xl font-semibold">"Audit log"</h1>
            <p class="mb-6 text-sm text-slate-600">
                "Destroys, secrets revealed, pulled or set, rollbacks, users and tokens made, and failed sign-ins, \
                 newest first. Values are never recorded."
            </p>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Err(e) => view! { <p class="text-rose-700" data-testid="audit-error">{error_message(&e)}</p> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! { <p class="text-sm text-slate-500" data-testid="audit-empty">"Nothing recorded yet."</p> }.into_any()
                        }
                        Ok(list) => view! {
                            <table class="w-full text-left text-sm" data-testid="audit-log">
                                <thead class="text-slate-500">
                                    <tr><th>"When (UTC)"</th><th>"Who"</th><th>"What"</th><th>"Target"</th><th>"Detail"</th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|e| {
                                        let action = e.action.clone();
                                        view! {
                                            <tr class="border-t border-slate-100 align-top" data-action=action>
                                                <td class="whitespace-nowrap py-1 pr-3 font-mono text-xs">{format_utc(e.at)}</td>
                                                <td class="pr-3">{e.actor}</td>
                                                <td class="pr-3 font-mono text-xs">{e.action}</td>
                                                <td class="pr-3">{e.target}</td>
                                                <td class="text-slate-600">{e.detail}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </Layout>
    }
}
