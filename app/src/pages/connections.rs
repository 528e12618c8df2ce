//! Whether each platform's token works, and for whom.

use leptos::prelude::*;

use crate::components::{Layout, SECONDARY};
use crate::server_fns::{connections, error_message};

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    view! {
        <Layout>
            <ConnectionsPanel />
        </Layout>
    }
}

/// Whether the platform tokens work, and for whom; checked on load, every minute while the page
/// is open, and on demand.
#[island]
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
