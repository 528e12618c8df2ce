//! Whether each platform's token works, and for whom, as the server last checked it (in the
//! background, every minute). Rendered on the server from the stored result, so the page never
//! waits on a platform; it reloads itself every 30 s, and "Check now" is a plain form that
//! checks at the platforms (once every 30 s per user) and comes back with a notice.

use leptos::prelude::*;
use leptos_meta::Meta;
use leptos_router::hooks::use_query_map;

use crate::components::{Layout, SECONDARY};
use crate::server_fns::{connections, error_message};

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let query = use_query_map();
    let report = Resource::new(|| (), |_| connections());
    view! {
        // Reloaded without the notice, which belongs to the check that was asked for.
        <Meta http_equiv="refresh" content="30; url=/connections" />
        <Layout>
            <section class="mb-10 rounded-xl border border-slate-200 bg-white p-6 shadow-sm" data-testid="connections">
                <div class="mb-3 flex items-center justify-between">
                    <h2 class="text-lg font-semibold">"Connections"</h2>
                    <form method="post" action="/connections/check">
                        <button type="submit" class=SECONDARY data-testid="check-now">"Check now"</button>
                    </form>
                </div>
                {move || query.read().get("notice").map(|n| view! {
                    <p role="status" class="mb-3 rounded bg-slate-100 px-3 py-2 text-sm" data-testid="connections-notice">{n}</p>
                })}
                <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Reading…"</p> }>
                    {move || Suspend::new(async move {
                        match report.await {
                            Err(e) => view! { <p class="text-rose-700">{error_message(&e)}</p> }.into_any(),
                            Ok(report) => view! {
                                <p class="mb-2 text-xs text-slate-500" data-testid="connections-age">
                                    {match report.age_seconds {
                                        None => "Not checked yet.".to_string(),
                                        Some(age) => format!("Checked {} ago.", age_in_words(age)),
                                    }}
                                    {report.checking.then_some(" A check is under way.")}
                                </p>
                                <ul class="space-y-1 text-sm">
                                    {report.statuses.into_iter().map(|c| view! {
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
                </Suspense>
            </section>
        </Layout>
    }
}

fn age_in_words(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}
