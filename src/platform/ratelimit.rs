//! Client-side rate limiting, so Slipway stays inside each platform's documented budget
//! instead of discovering it through 429s.
//!
//! One limiter exists per (vendor, token): clients built with the same token share it, even
//! across engines in one process. Within a limiter, each *scope* (what the vendor counts
//! separately, e.g. Supabase's per-endpoint-per-project windows) has its own budget.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::time::Instant;

/// At most `requests` in any window of length `per` (a sliding window, as vendors count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub requests: u32,
    pub per: Duration,
}

impl Budget {
    pub const fn per_minute(requests: u32) -> Self {
        Budget { requests, per: Duration::from_secs(60) }
    }
}

pub struct RateLimiter {
    budget: Budget,
    /// Per scope: the send times granted within the last window, oldest first.
    scopes: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(budget: Budget) -> Self {
        RateLimiter { budget, scopes: Mutex::new(HashMap::new()) }
    }

    /// The limiter for this vendor and token digest, shared by every client using them.
    pub fn shared(vendor: &str, token_digest: &str, budget: Budget) -> Arc<RateLimiter> {
        static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<RateLimiter>>>> = OnceLock::new();
        let key = format!("{vendor}:{token_digest}:{}:{:?}", budget.requests, budget.per);
        let mut registry = REGISTRY.get_or_init(Default::default).lock().unwrap();
        if let Some(limiter) = registry.get(&key).and_then(Weak::upgrade) {
            return limiter;
        }
        registry.retain(|_, weak| weak.strong_count() > 0);
        let limiter = Arc::new(RateLimiter::new(budget));
        registry.insert(key, Arc::downgrade(&limiter));
        limiter
    }

    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Reserves a send time in `scope` and returns how long to wait for it.
    pub fn reserve(&self, scope: &str) -> Duration {
        self.reserve_within(scope, None).unwrap_or_else(|wait| wait)
    }

    /// Like [`reserve`](Self::reserve), but reserves nothing and returns `Err(wait)` when the
    /// wait would be longer than `patience`.
    pub fn reserve_within(&self, scope: &str, patience: Option<Duration>) -> Result<Duration, Duration> {
        let now = Instant::now();
        let limit = self.budget.requests.max(1) as usize;
        let mut scopes = self.scopes.lock().unwrap();
        let granted = scopes.entry(scope.to_string()).or_default();
        while granted.front().is_some_and(|t| *t + self.budget.per <= now) {
            granted.pop_front();
        }
        // With a full window, the new request goes when the oldest of the last `limit` leaves it.
        let mut at = if granted.len() >= limit { granted[granted.len() - limit] + self.budget.per } else { now };
        if let Some(last) = granted.back() {
            at = at.max(*last);
        }
        let wait = at.max(now) - now;
        if patience.is_some_and(|patience| wait > patience) {
            return Err(wait);
        }
        granted.push_back(at);
        Ok(wait)
    }

    /// Waits until a request in `scope` fits the budget. Inside [`with_patience`], a request
    /// that would wait longer is not sent: `Err(wait)` says when the budget allows it.
    pub async fn acquire(&self, scope: &str) -> Result<(), Duration> {
        let patience = PATIENCE.try_with(|patience| *patience).ok();
        let wait = self.reserve_within(scope, patience)?;
        if !wait.is_zero() {
            tracing::debug!(scope, wait_ms = wait.as_millis() as u64, "rate limiter holding a request");
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

tokio::task_local! {
    static PATIENCE: Duration;
}

/// Runs `work` (a person or a client waiting on the answer, such as a plan) so that its
/// platform calls never queue behind the rate limiter for longer than `patience`: such a call
/// fails at once as over budget, saying when to try again, instead of hanging the request.
/// Background work (jobs) runs without it and simply waits its turn.
pub async fn with_patience<F: std::future::Future>(patience: Duration, work: F) -> F::Output {
    PATIENCE.scope(patience, work).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_window_waits_for_the_oldest_request_to_leave_it() {
        let limiter = RateLimiter::new(Budget { requests: 4, per: Duration::from_secs(4) });
        for _ in 0..4 {
            assert_eq!(limiter.reserve("a"), Duration::ZERO);
        }
        assert_eq!(limiter.reserve("a"), Duration::from_secs(4));
        assert_eq!(limiter.reserve("a"), Duration::from_secs(4));
        assert_eq!(limiter.reserve("b"), Duration::ZERO, "scopes are counted apart");
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(limiter.reserve("a"), Duration::ZERO, "the budget refills with time");
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_budget_in_any_window() {
        let budget = Budget { requests: 10, per: Duration::from_secs(60) };
        let limiter = RateLimiter::new(budget);
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..35 {
            limiter.acquire("x").await.unwrap();
            sent.push(Instant::now() - start);
        }
        for (i, t) in sent.iter().enumerate() {
            let in_window = sent[i..].iter().filter(|u| **u < *t + budget.per).count();
            assert!(in_window <= 10, "{in_window} requests within a minute starting at {t:?}");
        }
    }

    #[test]
    fn clients_with_one_token_share_a_limiter() {
        let budget = Budget::per_minute(5);
        let a = RateLimiter::shared("vercel", "digest-1", budget);
        let b = RateLimiter::shared("vercel", "digest-1", budget);
        let c = RateLimiter::shared("vercel", "digest-2", budget);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[tokio::test(start_paused = true)]
    async fn with_patience_a_call_that_would_wait_too_long_is_refused_without_using_the_budget() {
        let limiter = RateLimiter::new(Budget { requests: 2, per: Duration::from_secs(60) });
        let patient = Duration::from_secs(5);
        with_patience(patient, async {
            assert_eq!(limiter.acquire("x").await, Ok(()));
            assert_eq!(limiter.acquire("x").await, Ok(()));
            assert_eq!(limiter.acquire("x").await, Err(Duration::from_secs(60)), "refused, saying when");
        })
        .await;
        tokio::time::advance(Duration::from_secs(58)).await;
        let refused = with_patience(patient, limiter.acquire("x")).await;
        assert_eq!(refused, Ok(()), "2 s left is within patience: the refused call took no slot");
    }
}
