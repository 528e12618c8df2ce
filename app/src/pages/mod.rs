//! The dashboard's pages, one file each. A page is routed in `routes.rs`.
//!
//! Pages without an island (Connections, and the admins' Audit and Users) are compiled for the server only:
//! the browser hydrates islands and never renders a page, yet a page's code would otherwise
//! still reach the bundle. The browser build routes them to empty stand-ins.

#[cfg(feature = "ssr")]
mod audit;
#[cfg(feature = "ssr")]
mod connections;
mod login;
mod not_found;
#[cfg(feature = "ssr")]
mod users;
mod venture;
mod ventures;

#[cfg(feature = "ssr")]
pub use audit::AuditPage;
#[cfg(feature = "ssr")]
pub use connections::ConnectionsPage;
pub use login::LoginPage;
pub use not_found::NotFound;
#[cfg(not(feature = "ssr"))]
pub use server_only::{AuditPage, ConnectionsPage, UsersPage};
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

    #[component]
    pub fn ConnectionsPage() -> impl IntoView {}
}
