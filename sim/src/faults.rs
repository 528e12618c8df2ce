//! Injectable latency and failures, by share of all requests or for one operation, reproducible
//! from a seed. Vendor-shaped failures (429, 5xx) are answered by each simulator in its vendor's
//! format; connection failures (dropped, hung) are applied around the handler by
//! [`super::fault_layer`], so they behave alike everywhere.

use std::collections::VecDeque;
use std::str::FromStr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A failure a simulator injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with the vendor's body and a `Retry-After` of this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// A 5xx status, the request not handled.
    ServerError(u16),
    /// The connection closes without an answer. With `handled`, only after the request took
    /// effect: the client cannot know whether it did.
    Dropped { handled: bool },
    /// The request takes effect, then the answer is held for the plan's `hang` (past the
    /// client's timeout).
    TimedOut,
}

impl Fault {
    /// Answered by the simulator's own handler code (as opposed to the connection layer).
    pub fn is_vendor_answer(self) -> bool {
        matches!(self, Fault::RateLimited { .. } | Fault::ServerError(_))
    }
}

/// `429`, `500`/`502`/`503`, `drop`, `drop-after`, `timeout` (as `slipway sim --fault` takes them).
impl FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "429" => Ok(Fault::RateLimited { retry_after_secs: 1 }),
            "drop" => Ok(Fault::Dropped { handled: false }),
            "drop-after" => Ok(Fault::Dropped { handled: true }),
            "timeout" => Ok(Fault::TimedOut),
            code => match code.parse::<u16>() {
                Ok(status @ 500..=599) => Ok(Fault::ServerError(status)),
                _ => Err(format!("unknown fault {text:?}: use 429, 500, 502, 503, drop, drop-after or timeout")),
            },
        }
    }
}

/// Requests of one operation: a method and a path whose `*` segments match any one segment
/// (`POST /v11/projects`, `GET /v1/projects/*/health`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub method: String,
    pub path: String,
}

impl Operation {
    pub fn new(method: &str, path: &str) -> Self {
        Operation { method: method.to_ascii_uppercase(), path: path.trim_end_matches('/').to_string() }
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        let pattern = self.path.split('/');
        let actual: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.method.eq_ignore_ascii_case(method)
            && pattern.clone().count() == actual.len()
            && pattern.zip(actual).all(|(want, got)| want == "*" || want == got)
    }
}

/// `POST /v11/projects=drop-after:0.5` (share defaults to 1).
impl FromStr for OperationFaults {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (operation, fault) =
            text.split_once('=').ok_or_else(|| format!("{text:?}: expected METHOD /path=FAULT[:SHARE]"))?;
        let (method, path) = operation
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("{operation:?}: expected a method and a path, like POST /v11/projects"))?;
        let (fault, share) = match fault.split_once(':') {
            Some((fault, share)) => {
                let share: f64 = share.parse().map_err(|_| format!("{share:?}: the share must be a number"))?;
                (fault, share)
            }
            None => (fault, 1.0),
        };
        if !(0.0..=1.0).contains(&share) {
            return Err(format!("{share}: the share must be between 0 and 1"));
        }
        Ok(OperationFaults { operation: Operation::new(method, path.trim()), fault: fault.trim().parse()?, share })
    }
}

/// `fault` for a `share` of the requests of `operation`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationFaults {
    pub operation: Operation,
    pub fault: Fault,
    pub share: f64,
}

/// How a simulator misbehaves. Shares are probabilities in 0..=1 per request.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Added before each response is sent (after any state change, like a slow network).
    pub latency: Duration,
    pub rate_limit_share: f64,
    pub server_error_share: f64,
    /// Connections closed without an answer, half of them after the request took effect.
    pub dropped_share: f64,
    /// Requests that take effect and then hang for `hang`.
    pub timeout_share: f64,
    pub hang: Duration,
    pub retry_after_secs: u64,
    /// Faults for single operations, checked before the shares above.
    pub operations: Vec<OperationFaults>,
    pub seed: u64,
}

pub struct Faults {
    plan: FaultPlan,
    queued: VecDeque<Fault>,
    queued_for: Vec<(Operation, VecDeque<Fault>)>,
    rng: StdRng,
}

impl Faults {
    pub fn new(plan: FaultPlan) -> Self {
        let rng = StdRng::seed_from_u64(plan.seed);
        Faults { plan, queued: VecDeque::new(), queued_for: Vec::new(), rng }
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    pub fn set_plan(&mut self, plan: FaultPlan) {
        self.rng = StdRng::seed_from_u64(plan.seed);
        self.plan = plan;
    }

    /// Makes the next requests fail in this order, before any random fault applies.
    pub fn queue(&mut self, faults: impl IntoIterator<Item = Fault>) {
        self.queued.extend(faults);
    }

    /// Makes the next requests of `operation` fail in this order.
    pub fn queue_for(&mut self, operation: Operation, faults: impl IntoIterator<Item = Fault>) {
        self.queued_for.push((operation, faults.into_iter().collect()));
    }

    /// The fault for a `method path` request, if any.
    pub fn draw(&mut self, method: &str, path: &str) -> Option<Fault> {
        if let Some((_, queue)) = self.queued_for.iter_mut().find(|(op, q)| !q.is_empty() && op.matches(method, path)) {
            return queue.pop_front();
        }
        if let Some(fault) = self.queued.pop_front() {
            return Some(fault);
        }
        let roll: f64 = self.rng.r#gen();
        if let Some(rule) = self.plan.operations.iter().find(|rule| rule.operation.matches(method, path)) {
            return (roll < rule.share).then_some(rule.fault);
        }
        let plan = &self.plan;
        let mut threshold = plan.rate_limit_share;
        if roll < threshold {
            return Some(Fault::RateLimited { retry_after_secs: plan.retry_after_secs });
        }
        threshold += plan.server_error_share;
        if roll < threshold {
            let codes = [500, 502, 503];
            return Some(Fault::ServerError(codes[self.rng.gen_range(0..codes.len())]));
        }
        threshold += plan.dropped_share;
        if roll < threshold {
            return Some(Fault::Dropped { handled: self.rng.gen_bool(0.5) });
        }
        threshold += plan.timeout_share;
        (roll < threshold).then_some(Fault::TimedOut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_come_first_then_shares_apply_reproducibly() {
        let plan = FaultPlan { server_error_share: 0.5, seed: 7, ..FaultPlan::default() };
        let mut a = Faults::new(plan.clone());
        a.queue([Fault::RateLimited { retry_after_secs: 1 }]);
        assert_eq!(a.draw("GET", "/x"), Some(Fault::RateLimited { retry_after_secs: 1 }));
        let run_a: Vec<_> = (0..200).map(|_| a.draw("GET", "/x")).collect();
        let mut b = Faults::new(plan);
        let run_b: Vec<_> = (0..200).map(|_| b.draw("GET", "/x")).collect();
        assert_eq!(run_a, run_b);
        let failures = run_a.iter().filter(|f| f.is_some()).count();
        assert!((60..140).contains(&failures), "{failures} of 200 with share 0.5");
    }

    #[test]
    fn no_faults_by_default() {
        let mut faults = Faults::new(FaultPlan::default());
        assert!((0..100).all(|_| faults.draw("GET", "/x").is_none()));
    }

    #[test]
    fn operation_faults_hit_only_their_operation() {
        let rule: OperationFaults = "POST /v11/projects=drop-after".parse().unwrap();
        let health: OperationFaults = "get /v1/projects/*/health=503:0.5".parse().unwrap();
        assert_eq!(health.operation.method, "GET");
        let mut faults = Faults::new(FaultPlan { operations: vec![rule, health], seed: 3, ..FaultPlan::default() });
        assert_eq!(faults.draw("POST", "/v11/projects"), Some(Fault::Dropped { handled: true }));
        assert_eq!(faults.draw("GET", "/v11/projects"), None);
        assert_eq!(faults.draw("POST", "/v11/projects/x"), None, "segments must match");
        let hits = (0..200).filter(|_| faults.draw("GET", "/v1/projects/abc/health").is_some()).count();
        assert!((60..140).contains(&hits), "{hits} of 200 with share 0.5");

        faults.queue_for(Operation::new("GET", "/v9/projects/*"), [Fault::TimedOut]);
        assert_eq!(faults.draw("GET", "/v2/user"), None);
        assert_eq!(faults.draw("GET", "/v9/projects/prj_1"), Some(Fault::TimedOut));
        assert_eq!(faults.draw("GET", "/v9/projects/prj_1"), None, "the queue is spent");
    }

    #[test]
    fn fault_specs_are_parsed_with_clear_errors() {
        assert_eq!("502".parse::<Fault>().unwrap(), Fault::ServerError(502));
        assert!("404".parse::<Fault>().unwrap_err().contains("unknown fault"));
        assert!("POST=drop".parse::<OperationFaults>().unwrap_err().contains("method and a path"));
        assert!("POST /x=drop:2".parse::<OperationFaults>().unwrap_err().contains("between 0 and 1"));
        assert!("POST /x".parse::<OperationFaults>().unwrap_err().contains("METHOD /path=FAULT"));
    }
}
