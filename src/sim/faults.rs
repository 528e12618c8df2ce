//! Injectable latency and failures, reproducible from a seed.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A failure the simulator answers with instead of doing the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with the vendor's body and a `Retry-After` of this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// A 5xx status.
    ServerError(u16),
}

/// How a simulator misbehaves. Shares are probabilities in 0..=1 per request.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Added before each response is sent (after any state change, like a slow network).
    pub latency: Duration,
    pub rate_limit_share: f64,
    pub server_error_share: f64,
    pub retry_after_secs: u64,
    pub seed: u64,
}

pub struct Faults {
    plan: FaultPlan,
    queued: VecDeque<Fault>,
    rng: StdRng,
}

impl Faults {
    pub fn new(plan: FaultPlan) -> Self {
        let rng = StdRng::seed_from_u64(plan.seed);
        Faults { plan, queued: VecDeque::new(), rng }
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

    /// The fault for the request being handled, if any.
    pub fn draw(&mut self) -> Option<Fault> {
        if let Some(fault) = self.queued.pop_front() {
            return Some(fault);
        }
        let roll: f64 = self.rng.r#gen();
        if roll < self.plan.rate_limit_share {
            Some(Fault::RateLimited { retry_after_secs: self.plan.retry_after_secs })
        } else if roll < self.plan.rate_limit_share + self.plan.server_error_share {
            let codes = [500, 502, 503];
            Some(Fault::ServerError(codes[self.rng.gen_range(0..codes.len())]))
        } else {
            None
        }
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
        assert_eq!(a.draw(), Some(Fault::RateLimited { retry_after_secs: 1 }));
        let run_a: Vec<_> = (0..200).map(|_| a.draw()).collect();
        let mut b = Faults::new(plan);
        let run_b: Vec<_> = (0..200).map(|_| b.draw()).collect();
        assert_eq!(run_a, run_b);
        let failures = run_a.iter().filter(|f| f.is_some()).count();
        assert!((60..140).contains(&failures), "{failures} of 200 with share 0.5");
    }

    #[test]
    fn no_faults_by_default() {
        let mut faults = Faults::new(FaultPlan::default());
        assert!((0..100).all(|_| faults.draw().is_none()));
    }
}
