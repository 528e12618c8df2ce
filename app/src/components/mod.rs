//! What every page shares: the layout with the top navigation, small widgets, and the style
//! constants. `Layout` renders on the server; only its sign-out button is an island.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::server_fns::{Logout, current_user};

/// The top navigation: (path, label).
pub const NAVIGATION: &[(&str, &str)] = &[("/ventures", "Ventures"), ("/connections", "Connections")];
/// The navigation only admins see.
pub const ADMIN_NAVIGATION: &[(&str, &str)] = &[("/users", "Users"), ("/audit", "Audit")];

pub const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm \
                         focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";
pub const BUTTON: &str = "rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm \
                          hover:bg-indigo-500 disabled:opacity-50";
pub const DANGER: &str = "rounded-md bg-rose-600 px-4 py-2 text-sm font-semibold text-white shadow-sm \
                          hover:bg-rose-500 disabled:opacity-50";
pub const SECONDARY: &str = "rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold \
                             text-slate-700 shadow-sm hover:bg-slate-50 disabled:opacity-50";

/// The top navigation and the signed-in user, around a page's content.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let location = use_location();
    let link = move |(path, label): (&'static str, &'static str)| {
        let current = move || {
            let here = location.pathname.get();
            if here == path || here.starts_with(&format!("{path}/")) { Some("page") } else { None }
        };
        view! {
            <a href=path aria-current=current
                class="rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 aria-[current=page]:bg-slate-900 aria-[current=page]:text-white">
                {label}
            </a>
        }
    };
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-5xl items-center justify-between px-6 py-3">
                <nav class="flex items-center gap-4" aria-label="Main" data-testid="top-nav">
                    <a href="/ventures" class="text-lg font-semibold tracking-tight text-slate-900">
                        "Slipway"
                    </a>
                    {NAVIGATION.iter().copied().map(link).collect_view()}
                    // Admins' pages: shown to admins (the server refuses the others).
                    <Suspense>
                        {move || Suspend::new(async move {
                            let admin = user.await.ok().flatten().is_some_and(|u| u.role == "admin");
                            admin.then(|| ADMIN_NAVIGATION.iter().copied().map(link).collect_view())
                        })}
                    </Suspense>
                </nav>
                <Suspense>
                    {move || Suspend::new(async move {
                        user.await
                            .ok()
                            .flatten()
                            .map(|user| {
                                view! {
                                    <div class="flex items-center gap-3 text-sm text-slate-600">
                                        <span data-testid="signed-in-user">
                                            {user.username} " · " {user.role}
                                        </span>
                                        <SignOut />
                                    </div>
                                }
                            })
                    })}
                </Suspense>
            </div>
        </header>
        <main class="mx-auto max-w-5xl px-6 py-8">{children()}</main>
    }
}

/// Signs out and goes to the login page (the server function redirects).
#[island]
fn SignOut() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=logout>
            <button type="submit" class="rounded-md border border-slate-300 px-2 py-1 hover:bg-slate-100">
                "Sign out"
            </button>
        </ActionForm>
    }
}

/// A coloured status pill.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<String>) -> impl IntoView {
    let class = move || {
        let colour = match status.get().as_str() {
            "ready" => "bg-emerald-100 text-emerald-800",
            "failed" | "needs_attention" => "bg-rose-100 text-rose-800",
            _ => "bg-amber-100 text-amber-800",
        };
        format!("inline-block rounded-full px-2 py-0.5 text-xs font-medium {colour}")
    };
    view! { <span class=class data-testid="venture-status">{move || status.get()}</span> }
}
