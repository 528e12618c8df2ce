//! Typed clients for the platforms Slipway provisions on. Every client has the same shape
//! ([`api`]): typed requests and responses, one error type that knows whether it is
//! retryable, a rate limiter per token, retries with backoff that honour `Retry-After`
//! ([`retry`]), request timeouts, and tracing spans that never carry a secret.

pub mod api;
pub mod cloudflare;
pub mod domain;
pub mod ratelimit;
pub mod retry;
pub mod rfc2136;
pub mod supabase;
pub mod vercel;
