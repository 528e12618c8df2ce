//! The browser entry point. Leptos' island script calls `hydrate` once the bundle is loaded,
//! then hydrates each island of the server-rendered page. Nothing else lives here.

// The islands are exported from the app crate; naming it links them into the bundle.
use slipway_app as _;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
