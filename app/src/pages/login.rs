//! Sign-in.

use leptos::prelude::*;

use crate::components::{BUTTON, INPUT};
use crate::server_fns::{Login, error_message};

#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <main class="mx-auto mt-24 max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
            <h1 class="mb-6 text-2xl font-semibold">"Sign in to Slipway"</h1>
            <LoginForm />
        </main>
    }
}

/// The form and the reason a sign-in was refused; the server function redirects on success.
#[island]
fn LoginForm() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = move || login.value().get().and_then(|result| result.err()).map(|e| error_message(&e));
    view! {
        <ActionForm action=login attr:class="space-y-4">
            <label class="block text-sm font-medium">
                "Username" <input name="username" autocomplete="username" required class=INPUT />
            </label>
            <label class="block text-sm font-medium">
                "Password"
                <input
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    class=INPUT
                />
            </label>
            <button type="submit" class=BUTTON disabled=move || login.pending().get()>
                "Sign in"
            </button>
        </ActionForm>
        <p role="alert" data-testid="login-error" class="mt-4 text-sm text-rose-700">
            {error}
        </p>
    }
}
