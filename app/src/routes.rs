//! The pages and the document around them. The login guard (`server::middleware`) protects
//! every page but [`PUBLIC_PAGES`], so a new page cannot render for a visitor without a session.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::pages::{ConnectionsPage, LoginPage, NotFound, VenturePage, VenturesPage};

/// Pages a visitor may see without a session. Every other page needs one (the guard in
/// `server::middleware` refuses by default).
pub const PUBLIC_PAGES: &[&str] = &["/login"];

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
                <Route path=path!("/connections") view=ConnectionsPage />
            </Routes>
        </Router>
    }
}
