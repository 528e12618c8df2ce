//! The dashboard's pages, one file each. A page is routed in `routes.rs`.
//!
//! Pages without an island (the admins' Audit and Users) are compiled for the server only:
//! the browser hydrates islands and never renders a page, yet a page's code would otherwise
//! still reach the bundle. The browser build routes them to empty stand-ins.

#[cfg(feature = "ssr")]
mod audit;
mod connections;
mod login;
mod not_found;
#[cfg(feature = "ssr")]
mod users;
mod venture;
mod ventures;

#[cfg(feature = "ssr")]
pub use audit::AuditPage;
pub use connections::ConnectionsPage;
pub use login::LoginPage;
pub use not_found::NotFound;
#[cfg(not(feature = "ssr"))]
pub use server_only::{AuditPage, UsersPage};
#[cfg(feature = "ssr")]
pub use users::UsersPage;
pub use venture::VenturePage;
pub use ventures::VenturesPage;

#[cfg(not(feature = "ssr"))]
mod server_only {
    use leptos::prelude::*;

    #[component]
    pub fn AuditPage() -> impl IntoView {}

    #[component]
    pub fn UsersPage() -> impl IntoView {}
}
