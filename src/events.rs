//! The provisioning log: durable rows in the store plus an in-process wake-up signal, so
//! live viewers see a new line at once. Viewers also re-read on a timer, which picks up
//! lines written by another process sharing the database.

use tokio::sync::watch;

use crate::store::{EventRecord, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

#[derive(Clone)]
pub struct EventLog {
    store: Store,
    latest: watch::Sender<i64>,
}

impl EventLog {
    pub fn new(store: Store) -> Self {
        EventLog { store, latest: watch::Sender::new(0) }
    }

    /// Writes one log line. `message` must never contain a secret value: callers pass
    /// fixed wording plus names and ids only.
    pub async fn emit(&self, venture_id: &str, job_id: Option<&str>, step: &str, level: Level, message: &str) {
        tracing::info!(venture_id, step, level = level.as_str(), message, "provisioning event");
        match self.store.append_event(venture_id, job_id, step, level.as_str(), message).await {
            Ok(id) => {
                self.latest.send_replace(id);
            }
            // The log is best effort; a failed write must not fail the provisioning step.
            Err(err) => tracing::warn!(venture_id, step, error = %err, "could not record event"),
        }
    }

    /// Notifications of newly written event ids (in this process).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.latest.subscribe()
    }

    pub async fn after(&self, venture_id: &str, after_id: i64, limit: i64) -> Result<Vec<EventRecord>, sqlx::Error> {
        self.store.events_after(venture_id, after_id, limit).await
    }
}
