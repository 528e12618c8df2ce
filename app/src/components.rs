//! The document shell, the router and the layout shared by every page.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::api::{Logout, current_user};
use crate::pages::{LoginPage, NotFound, VenturePage, VenturesPage};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Lets tests (and people) know the page is interactive.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="slipway" href="/pkg/slipway.css" />
        <Title text="Slipway" />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/") view=VenturesPage />
                <Route path=path!("/ventures") view=VenturesPage />
                <Route path=path!("/ventures/:id") view=VenturePage />
            </Routes>
        </Router>
    }
}

/// Header with the signed-in user, around a page's content.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-5xl items-center justify-between px-6 py-3">
                <a href="/ventures" class="text-lg font-semibold tracking-tight text-slate-900">
                    "Slipway"
                </a>
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
                                        <ActionForm action=logout>
                                            <button
                                                type="submit"
                                                class="rounded-md border border-slate-300 px-2 py-1 hover:bg-slate-100"
                                            >
                                                "Sign out"
                                            </button>
                                        </ActionForm>
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

/// A coloured status pill.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<String>) -> impl IntoView {
    let class = move || {
        let colour = match status.get().as_str() {
            "ready" => "bg-emerald-100 text-emerald-800",
            "failed" => "bg-rose-100 text-rose-800",
            _ => "bg-amber-100 text-amber-800",
        };
        format!("inline-block rounded-full px-2 py-0.5 text-xs font-medium {colour}")
    };
    view! { <span class=class data-testid="venture-status">{move || status.get()}</span> }
}
