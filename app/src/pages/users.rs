//! Users and API tokens, for admins: change a role, disable or enable a user, set a new
//! password (sessions end), revoke a token. Rendered on the server; plain forms post to
//! `server::forms` and come back here with a notice.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{DANGER, INPUT, Layout, SECONDARY};
use crate::server_fns::{error_message, users_page};
use slipway_engine::time::format_utc;

use crate::views::{TokenRowView, UserRowView};

const ROLES: &[&str] = &["creator", "operator", "admin"];

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(|| (), |_| users_page());
    view! {
        <Layout>
            <h1 class="mb-2 text-2xl font-semibold">"Users and API tokens"</h1>
            {move || query.read().get("notice").map(|n| view! {
                <p role="status" class="mb-4 rounded bg-slate-100 px-3 py-2 text-sm" data-testid="users-notice">{n}</p>
            })}
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <p class="text-rose-700" data-testid="users-error">{error_message(&e)}</p> }.into_any(),
                        Ok(page) => {
                            let me = page.me.clone();
                            view! {
                                <table class="mb-10 w-full text-left text-sm" data-testid="users">
                                    <thead class="text-slate-500">
                                        <tr><th>"User"</th><th>"Role"</th><th>"State"</th><th>"New password"</th></tr>
                                    </thead>
                                    <tbody>
                                        {page.users.into_iter().map(|u| view! { <UserRow user=u me=me.clone() /> }).collect_view()}
                                    </tbody>
                                </table>
                                <h2 class="mb-2 text-lg font-semibold">"API tokens"</h2>
                                <p class="mb-3 text-sm text-slate-600">
                                    "Made with " <code>"slipway token create"</code> " (90 days unless told otherwise, at most 365). \
                                     A revoked or expired token is refused at once by every instance."
                                </p>
                                <table class="w-full text-left text-sm" data-testid="tokens">
                                    <thead class="text-slate-500">
                                        <tr><th>"Name"</th><th>"User"</th><th>"Role"</th><th>"Created"</th><th>"Last used"</th><th>"State"</th><th></th></tr>
                                    </thead>
                                    <tbody>
                                        {page.tokens.into_iter().map(|t| view! { <TokenRow token=t /> }).collect_view()}
                                    </tbody>
                                </table>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </Layout>
    }
}

#[component]
fn UserRow(user: UserRowView, me: String) -> impl IntoView {
    let name = user.username.clone();
    let (state, change, label) = if user.disabled {
        ("disabled".to_string(), "enable", "Enable")
    } else {
        (format!("active, {} session(s)", user.sessions), "disable", "Disable")
    };
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid=format!("user-{name}") data-disabled=user.disabled.to_string()>
            <td class="py-2 pr-3">
                <span class="font-medium">{name.clone()}</span>
                <div class="text-xs text-slate-500">{format!("since {}", format_utc(user.created_at))}</div>
            </td>
            <td class="py-2 pr-3">
                <form method="post" action=format!("/users/{name}/role") class="flex items-center gap-2">
                    <select name="role" class="rounded border border-slate-300 px-1 py-1 text-sm" aria-label=format!("Role of {name}")>
                        {ROLES.iter().map(|r| view! { <option value=*r selected=*r == user.role>{*r}</option> }).collect_view()}
                    </select>
                    <button type="submit" class=SECONDARY>"Change"</button>
                </form>
            </td>
            <td class="py-2 pr-3">
                <span data-testid="user-state">{state}</span>
                {(name != me).then(|| view! {
                    <form method="post" action=format!("/users/{name}/{change}") class="mt-1">
                        <button type="submit" class=if change == "disable" { DANGER } else { SECONDARY }>{label}</button>
                    </form>
                })}
            </td>
            <td class="py-2">
                <form method="post" action=format!("/users/{name}/password") class="flex items-center gap-2">
                    <input type="password" name="password" required minlength="12" autocomplete="new-password"
                        class=INPUT aria-label=format!("New password for {name}") />
                    <button type="submit" class=SECONDARY>"Set"</button>
                </form>
            </td>
        </tr>
    }
}

#[component]
fn TokenRow(token: TokenRowView) -> impl IntoView {
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid=format!("token-{}", token.name) data-live=token.live.to_string()>
            <td class="py-2 pr-3">{token.name.clone()}</td>
            <td class="pr-3">{token.username.clone()}</td>
            <td class="pr-3">{token.role.clone()}</td>
            <td class="pr-3 font-mono text-xs">{format_utc(token.created_at)}</td>
            <td class="pr-3 font-mono text-xs">{token.last_used_at.map_or("never".to_string(), format_utc)}</td>
            <td class="pr-3" data-testid="token-state">{token.state.clone()}</td>
            <td>
                {token.live.then(|| view! {
                    <form method="post" action=format!("/tokens/{}/revoke", token.id)>
                        <button type="submit" class=DANGER>"Revoke"</button>
                    </form>
                })}
            </td>
        </tr>
    }
}
