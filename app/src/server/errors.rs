//! The one table from the engine's error codes to HTTP statuses, for REST and server functions
//! alike, and the refusals the HTTP layer makes itself (bodies and arguments that do not parse).

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use slipway_engine::venture::FieldError;
use slipway_engine::{EngineError, ErrorCode};

/// The status for each engine error code.
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        // The request parsed, and broke rules (each field named): 422. Input that does not
        // parse at all is a 400 (`Refusal::bad_request`).
        ErrorCode::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Busy => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Platform => StatusCode::BAD_GATEWAY,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Why a request was refused: the status, a stable code, the message, and the fields named.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    /// Seconds, for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal { status, code, message: message.into(), fields: Vec::new(), retry_after: None }
    }

    /// Input that does not parse (`bad_body`, `bad_query`, `bad_argument`), naming the field
    /// when there is one.
    pub fn bad_request(code: &'static str, field: Option<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let fields = field.map(|field| vec![FieldError::new(&field, message.clone())]).unwrap_or_default();
        let message = match fields.first() {
            Some(field) => field.to_string(),
            None => message,
        };
        Refusal { fields, ..Refusal::new(StatusCode::BAD_REQUEST, code, message) }
    }

    pub fn too_large(limit_bytes: usize) -> Self {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {} KiB", limit_bytes / 1024),
        )
    }

    pub fn from_engine(err: EngineError) -> Self {
        let code = err.code();
        if code == ErrorCode::Internal {
            tracing::error!(error = %err, "request failed");
        }
        let retry_after = err.retry_after_seconds();
        let message = slipway_engine::redact::scrub(&err.public_message());
        let fields = match err {
            EngineError::Invalid(fields) => fields,
            _ => Vec::new(),
        };
        Refusal { status: status(code), code: code.as_str(), message, fields, retry_after }
    }
}

/// `{"error": {"code", "message", "fields"?}}`, with `Retry-After` when the caller should wait.
impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if !self.fields.is_empty() {
            error["fields"] = json!(self.fields);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.to_string().parse().expect("digits"));
        }
        response
    }
}

/// serde's message without the position it appends (`… at line 1 column 9`): the field path
/// says where.
pub fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => &message[..at],
        _ => message,
    }
}

/// A JSON body as `T`, or a 400 naming the field that does not fit (`name: invalid type:
/// integer `5`, expected a string`), bytes that are not UTF-8 included.
pub fn json_body<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, Refusal> {
    if std::str::from_utf8(raw).is_err() {
        return Err(Refusal::bad_request("bad_body", None, "the request body is not valid UTF-8"));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(raw);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = without_position(&err.inner().to_string()).to_string();
        let field = (path != "." && path != "?").then_some(path);
        let message = if field.is_none() { format!("the request body is not valid: {message}") } else { message };
        Refusal::bad_request("bad_body", field, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_invalid_is_422() {
        for code in ErrorCode::ALL {
            assert!(status(code).is_client_error() || status(code).is_server_error(), "{code:?}");
        }
        assert_eq!(status(ErrorCode::Invalid), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn a_wrongly_typed_field_is_named_without_line_and_column() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Spec {
            name: String,
            framework: Framework,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Framework {
            node_version: String,
        }
        let refusal = json_body::<Spec>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!(refusal.fields[0].field, "name");
        assert_eq!(refusal.message, "name: invalid type: integer `5`, expected a string");
        let nested = json_body::<Spec>(br#"{"name": "a", "framework": {"node_version": []}}"#).unwrap_err();
        assert_eq!(nested.fields[0].field, "framework.node_version");
        let broken = json_body::<Spec>(b"{\"name\": \"a\"").unwrap_err();
        assert!(broken.message.starts_with("the request body is not valid"), "{}", broken.message);
        assert!(!broken.message.contains("line"), "{}", broken.message);
        let bytes = json_body::<Spec>(b"\xff\xfe").unwrap_err();
        assert!(bytes.message.contains("UTF-8"));
    }
}
