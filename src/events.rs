//! The provisioning log: durable rows in the store plus a wake-up signal, so live viewers see
//! a new line at once. On PostgreSQL the signal also carries lines written by other instances
//! (LISTEN/NOTIFY); viewers re-read on a timer as well, in case a notification is missed
//! while the listener reconnects.

use std::sync::Arc;

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
    /// Stops the PostgreSQL listener when the last clone of the log is dropped.
    _listener: Option<Arc<AbortOnDrop>>,
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl EventLog {
    /// Must be called inside a Tokio runtime: on PostgreSQL it starts the listener task.
    pub fn new(store: Store) -> Self {
        let latest = watch::Sender::new(0);
        let listener = store.postgres_url().map(|url| {
            let task = tokio::spawn(listen_for_other_instances(url.to_string(), latest.clone()));
            Arc::new(AbortOnDrop(task.abort_handle()))
        });
        EventLog { store, latest, _listener: listener }
    }

    /// Writes one log line. `message` must never contain a secret value: callers pass
    /// fixed wording plus names and ids only.
    pub async fn emit(&self, venture_id: &str, job_id: Option<&str>, step: &str, level: Level, message: &str) {
        let message = crate::redact::scrub(message);
        let message = message.as_str();
        tracing::info!(venture_id, step, level = level.as_str(), message, "provisioning event");
        match self.store.append_event(venture_id, job_id, step, level.as_str(), message).await {
            Ok(id) => {
                self.latest.send_replace(id);
            }
            // The log is best effort; a failed write must not fail the provisioning step.
            Err(err) => tracing::warn!(venture_id, step, error = %err, "could not record event"),
        }
    }

    /// Wakes on newly written event ids (from every instance on PostgreSQL).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.latest.subscribe()
    }

    pub async fn after(&self, venture_id: &str, after_id: i64, limit: i64) -> Result<Vec<EventRecord>, sqlx::Error> {
        self.store.events_after(venture_id, after_id, limit).await
    }
}

/// Forwards every instance's new event ids to this instance's viewers.
async fn listen_for_other_instances(url: String, latest: watch::Sender<i64>) {
    use sqlx::postgres::PgListener;
    loop {
        let listener = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(crate::store::EVENTS_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(mut listener) => loop {
                // `try_recv` reconnects by itself and yields None once when the connection was lost.
                match listener.try_recv().await {
                    Ok(Some(note)) => {
                        if let Ok(id) = note.payload().parse::<i64>() {
                            latest.send_modify(|last| *last = (*last).max(id));
                        }
                    }
                    Ok(None) => tracing::warn!("event listener reconnected to PostgreSQL"),
                    Err(err) => {
                        tracing::warn!(error = %err, "event listener lost PostgreSQL; retrying");
                        break;
                    }
                }
            },
            Err(err) => tracing::warn!(error = %err, "event listener could not reach PostgreSQL; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
