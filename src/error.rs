use crate::venture::FieldError;

/// Errors of the engine's public operations.
///
/// Messages never contain secret values: they are shown to users and written to logs.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("your role ({role}) may not {action}")]
    Forbidden { role: &'static str, action: &'static str },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("storage error: {0}")]
    Store(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Config(String),
    /// The request clashes with work under way (the message says what to wait for).
    #[error("{0}")]
    Conflict(String),
    /// The platforms' rate limits are in use for longer than an interactive request waits.
    #[error("the platforms' rate limits are in use; try again in {} s", retry_after.as_secs().max(1))]
    Busy { retry_after: std::time::Duration },
    /// A platform call failed (the message names the vendor and what went wrong).
    #[error("{0}")]
    Platform(String),
}

impl EngineError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        EngineError::Invalid(vec![FieldError::new(field, message)])
    }
}
