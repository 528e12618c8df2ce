//! Typed clients for the platforms Slipway provisions on. Every client has the same shape:
//! typed requests and responses, one error type that knows whether it is retryable, and
//! retries with backoff through [`retry`], with tracing spans that never carry a secret.

pub mod retry;
pub mod vercel;
