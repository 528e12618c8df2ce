//! The dashboard's pages, one file each. A page is routed in `routes.rs`.

mod audit;
mod connections;
mod login;
mod not_found;
mod venture;
mod ventures;

pub use audit::AuditPage;
pub use connections::ConnectionsPage;
pub use login::LoginPage;
pub use not_found::NotFound;
pub use venture::VenturePage;
pub use ventures::VenturesPage;
