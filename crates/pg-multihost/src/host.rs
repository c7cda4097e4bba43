//! One host: its role as last detected, its bb8 pool (present only while the host is up),
//! its counters, and the connection manager that feeds the pool.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolableConnection;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::sync::{watch, Notify};

use crate::config::{ConnectOptions, HostAddr, PoolConfig};
use crate::pool::Shared;

/// What a host is, as seen by its last health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Accepts writes: not in recovery and not read-only.
    Master,
    /// Read-only: a standby (`pg_is_in_recovery()`), or a server whose sessions are
    /// read-only (`default_transaction_read_only`).
    Replica,
    /// Unreachable, or its last check failed or timed out. Also the state before the first
    /// check.
    Down,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Replica => "replica",
            Role::Down => "down",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const REAPER_RATE: Duration = Duration::from_secs(1);

pub(crate) type BbPool = bb8::Pool<Manager>;

/// Role and pool change together, under one lock: a pool only ever serves the role it was
/// created for, and a role change replaces it (the old pool's idle connections close at
/// once, its checked-out ones when they are returned).
pub(crate) struct Slot {
    pub(crate) role: Role,
    /// Replica lagging more than `max_replica_lag`.
    pub(crate) lagging: bool,
    pub(crate) pool: Option<BbPool>,
    /// The failovers so far (`Shared::failovers`) after which this host, as a replica, has
    /// shown that it follows the new master: it replayed WAL beyond all it had received
    /// when its first check after the failover looked. WAL positions carry no timeline, so
    /// a replica left on the old primary's timeline can stand at or past the new master's
    /// position and look up to date while it holds writes the new master never had; one
    /// that follows the new master moves on as soon as the master writes.
    pub(crate) follows: u64,
    /// Where this replica's first check after the last failover found it.
    pub(crate) follow_mark: Option<FollowMark>,
}

/// A replica's WAL at its first check after a failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FollowMark {
    /// The failover count it was taken at.
    pub(crate) failovers: u64,
    /// Replayed then.
    pub(crate) replayed: u64,
    /// Received then (at least `replayed`): WAL of the old primary may still be waiting to
    /// be replayed, and replaying it shows nothing.
    pub(crate) received: u64,
}

impl Slot {
    /// Records a replica's WAL as a check found it, `replayed` and `received` (`None`: no
    /// WAL receiver), after `failovers` failovers; true when this shows for the first time
    /// that it follows the current master.
    pub(crate) fn note_replayed(
        &mut self,
        failovers: u64,
        replayed: u64,
        received: Option<u64>,
    ) -> bool {
        if self.follows == failovers {
            return false;
        }
        let mark = FollowMark {
            failovers,
            replayed,
            received: received.map_or(replayed, |r| r.max(replayed)),
        };
        match self.follow_mark {
            // Moved back: rewound or rebuilt (as it must be to leave the old timeline);
            // measured again from here.
            Some(old) if old.failovers == failovers && replayed < old.replayed => {
                self.follow_mark = Some(mark);
            }
            Some(old) if old.failovers == failovers => {
                if replayed > old.received {
                    self.follows = failovers;
                    self.follow_mark = None;
                    return true;
                }
            }
            _ => self.follow_mark = Some(mark),
        }
        false
    }
}

/// Counters and the check-latency window, behind a mutex touched by the checker (once per
/// check) and by snapshots, never by acquires.
#[derive(Default)]
pub(crate) struct CheckStats {
    pub(crate) latencies: VecDeque<Duration>,
    pub(crate) checks_ok: u64,
    pub(crate) checks_failed: u64,
    pub(crate) role_changes: u64,
    pub(crate) lag: Option<Duration>,
    pub(crate) last_error: Option<String>,
}

impl CheckStats {
    pub(crate) fn checks(&self) -> u64 {
        self.checks_ok + self.checks_failed
    }

    pub(crate) fn add_latency(&mut self, sample: Duration, window: usize) {
        if self.latencies.len() >= window {
            self.latencies.pop_front();
        }
        self.latencies.push_back(sample);
    }

    /// The median of the window (the upper middle for an even count); `None` before the
    /// first successful check.
    pub(crate) fn median_latency(&self) -> Option<Duration> {
        let mut sorted: Vec<Duration> = self.latencies.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }
}

pub(crate) struct Host {
    pub(crate) index: usize,
    pub(crate) addr: HostAddr,
    pub(crate) slot: RwLock<Slot>,
    /// Connections handed out by the multi-host layer and not yet returned.
    pub(crate) in_use: AtomicU32,
    pub(crate) max_size: u32,
    /// Wakes the checker for an immediate re-check.
    pub(crate) recheck: Notify,
    pub(crate) stats: Mutex<CheckStats>,
    pub(crate) acquires: AtomicU64,
    /// WAL a replica is known to have replayed, in bytes (its last check, or a read that
    /// looked since); 0 while it is no replica.
    pub(crate) replayed: AtomicU64,
    pub(crate) acquire_wait_nanos: AtomicU64,
    /// Bumped when the host goes down: every connection it opened closes, the checked-out
    /// ones included (see [`ConnectOptions::connect_closable`]).
    close_connections: watch::Sender<u64>,
}

impl Host {
    pub(crate) fn new(index: usize, addr: HostAddr, max_size: u32) -> Self {
        Self {
            index,
            addr,
            slot: RwLock::new(Slot {
                role: Role::Down,
                lagging: false,
                pool: None,
                follows: 0,
                follow_mark: None,
            }),
            in_use: AtomicU32::new(0),
            max_size,
            recheck: Notify::new(),
            stats: Mutex::new(CheckStats::default()),
            acquires: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            acquire_wait_nanos: AtomicU64::new(0),
            close_connections: watch::Sender::new(0),
        }
    }

    /// Closes every connection opened to this host so far, also those handed out: their
    /// statements in flight fail now rather than wait for a server that stopped answering.
    pub(crate) fn close_connections(&self) {
        self.close_connections
            .send_modify(|generation| *generation += 1);
    }

    pub(crate) fn read_slot(&self) -> std::sync::RwLockReadGuard<'_, Slot> {
        self.slot.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write_slot(&self) -> std::sync::RwLockWriteGuard<'_, Slot> {
        self.slot.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn lock_stats(&self) -> std::sync::MutexGuard<'_, CheckStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// "Free" for the greedy policy: connections this host can still hand out without
    /// waiting for one to come back, `max_size - in use` (idle ones plus room to open more).
    pub(crate) fn free(&self) -> u32 {
        self.max_size
            .saturating_sub(self.in_use.load(Ordering::Relaxed))
    }

    /// Has replayed the master's WAL up to `position` (0: no requirement).
    pub(crate) fn has_replayed(&self, position: u64) -> bool {
        position == 0 || self.replayed.load(Ordering::Acquire) >= position
    }

    /// A replica (in `slot`) that takes reads: not lagging more than `max_replica_lag`,
    /// following the current master (after a failover), and past `shared`'s replay
    /// floor, the position reads need.
    pub(crate) fn takes_reads(&self, slot: &Slot, shared: &Shared) -> bool {
        slot.role == Role::Replica
            && !slot.lagging
            && slot.follows == shared.failovers()
            && self.has_replayed(shared.replay_floor())
    }

    pub(crate) fn record_acquire(&self, waited: Duration) {
        self.acquires.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.acquire_wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// A fresh bb8 pool for this host (created when the host comes up or changes role).
    pub(crate) fn build_pool(
        self: &Arc<Self>,
        config: &PoolConfig,
        connect: Arc<ConnectOptions>,
    ) -> BbPool {
        let manager = Manager {
            host: Arc::downgrade(self),
            addr: self.addr.clone(),
            connect,
            close: self.close_connections.subscribe(),
        };
        bb8::Pool::builder()
            .max_size(config.max_size)
            .min_idle(Some(config.min_size))
            .max_lifetime(Some(config.max_lifetime))
            // The reaper enforces max_lifetime, and ends within one tick of the pool.
            .reaper_rate(REAPER_RATE)
            // Upper bound only: every acquire also runs under its own deadline.
            .connection_timeout(config.timeout)
            // Cheap (no query): see `Manager::is_valid`.
            .test_on_check_out(true)
            .error_sink(Box::new(RecheckOnError {
                host: Arc::downgrade(self),
            }))
            .build_unchecked(manager)
    }
}

/// Opens a host's connections and vets them, without any I/O on check-out.
pub(crate) struct Manager {
    host: std::sync::Weak<Host>,
    addr: HostAddr,
    connect: Arc<ConnectOptions>,
    close: watch::Receiver<u64>,
}

/// Why bb8 could not open or keep a connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ManagerError {
    #[error("{0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("the connection is closed or left in a broken transaction")]
    Broken,
}

impl bb8::ManageConnection for Manager {
    type Connection = AsyncPgConnection;
    type Error = ManagerError;

    async fn connect(&self) -> Result<AsyncPgConnection, ManagerError> {
        let mut conn = self
            .connect
            .connect_closable(&self.addr, self.close.clone())
            .await?;
        conn.set_instrumentation(RecheckOnReadOnly {
            host: self.host.clone(),
        });
        Ok(conn)
    }

    /// Checks the socket and the transaction state already known on the client side: a
    /// connection whose server went away (its driver task saw EOF) is never handed out.
    /// No round trip: the health checker is what watches the server.
    async fn is_valid(&self, conn: &mut AsyncPgConnection) -> Result<(), ManagerError> {
        if conn.is_broken() {
            Err(ManagerError::Broken)
        } else {
            Ok(())
        }
    }

    fn has_broken(&self, conn: &mut AsyncPgConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// bb8's error sink: a failed connection attempt makes the host's checker look right away
/// instead of at its next period.
#[derive(Debug, Clone)]
struct RecheckOnError {
    host: std::sync::Weak<Host>,
}

impl bb8::ErrorSink<ManagerError> for RecheckOnError {
    fn sink(&self, error: ManagerError) {
        if let Some(host) = self.host.upgrade() {
            log::debug!("{}: connection failed: {error}; re-checking", host.addr);
            host.recheck.notify_one();
        }
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<ManagerError>> {
        Box::new(self.clone())
    }
}

/// Installed on every pooled connection: a statement that fails because the server is
/// read-only (SQLSTATE 25006, a write reaching a demoted primary) or because the connection
/// broke makes the host's checker re-check at once, so its role is corrected and its pool
/// replaced before the next acquire rather than a `refresh_delay` later.
struct RecheckOnReadOnly {
    host: std::sync::Weak<Host>,
}

impl Instrumentation for RecheckOnReadOnly {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        let InstrumentationEvent::FinishQuery {
            error: Some(error), ..
        } = event
        else {
            return;
        };
        let read_only = matches!(
            error,
            DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _)
        );
        let lost = matches!(
            error,
            DieselError::DatabaseError(
                DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
                _
            )
        );
        if read_only || lost {
            if let Some(host) = self.host.upgrade() {
                log::info!(
                    "{}: {} ({error}); re-checking its role now",
                    host.addr,
                    if read_only {
                        "a write hit a read-only server"
                    } else {
                        "a connection broke"
                    }
                );
                host.recheck.notify_one();
            }
        }
    }
}

/// What a host looked like at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSnapshot {
    pub index: usize,
    pub addr: HostAddr,
    pub role: Role,
    /// A replica that takes no reads: lagging more than `max_replica_lag`, short of the
    /// WAL position [`crate::MultiHostPool::require_replayed`] asks for, or not yet seen
    /// following a new master after a failover.
    pub lagging: bool,
    /// Replay lag of a replica at its last check.
    pub lag: Option<Duration>,
    /// Open connections in the host's pool (idle + in use + being opened).
    pub size: u32,
    pub idle: u32,
    /// Handed out and not yet returned.
    pub in_use: u32,
    pub max_size: u32,
    /// Median latency of the last successful checks; `None` before the first.
    pub check_latency: Option<Duration>,
    pub checks_ok: u64,
    pub checks_failed: u64,
    pub role_changes: u64,
    /// Successful acquires served by this host, and the total time they waited.
    pub acquires: u64,
    pub acquire_wait: Duration,
    pub last_error: Option<String>,
}

impl Host {
    pub(crate) fn snapshot(&self, shared: &Shared) -> HostSnapshot {
        let (role, lagging, size, idle) = {
            let slot = self.read_slot();
            let (size, idle) = slot.pool.as_ref().map_or((0, 0), |p| {
                let state = p.state();
                (state.connections, state.idle_connections)
            });
            let lagging = slot.role == Role::Replica && !self.takes_reads(&slot, shared);
            (slot.role, lagging, size, idle)
        };
        let stats = self.lock_stats();
        HostSnapshot {
            index: self.index,
            addr: self.addr.clone(),
            role,
            lagging,
            lag: stats.lag,
            size,
            idle,
            in_use: self.in_use.load(Ordering::Relaxed),
            max_size: self.max_size,
            check_latency: stats.median_latency(),
            checks_ok: stats.checks_ok,
            checks_failed: stats.checks_failed,
            role_changes: stats.role_changes,
            acquires: self.acquires.load(Ordering::Relaxed),
            acquire_wait: Duration::from_nanos(self.acquire_wait_nanos.load(Ordering::Relaxed)),
            last_error: stats.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_failover_a_replica_follows_once_it_replays_past_what_it_had_received() {
        let mut slot = Slot {
            role: Role::Replica,
            lagging: false,
            pool: None,
            follows: 0,
            follow_mark: None,
        };
        assert!(
            !slot.note_replayed(0, 500, None),
            "no failover: nothing to show"
        );
        // First check after failover 1: 500 replayed, 800 received (old primary's WAL).
        assert!(!slot.note_replayed(1, 500, Some(800)));
        assert!(
            !slot.note_replayed(1, 800, Some(800)),
            "replaying what it had"
        );
        assert_eq!(slot.follows, 0);
        assert!(slot.note_replayed(1, 801, Some(900)), "beyond: follows");
        assert_eq!((slot.follows, slot.follow_mark), (1, None));
        assert!(!slot.note_replayed(1, 950, None), "said once");
        // A second failover: marked again; rebuilt lower, it is measured from there.
        assert!(!slot.note_replayed(2, 950, None));
        assert!(!slot.note_replayed(2, 300, Some(300)));
        assert!(!slot.note_replayed(2, 300, Some(300)));
        assert!(slot.note_replayed(2, 301, Some(301)));
        assert_eq!(slot.follows, 2);
    }

    #[test]
    fn median_over_a_bounded_window() {
        let mut stats = CheckStats::default();
        assert_eq!(stats.median_latency(), None);
        for ms in [5, 1, 3] {
            stats.add_latency(Duration::from_millis(ms), 4);
        }
        assert_eq!(stats.median_latency(), Some(Duration::from_millis(3)));
        for ms in [100, 100, 100] {
            stats.add_latency(Duration::from_millis(ms), 4);
        }
        // window of 4: [3, 100, 100, 100]
        assert_eq!(stats.latencies.len(), 4);
        assert_eq!(stats.median_latency(), Some(Duration::from_millis(100)));
    }
}
