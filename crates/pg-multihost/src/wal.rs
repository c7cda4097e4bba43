//! Replay lag measured against the master: how long ago the master had written WAL that a
//! replica has still not replayed.
//!
//! A replica's own view (`pg_last_wal_receive_lsn()` vs `pg_last_wal_replay_lsn()`) sees
//! only what it received: a replica cut off from the master receives nothing, so by its own
//! account it is never behind and would keep serving ever staler reads. The master's checker
//! therefore records when the master's WAL position (`pg_current_wal_lsn()`) first reached
//! each value it saw, and a replica's lag is the age of the oldest such position beyond
//! what the replica has replayed. With no recent master check (no master, or it stopped
//! answering) there is nothing to compare with, and the replica's own view is used.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Positions kept at most (a period of 1 ms over the horizon would otherwise grow it).
const MAX_SAMPLES: usize = 4096;

/// The master's WAL positions as its checks saw them.
#[derive(Debug, Default)]
pub(crate) struct MasterWal {
    /// Index of the host the samples come from; another master starts a new history.
    master: Option<usize>,
    /// (first seen, position), both increasing.
    samples: VecDeque<(Instant, u64)>,
    /// The master's last check, whether or not the position moved.
    last_check: Option<Instant>,
}

impl MasterWal {
    /// Records the master's position at a check; positions older than `keep` are dropped
    /// (a replica behind all of them is at least `keep` behind). True when `master` is
    /// another host than the last one recorded.
    pub(crate) fn record(
        &mut self,
        master: usize,
        at: Instant,
        position: u64,
        keep: Duration,
    ) -> bool {
        let new_master = self.master != Some(master);
        if new_master {
            *self = Self {
                master: Some(master),
                ..Self::default()
            };
        }
        self.last_check = Some(at);
        if self.samples.back().is_none_or(|&(_, last)| position > last) {
            self.samples.push_back((at, position));
        }
        while self.samples.len() > MAX_SAMPLES
            || (self.samples.len() > 1
                && self
                    .samples
                    .front()
                    .is_some_and(|&(t, _)| at.duration_since(t) > keep))
        {
            self.samples.pop_front();
        }
        new_master
    }

    /// The host whose positions these are.
    pub(crate) fn master(&self) -> Option<usize> {
        self.master
    }

    /// The lag at `at` of a replica that has replayed up to `replayed`: zero when it has
    /// everything the master had at its last check, otherwise how long ago the master first
    /// had more. `None` when the last master check is older than `fresh` (or there was none).
    pub(crate) fn replica_lag(
        &self,
        at: Instant,
        replayed: u64,
        fresh: Duration,
    ) -> Option<Duration> {
        let last_check = self.last_check?;
        if at.saturating_duration_since(last_check) > fresh {
            return None;
        }
        Some(
            self.samples
                .iter()
                .find(|&&(_, position)| position > replayed)
                .map_or(Duration::ZERO, |&(t, _)| at.saturating_duration_since(t)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Duration = Duration::from_secs(60);
    const FRESH: Duration = Duration::from_secs(3);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_replica_with_everything_the_master_had_is_not_behind() {
        let t0 = Instant::now();
        let mut wal = MasterWal::default();
        wal.record(0, t0, 100, KEEP);
        wal.record(0, t0 + secs(1), 200, KEEP);
        assert_eq!(
            wal.replica_lag(t0 + secs(1), 200, FRESH),
            Some(Duration::ZERO)
        );
        assert_eq!(
            wal.replica_lag(t0 + secs(1), 250, FRESH),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn lag_is_the_age_of_the_oldest_position_not_replayed() {
        let t0 = Instant::now();
        let mut wal = MasterWal::default();
        for (i, position) in [100, 200, 300].into_iter().enumerate() {
            wal.record(0, t0 + secs(i as u64), position, KEEP);
        }
        // An idle master: the position stays, the lag of a cut-off replica keeps growing.
        wal.record(0, t0 + secs(10), 300, KEEP);
        assert_eq!(wal.replica_lag(t0 + secs(10), 150, FRESH), Some(secs(9)));
        assert_eq!(wal.replica_lag(t0 + secs(10), 50, FRESH), Some(secs(10)));
        assert_eq!(wal.replica_lag(t0 + secs(10), 299, FRESH), Some(secs(8)));
    }

    #[test]
    fn without_a_recent_master_check_there_is_no_figure() {
        let t0 = Instant::now();
        let mut wal = MasterWal::default();
        assert_eq!(wal.replica_lag(t0, 0, FRESH), None);
        wal.record(0, t0, 100, KEEP);
        assert_eq!(wal.replica_lag(t0 + secs(4), 0, FRESH), None);
    }

    #[test]
    fn old_positions_are_dropped_and_a_new_master_starts_over() {
        let t0 = Instant::now();
        let mut wal = MasterWal::default();
        for i in 0..100 {
            assert_eq!(wal.record(0, t0 + secs(i), 1000 + i, KEEP), i == 0);
        }
        // Kept: the positions of the last 60 s; a replica behind them all is as far behind
        // as the oldest.
        assert_eq!(wal.replica_lag(t0 + secs(99), 0, FRESH), Some(secs(60)));
        assert!(wal.record(1, t0 + secs(100), 5000, KEEP), "a new master");
        assert_eq!(
            wal.replica_lag(t0 + secs(100), 4000, FRESH),
            Some(Duration::ZERO)
        );
        assert_eq!(wal.replica_lag(t0 + secs(101), 1099, FRESH), Some(secs(1)));
    }
}
