//! The platforms' connections, checked in the background on an interval and on demand, and
//! read by pages as the last result with its time: no page waits on a platform, and no one
//! spends the platforms' rate limits by reloading a page. The last result lives in the store,
//! so every instance shows the same one and one instance at a time checks.

use std::time::Duration;

use super::*;

/// The platforms' connections as last checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    /// When the statuses were asked for (ms since the Unix epoch); `None` until a check ends.
    pub checked_at: Option<i64>,
    /// Each configured platform, in the check's order; `connected: false` and "not checked
    /// yet" until a check ends.
    pub statuses: Vec<ConnectionStatus>,
    /// A check began after these statuses were asked for and has not finished.
    pub checking: bool,
}

/// When connections are checked.
#[derive(Debug, Clone)]
pub struct ConnectionChecks {
    /// The background check's interval (one instance checks per interval, however many run).
    pub every: Duration,
    /// How often one user may ask for a check on demand.
    pub on_demand_per_user: Duration,
    /// How long a check waits for each platform (slow, or its rate limit in use) before
    /// reporting it as not answering.
    pub patience: Duration,
}

impl Default for ConnectionChecks {
    fn default() -> Self {
        ConnectionChecks {
            every: Duration::from_secs(60),
            on_demand_per_user: Duration::from_secs(30),
            patience: Duration::from_secs(10),
        }
    }
}

/// A check asked for on demand within this long of another one's start joins it instead.
const JOIN_A_CHECK_STARTED_WITHIN: Duration = Duration::from_secs(5);

const NOT_CHECKED_YET: &str = "not checked yet";

impl ConnectionReport {
    /// Whole seconds from the check to `now` (ms since the Unix epoch); `None` before the first.
    pub fn age_seconds(&self, now: i64) -> Option<i64> {
        self.checked_at.map(|at| (now - at).max(0) / 1000)
    }
}

impl Engine {
    /// The platforms' connections as last checked, from the store: never a platform call.
    pub async fn connection_status(&self, _actor: &User) -> Result<ConnectionReport, EngineError> {
        let stored = self.inner.store.connections().await?;
        let checked: Vec<ConnectionStatus> = serde_json::from_str(&stored.statuses).unwrap_or_default();
        // Names and addresses are this instance's own (a sandbox's simulators move between
        // runs); what was found is the last check's.
        let statuses = self
            .inner
            .platforms
            .configured()
            .into_iter()
            .map(|(platform, base_url)| match checked.iter().find(|c| c.platform == platform) {
                Some(found) => ConnectionStatus { base_url, ..found.clone() },
                None => ConnectionStatus {
                    platform: platform.into(),
                    base_url,
                    connected: false,
                    detail: NOT_CHECKED_YET.into(),
                },
            })
            .collect();
        // A check whose instance stopped half-way is not "under way" forever.
        let abandoned_before = now_ms() - millis(self.abandoned_after());
        Ok(ConnectionReport {
            checked_at: (stored.checked_at > 0).then_some(stored.checked_at),
            statuses,
            checking: stored.started_at > stored.checked_at && stored.started_at > abandoned_before,
        })
    }

    /// Checks the connections now, for someone who asked: once per
    /// [`on_demand_per_user`](ConnectionChecks::on_demand_per_user) per user (on every
    /// instance), and a check begun by anyone in the last few seconds is joined, not repeated.
    pub async fn check_connections(&self, actor: &User) -> Result<ConnectionReport, EngineError> {
        let per_user = self.inner.config.connections.on_demand_per_user;
        let now = now_ms();
        let asked = self.inner.store.request_connection_check(&actor.username, now, now - millis(per_user)).await?;
        if let Some(last) = asked {
            let retry_after = Duration::from_millis((last + millis(per_user) - now).max(0) as u64);
            return Err(EngineError::CheckedRecently { every: per_user, retry_after });
        }
        if self.claim_connection_check(now, JOIN_A_CHECK_STARTED_WITHIN).await? {
            // A task of its own: a client that goes away must not leave the claim unrecorded.
            let engine = self.clone();
            let check = tokio::spawn(async move { engine.run_connection_check(now).await });
            check.await.map_err(|e| EngineError::Storage(format!("the connection check stopped: {e}")))??;
        } else {
            self.await_connection_check().await?;
        }
        self.connection_status(actor).await
    }

    /// Checks the connections every [`every`](ConnectionChecks::every), on whichever instance
    /// claims the check first, until [`shutdown`](Self::shutdown). The first check is at once.
    pub fn start_connection_monitor(&self) -> JoinHandle<()> {
        let engine = self.clone();
        let mut stop = self.inner.shutdown.subscribe();
        tokio::spawn(async move {
            let every = engine.inner.config.connections.every;
            // At start, an earlier run's result says nothing about this run's settings.
            let mut window = JOIN_A_CHECK_STARTED_WITHIN;
            loop {
                let now = now_ms();
                match engine.claim_connection_check(now, window).await {
                    Ok(true) => {
                        if let Err(error) = engine.run_connection_check(now).await {
                            tracing::warn!(%error, "recording the connection check failed");
                        }
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, "claiming the connection check failed"),
                }
                window = every;
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
            }
        })
    }

    /// Claims the next check unless one began within `window` or is still running.
    async fn claim_connection_check(&self, now: i64, window: Duration) -> Result<bool, EngineError> {
        let abandoned_before = now - millis(self.abandoned_after());
        Ok(self.inner.store.claim_connection_check(now, now - millis(window), abandoned_before).await?)
    }

    /// How long after its start a check that recorded nothing counts as abandoned (its
    /// instance stopped half-way): every platform has answered or been given up on by then.
    fn abandoned_after(&self) -> Duration {
        self.inner.config.connections.patience * 2
    }

    async fn run_connection_check(&self, started_at: i64) -> Result<(), EngineError> {
        let statuses = self.inner.platforms.check(self.inner.config.connections.patience).await;
        let json = serde_json::to_string(&statuses).map_err(|e| EngineError::Storage(e.to_string()))?;
        self.inner.store.record_connections(&json, started_at).await?;
        Ok(())
    }

    /// Waits for a check under way (another request's or instance's) to record its result.
    async fn await_connection_check(&self) -> Result<(), EngineError> {
        let give_up = tokio::time::Instant::now() + self.abandoned_after();
        loop {
            let stored = self.inner.store.connections().await?;
            if stored.checked_at >= stored.started_at || tokio::time::Instant::now() >= give_up {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn millis(duration: Duration) -> i64 {
    duration.as_millis() as i64
}
