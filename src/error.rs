use std::fmt;

use serde::{Deserialize, Serialize};

/// A rule broken by one input field, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError { field: field.to_string(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Errors of the engine's public operations.
///
/// Messages never contain secret values: they are shown to users and written to logs. Each
/// error has a stable [`ErrorCode`]; the app maps codes to HTTP statuses in one table.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("your role ({role}) may not {action}")]
    Forbidden { role: &'static str, action: &'static str },
    /// A creator acting on a venture another user created.
    #[error("{venture} was created by {owner}: a creator may {action} only when they created it (an admin may always)")]
    NotYours { action: &'static str, venture: String, owner: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The database failed (the message is for the log, not for users).
    #[error("storage error: {0}")]
    Storage(String),
    /// Slipway's own configuration is wrong (the message says what to set).
    #[error("{0}")]
    Config(String),
    /// A sealed value does not open with any configured master key.
    #[error("a sealed value could not be opened: {0}")]
    Sealed(String),
    /// The request clashes with work under way (the message says what to wait for).
    #[error("{0}")]
    Conflict(String),
    /// The platforms' rate limits are in use for longer than an interactive request waits.
    #[error("the platforms' rate limits are in use; try again in {} s", seconds_up(retry_after))]
    Busy { retry_after: std::time::Duration },
    /// Sign-ins from this username or address failed too often in a row: wait before the next.
    #[error("too many failed sign-ins; try again in {} s", seconds_up(retry_after))]
    TooManyAttempts { retry_after: std::time::Duration },
    /// A connection check was asked for again sooner than one user may.
    #[error(
        "connections may be checked on demand once every {} s per user; try again in {} s",
        every.as_secs(),
        seconds_up(retry_after)
    )]
    CheckedRecently { every: std::time::Duration, retry_after: std::time::Duration },
    /// A platform call failed (the message names the vendor and what went wrong).
    #[error("{0}")]
    Platform(String),
}

/// What kind of failure an [`EngineError`] is: stable, for clients to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    /// Rules broken; every field named.
    Invalid,
    Conflict,
    Busy,
    Platform,
    /// Not the caller's doing; details go to the log only.
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Invalid,
        ErrorCode::Conflict,
        ErrorCode::Busy,
        ErrorCode::Platform,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Invalid => "invalid",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Busy => "busy",
            ErrorCode::Platform => "platform",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Whole seconds, rounded up and at least one: a client that waits that long is not early.
fn seconds_up(duration: &std::time::Duration) -> u64 {
    (duration.as_millis().div_ceil(1000) as u64).max(1)
}

impl EngineError {
    /// For a refusal that says when to try again: the seconds to wait (`Retry-After`), the
    /// same figure its message gives.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            EngineError::Busy { retry_after }
            | EngineError::TooManyAttempts { retry_after }
            | EngineError::CheckedRecently { retry_after, .. } => Some(seconds_up(retry_after)),
            _ => None,
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        EngineError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Unauthenticated => ErrorCode::Unauthenticated,
            EngineError::Forbidden { .. } | EngineError::NotYours { .. } => ErrorCode::Forbidden,
            EngineError::NotFound(_) => ErrorCode::NotFound,
            EngineError::Invalid(_) => ErrorCode::Invalid,
            EngineError::Conflict(_) => ErrorCode::Conflict,
            EngineError::Busy { .. } | EngineError::TooManyAttempts { .. } | EngineError::CheckedRecently { .. } => {
                ErrorCode::Busy
            }
            EngineError::Platform(_) => ErrorCode::Platform,
            EngineError::Storage(_) | EngineError::Config(_) | EngineError::Sealed(_) => ErrorCode::Internal,
        }
    }

    /// The message for the caller: every broken rule for `Invalid`; nothing internal.
    pub fn public_message(&self) -> String {
        match self {
            EngineError::Invalid(errors) => errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            _ if self.code() == ErrorCode::Internal => "internal error; see the server log".into(),
            _ => self.to_string(),
        }
    }
}

impl From<sqlx::Error> for EngineError {
    fn from(err: sqlx::Error) -> Self {
        EngineError::Storage(err.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for EngineError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        EngineError::Storage(format!("migration: {err}"))
    }
}
