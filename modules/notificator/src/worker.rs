//! The background worker: one loop per server instance, from liftoff to shutdown.
//!
//! Each round it (1) expands due schedule rows into delivery rows, (2) leases as many due
//! pending deliveries as it has free sending slots and starts sending them, each in its own
//! task under a deadline, and (3) sleeps until the next fire time or retry, or
//! `poll_interval`, whichever is sooner (not at all while there is a backlog). Outcomes go to
//! a recorder task that writes them in batches, and wakes the worker when it recorded a retry
//! (its time was unknown when the worker went to sleep); a sending slot is freed only once
//! its outcome is recorded, so at most `max_in_flight` messages are ever sent-but-unrecorded
//! — the most a kill can cause to be sent again.

use std::sync::Arc;
use std::time::Duration;

use calendula_core::models::Channel;
use calendula_db::Db;
use chrono::Utc;
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::config::NotificatorConfig;
use crate::metrics::Metrics;
use crate::sender::{SendError, Senders};
use crate::store::{self, Claimed, Outcome, FAILED, PENDING, SENT};

const LOG: &str = "calendula::notificator";

/// How long a claim holds a delivery beyond the send deadline before another instance may
/// take it (the time to record the outcome).
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Pause while every sending slot is busy.
const SATURATED_PAUSE: Duration = Duration::from_millis(10);
/// Pause when work is due but another instance holds it.
const CONTENDED_PAUSE: Duration = Duration::from_millis(20);
/// Longest wait between two retries of the same message.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The configuration as the worker uses it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub poll_interval: Duration,
    pub batch_size: u32,
    pub max_attempts: u32,
    pub max_lateness: Duration,
    pub send_timeout: Duration,
    pub retry_backoff: Duration,
    pub max_in_flight: u32,
    /// How long a leased delivery is this instance's to send.
    pub lease: Duration,
}

impl Settings {
    pub fn new(config: &NotificatorConfig) -> Self {
        let send_timeout = config.send_timeout.get();
        Self {
            poll_interval: config.poll_interval.get(),
            batch_size: config.batch_size,
            max_attempts: config.max_attempts,
            max_lateness: config.max_lateness.get(),
            send_timeout,
            retry_backoff: config.retry_backoff.get(),
            max_in_flight: config.max_in_flight,
            lease: send_timeout + LEASE_MARGIN,
        }
    }

    /// Wait after failed attempt number `attempts` (1-based): backoff, 2×, 4×, ...
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.retry_backoff
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF)
    }
}

pub struct Worker {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub senders: Arc<Senders>,
    pub metrics: Arc<Metrics>,
}

/// An attempt's outcome with the sending slot it holds until recorded.
struct Done {
    outcome: Outcome,
    _slot: OwnedSemaphorePermit,
}

impl Worker {
    /// Runs until `stop` turns true, then lets the messages in flight finish (each has its
    /// deadline), records them and returns.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let retry_recorded = Arc::new(Notify::new());
        let recorder = tokio::spawn(record_loop(
            self.db.clone(),
            done_rx,
            self.metrics.clone(),
            retry_recorded.clone(),
            stop.clone(),
        ));
        let slots = Arc::new(Semaphore::new(self.settings.max_in_flight as usize));
        let mut tasks = JoinSet::new();
        let mut failures = 0u32;
        loop {
            if *stop.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            let pause = match self.round(&slots, &done_tx, &mut tasks).await {
                Ok(pause) => {
                    if failures > 0 {
                        log::info!(target: LOG, "notificator resumed");
                    }
                    failures = 0;
                    pause
                }
                Err(e) => {
                    // Database down: say so once, then every minute or so.
                    if failures.is_multiple_of(60) {
                        log::warn!(target: LOG, "notificator cannot reach its tables: {e}");
                    }
                    failures += 1;
                    self.settings.poll_interval
                }
            };
            if pause.is_zero() {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = retry_recorded.notified() => {}
                _ = stop.changed() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        drop(done_tx);
        let _ = recorder.await;
    }

    /// One round; returns how long to sleep before the next.
    async fn round(
        &self,
        slots: &Arc<Semaphore>,
        done_tx: &mpsc::UnboundedSender<Done>,
        tasks: &mut JoinSet<()>,
    ) -> Result<Duration, String> {
        let s = &*self.settings;
        let began = std::time::Instant::now();
        let mut conn = self.db.write().await.map_err(|e| e.to_string())?;
        // Due occurrences become delivery rows; as many as there are free slots are leased
        // to this instance in the same transaction and sent at once.
        let expanded = store::expand_due(
            &mut conn,
            &store::ExpandParams {
                limit: s.batch_size,
                max_lateness: s.max_lateness,
                senders: &self.senders,
                lease_slots: slots.available_permits(),
                lease: s.lease,
                lease_token: rand::random(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        for row in &expanded.deliveries {
            if let Some(channel) = Channel::parse(&row.channel) {
                self.metrics.count(channel, &row.status, 1);
            }
        }
        let mut busy = expanded.rules >= s.batch_size as usize;
        let leased = expanded.to_send.len();
        self.dispatch(expanded.to_send, slots, done_tx, tasks);

        // Then retries, rows left unleased above, and rows whose lease ran out.
        let free = slots.available_permits().min(s.batch_size as usize);
        let mut claimed = 0;
        if free > 0 {
            let batch = store::claim_pending(
                &mut conn,
                free as u32,
                s.lease,
                s.max_lateness,
                rand::random(),
            )
            .await
            .map_err(|e| e.to_string())?;
            for (channel, status) in &batch.settled {
                self.metrics.count(*channel, status, 1);
            }
            busy |= batch.found >= free;
            claimed = batch.found;
            self.dispatch(batch.to_send, slots, done_tx, tasks);
        }
        if expanded.rules > 0 || claimed > 0 {
            log::debug!(
                target: LOG,
                "round: {} due occurrences -> {} deliveries ({leased} sent at once), {claimed} claimed, in {:?}",
                expanded.rules,
                expanded.deliveries.len(),
                began.elapsed()
            );
        }
        if busy || free == 0 {
            // More is due than this round took: the oldest claimed is the backlog.
            if let Some(wait) = expanded.oldest_wait {
                self.metrics.backlog(wait.as_secs_f64());
            }
            return Ok(if busy {
                Duration::ZERO
            } else {
                SATURATED_PAUSE
            });
        }

        let next = store::next_due_at(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        drop(conn);
        let now = Utc::now();
        Ok(match next {
            Some(at) if at <= now => {
                self.metrics.backlog(store::waited(now, at).as_secs_f64());
                CONTENDED_PAUSE.min(s.poll_interval)
            }
            Some(at) => {
                self.metrics.backlog(0.0);
                // Wake just after the fire time: never early.
                let until = (at - now).to_std().unwrap_or_default() + Duration::from_millis(1);
                until.min(s.poll_interval)
            }
            None => {
                self.metrics.backlog(0.0);
                s.poll_interval
            }
        })
    }

    /// Starts sending leased deliveries, one task each, each holding a slot until its
    /// outcome is recorded.
    fn dispatch(
        &self,
        claimed: Vec<Claimed>,
        slots: &Arc<Semaphore>,
        done_tx: &mpsc::UnboundedSender<Done>,
        tasks: &mut JoinSet<()>,
    ) {
        for claimed in claimed {
            // Only this loop takes slots, and it leased no more rows than were free; a row
            // without a slot would simply be retried when its lease ends.
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                log::warn!(target: LOG, "no free slot for delivery {}", claimed.id);
                continue;
            };
            tasks.spawn(send_one(
                claimed,
                slot,
                self.senders.clone(),
                self.settings.clone(),
                done_tx.clone(),
            ));
        }
    }
}

async fn send_one(
    claimed: Claimed,
    slot: OwnedSemaphorePermit,
    senders: Arc<Senders>,
    settings: Arc<Settings>,
    done_tx: mpsc::UnboundedSender<Done>,
) {
    let message = &claimed.message;
    let sender = senders.get(message.channel);
    let deadline = settings.send_timeout;
    let result = match tokio::time::timeout(deadline, sender.send(&claimed.key, message)).await {
        Ok(result) => result,
        Err(_) => Err(SendError::timeout(deadline)),
    };
    let done_at = Utc::now();
    let (status, error, retry_in) = match result {
        Ok(()) => (SENT, None, Duration::ZERO),
        Err(e) => {
            let last = e.permanent || claimed.attempts >= settings.max_attempts as i32;
            log::warn!(
                target: LOG,
                "notification to {} via {} ({}) about event {} failed, attempt {}{}: {}",
                message.login,
                message.channel.as_str(),
                sender.name(),
                message.event_id,
                claimed.attempts,
                if last { ", giving up" } else { ", will retry" },
                e.message
            );
            if last {
                (FAILED, Some(e.message), Duration::ZERO)
            } else {
                (PENDING, Some(e.message), settings.backoff(claimed.attempts))
            }
        }
    };
    let _ = done_tx.send(Done {
        outcome: Outcome {
            id: claimed.id,
            lease_token: claimed.lease_token,
            status,
            error,
            retry_in,
            done_at,
        },
        _slot: slot,
    });
}

/// Writes outcomes as they come, in batches, and wakes the worker when a batch held a retry
/// (otherwise a retry due before the next poll would wait for it). While the database is
/// unreachable it keeps trying (holding the slots, so the worker claims nothing new); once
/// stopping, it gives up after a few tries — those messages are then sent again when their
/// lease ends.
async fn record_loop(
    db: Db,
    mut done_rx: mpsc::UnboundedReceiver<Done>,
    metrics: Arc<Metrics>,
    retry_recorded: Arc<Notify>,
    stop: watch::Receiver<bool>,
) {
    let mut buffer = Vec::new();
    while done_rx.recv_many(&mut buffer, 1000).await > 0 {
        let outcomes: Vec<Outcome> = buffer.iter().map(|d| d.outcome.clone()).collect();
        let mut tries = 0u32;
        let began = std::time::Instant::now();
        loop {
            let recorded = async {
                let mut conn = db.write().await.map_err(|e| e.to_string())?;
                store::record(&mut conn, &outcomes)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            match recorded {
                Ok(rows) => {
                    log::debug!(target: LOG, "recorded {} outcomes in {:?}", rows.len(), began.elapsed());
                    if rows.iter().any(|row| row.status == PENDING) {
                        retry_recorded.notify_one();
                    }
                    for row in rows {
                        if let Some(channel) = Channel::parse(&row.channel) {
                            metrics.count(channel, &row.status, 1);
                        }
                        if let Some(lag) = row.lag {
                            metrics.lag(lag);
                        }
                    }
                    break;
                }
                Err(e) => {
                    tries += 1;
                    if *stop.borrow() && tries >= 3 {
                        log::error!(
                            target: LOG,
                            "cannot record {} notification outcomes ({e}); they will be retried when their lease ends",
                            outcomes.len()
                        );
                        break;
                    }
                    if tries == 1 || tries.is_multiple_of(30) {
                        log::warn!(target: LOG, "cannot record notification outcomes yet: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        // Frees the sending slots.
        buffer.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let config: NotificatorConfig =
            serde_json::from_value(serde_json::json!({"retry_backoff": "200ms"})).unwrap();
        let settings = Settings::new(&config);
        let waits: Vec<u128> = (1..=4).map(|a| settings.backoff(a).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600]);
        assert_eq!(settings.backoff(40), MAX_BACKOFF);
        assert_eq!(
            settings.lease,
            Duration::from_secs(15),
            "10s deadline + margin"
        );
    }
}
