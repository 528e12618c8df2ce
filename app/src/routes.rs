//! The pages and the document around them. The login guard (`server::middleware`) protects
//! every page but [`PUBLIC_PAGES`], so a new page cannot render for a visitor without a session.
//!
//! The app runs in Leptos' islands mode: pages render on the server only, and the browser gets
//! code for the interactive parts alone, the components marked `#[island]`. Every route renders
//! once its data is ready (`SsrMode::Async`), so each island is in the HTML the browser hydrates
//! (an island streamed in later would stay inert). Links are plain page loads.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::pages::{AuditPage, ConnectionsPage, LoginPage, NotFound, UsersPage, VenturePage, VenturesPage};

/// Pages a visitor may see without a session. Every other page needs one (the guard in
/// `server::middleware` refuses by default).
pub const PUBLIC_PAGES: &[&str] = &["/login"];

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::csp::send_page_csp();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
                <HydrationMarker />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="slipway" href="/pkg/slipway.css" />
        <Title text="Slipway" />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/") view=VenturesPage ssr=SsrMode::Async />
                <Route path=path!("/ventures") view=VenturesPage ssr=SsrMode::Async />
                <Route path=path!("/ventures/:id") view=VenturePage ssr=SsrMode::Async />
                <Route path=path!("/connections") view=ConnectionsPage ssr=SsrMode::Async />
                <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async />
                <Route path=path!("/users") view=UsersPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// Marks the body `data-hydrated` once the page is interactive, so tests (and people) can tell.
/// It is the last island in the page, and the browser hydrates islands in document order.
#[island]
fn HydrationMarker() -> impl IntoView {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
