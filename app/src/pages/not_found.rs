//! Anything else.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="mx-auto mt-24 max-w-md text-center">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <a class="text-indigo-700 hover:underline" href="/ventures">"Back to ventures"</a>
        </main>
    }
}
