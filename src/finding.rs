//! How much a finding of one of Slipway's checks matters (the database linter, the DNS
//! doctor): one scale, so every surface shows and sorts them alike.

use serde::{Deserialize, Serialize};

/// How much a finding matters, worst first: an error keeps something from working or leaves it
/// exposed (a database linter error marks the venture "needs attention").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warn,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
        }
    }
}
