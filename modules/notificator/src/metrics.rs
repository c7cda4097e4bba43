//! The notificator's numbers in `/metrics`: outcomes per channel and the delivery lag, as
//! seen by this server instance.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use calendula_core::metrics::MetricsSource;
use calendula_core::models::Channel;

use crate::store::{FAILED, MISSED, SENT, SKIPPED};

const STATUSES: [&str; 4] = [SENT, FAILED, SKIPPED, MISSED];

#[derive(Default)]
pub struct Metrics {
    /// [channel][status] in `Channel::ALL` × `STATUSES` order.
    counts: [[AtomicU64; 4]; 4],
    lag_sum_micros: AtomicU64,
    lag_count: AtomicU64,
    /// Lag of the most recent message handed over.
    last_lag_micros: AtomicU64,
    /// How long the oldest due but unhandled work has been waiting (0 when none).
    backlog_micros: AtomicU64,
}

fn channel_index(channel: Channel) -> usize {
    Channel::ALL.iter().position(|c| *c == channel).unwrap_or(0)
}

impl Metrics {
    /// Counts one outcome; unknown statuses (`pending`) are not counted.
    pub fn count(&self, channel: Channel, status: &str, n: u64) {
        if let Some(s) = STATUSES.iter().position(|x| *x == status) {
            self.counts[channel_index(channel)][s].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A message was handed over `lag_seconds` after its fire time.
    pub fn lag(&self, lag_seconds: f64) {
        let micros = (lag_seconds.max(0.0) * 1e6) as u64;
        self.lag_sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.lag_count.fetch_add(1, Ordering::Relaxed);
        self.last_lag_micros.store(micros, Ordering::Relaxed);
    }

    pub fn backlog(&self, seconds: f64) {
        self.backlog_micros
            .store((seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn get(&self, channel: Channel, status: &str) -> u64 {
        STATUSES.iter().position(|x| *x == status).map_or(0, |s| {
            self.counts[channel_index(channel)][s].load(Ordering::Relaxed)
        })
    }
}

fn seconds(micros: &AtomicU64) -> f64 {
    micros.load(Ordering::Relaxed) as f64 / 1e6
}

impl MetricsSource for Metrics {
    fn render(&self) -> String {
        let mut out = String::from(
            "# HELP calendula_notificator_deliveries_total Reminder messages by channel and final status.\n\
             # TYPE calendula_notificator_deliveries_total counter\n",
        );
        for channel in Channel::ALL {
            for status in STATUSES {
                let _ = writeln!(
                    out,
                    "calendula_notificator_deliveries_total{{channel=\"{}\",status=\"{status}\"}} {}",
                    channel.as_str(),
                    self.get(channel, status)
                );
            }
        }
        let _ = write!(
            out,
            "# HELP calendula_notificator_delivery_lag_seconds Time from a reminder's fire time to its hand-over.\n\
             # TYPE calendula_notificator_delivery_lag_seconds summary\n\
             calendula_notificator_delivery_lag_seconds_sum {}\n\
             calendula_notificator_delivery_lag_seconds_count {}\n\
             # HELP calendula_notificator_last_delivery_lag_seconds Delivery lag of the most recent message sent.\n\
             # TYPE calendula_notificator_last_delivery_lag_seconds gauge\n\
             calendula_notificator_last_delivery_lag_seconds {}\n\
             # HELP calendula_notificator_backlog_seconds How long the oldest due, unhandled reminder has waited (0: none).\n\
             # TYPE calendula_notificator_backlog_seconds gauge\n\
             calendula_notificator_backlog_seconds {}\n",
            seconds(&self.lag_sum_micros),
            self.lag_count.load(Ordering::Relaxed),
            seconds(&self.last_lag_micros),
            seconds(&self.backlog_micros),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_per_channel_and_the_lag() {
        let metrics = Metrics::default();
        metrics.count(Channel::Slack, SENT, 2);
        metrics.count(Channel::Email, SKIPPED, 1);
        metrics.count(Channel::Email, "pending", 5);
        metrics.lag(0.25);
        let text = metrics.render();
        assert!(text.contains(
            "calendula_notificator_deliveries_total{channel=\"slack\",status=\"sent\"} 2\n"
        ));
        assert!(text.contains(
            "calendula_notificator_deliveries_total{channel=\"email\",status=\"skipped\"} 1\n"
        ));
        assert!(text.contains(
            "calendula_notificator_deliveries_total{channel=\"sms\",status=\"missed\"} 0\n"
        ));
        assert!(text.contains("calendula_notificator_last_delivery_lag_seconds 0.25\n"));
        assert!(text.contains("calendula_notificator_delivery_lag_seconds_count 1\n"));
    }
}
