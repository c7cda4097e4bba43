//! The multi-host pool: host selection (greedy), acquire under one deadline, close.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::dsl::sql;
use diesel::sql_types::{BigInt, Nullable};
use diesel_async::AsyncPgConnection;
use rand::Rng;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{ConnectOptions, HostAddr, PoolConfig};
use crate::host::{BbPool, Host, HostSnapshot, Manager, Role};
use crate::wal::MasterWal;

/// Longest a read waits for a replica to replay the writes recorded with
/// [`MultiHostPool::record_write`] before it takes the master instead.
const CATCH_UP_WAIT: Duration = Duration::from_millis(100);

/// Pause between two looks at a replica catching up.
const CATCH_UP_POLL: Duration = Duration::from_millis(5);

/// How one acquire chooses its host, and how long it may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcquireOptions {
    /// `false`: a master. `true`: a replica, or the master as described below.
    pub read_only: bool,
    /// Reads only: when no replica can serve (all down or lagging), use the master.
    pub fallback_master: bool,
    /// Reads only (`None` for writes): probability in [0, 1] that the master is also a
    /// candidate while replicas are up.
    pub master_as_replica_weight: Option<f64>,
    /// The whole budget: waiting for a suitable host *and* for a connection of its pool.
    pub timeout: Duration,
}

impl AcquireOptions {
    /// A master connection.
    pub fn write(timeout: Duration) -> Self {
        Self {
            read_only: false,
            fallback_master: false,
            master_as_replica_weight: None,
            timeout,
        }
    }

    /// A read-only connection.
    pub fn read(timeout: Duration, fallback_master: bool, master_as_replica_weight: f64) -> Self {
        Self {
            read_only: true,
            fallback_master,
            master_as_replica_weight: Some(master_as_replica_weight),
            timeout,
        }
    }

    /// Rejects a weight outside [0, 1] (NaN included) and any weight on a write.
    pub fn validate(&self) -> Result<(), AcquireError> {
        match (self.read_only, self.master_as_replica_weight) {
            (false, Some(_)) => Err(AcquireError::InvalidOptions(
                "master_as_replica_weight applies to reads only".into(),
            )),
            (true, Some(w)) if !(0.0..=1.0).contains(&w) => Err(AcquireError::InvalidOptions(
                format!("master_as_replica_weight must be in [0, 1], got {w}"),
            )),
            _ => Ok(()),
        }
    }
}

/// Why an acquire failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AcquireError {
    /// No suitable host (or no connection of its pool) within the budget.
    #[error("no {} host available within {waited:?}", if *read_only { "readable" } else { "master" })]
    NoHost { read_only: bool, waited: Duration },
    #[error("invalid acquire options: {0}")]
    InvalidOptions(String),
    #[error("the pool is closed")]
    Closed,
}

/// An invalid [`PoolConfig`], one message per problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid pool configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

/// What the checkers share with the pool.
pub(crate) struct Shared {
    pub(crate) config: PoolConfig,
    pub(crate) connect: Arc<ConnectOptions>,
    /// Woken (`notify_waiters`) on every role, pool or lag change and on close.
    pub(crate) changed: Notify,
    /// The master's WAL positions, what replicas' lag is measured against.
    master_wal: Mutex<MasterWal>,
    /// WAL position a replica must have replayed to take reads (0: none).
    replay_floor: AtomicU64,
    /// The master's WAL position after the last write recorded (0: none): what reads
    /// should see (see [`MultiHostPool::record_write`]).
    write_floor: AtomicU64,
    /// How many times another host became the master (see [`Slot::follows`]).
    ///
    /// [`Slot::follows`]: crate::host::Slot
    failovers: AtomicU64,
    /// A replica waits to show that it follows the master (see `checker::NUDGE_SQL`).
    wal_requested: AtomicBool,
}

impl Shared {
    pub(crate) fn replay_floor(&self) -> u64 {
        self.replay_floor.load(Ordering::Acquire)
    }

    pub(crate) fn failovers(&self) -> u64 {
        self.failovers.load(Ordering::Acquire)
    }

    /// Another host became the master: a replica takes reads again only once it has shown
    /// that it follows the new one.
    pub(crate) fn count_failover(&self) {
        self.failovers.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
    }

    pub(crate) fn request_wal(&self) {
        self.wal_requested.store(true, Ordering::Release);
    }

    /// Whether a replica asked for WAL since the last call.
    pub(crate) fn take_wal_request(&self) -> bool {
        self.wal_requested.swap(false, Ordering::AcqRel)
    }

    /// A new master at `position`: no replica is asked to have replayed more.
    pub(crate) fn lower_floors_to(&self, position: u64) {
        for floor in [&self.replay_floor, &self.write_floor] {
            floor.fetch_min(position, Ordering::AcqRel);
        }
    }

    pub(crate) fn lock_master_wal(&self) -> std::sync::MutexGuard<'_, MasterWal> {
        self.master_wal.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Inner {
    hosts: Vec<Arc<Host>>,
    shared: Arc<Shared>,
    read: AcquireOptions,
    write: AcquireOptions,
    closed: AtomicBool,
    shutdown: watch::Sender<bool>,
    checkers: Mutex<Vec<JoinHandle<()>>>,
    failed_reads: AtomicU64,
    failed_writes: AtomicU64,
    /// Two or more hosts were masters at the last write's choice (see `two_masters`).
    split_brain: AtomicBool,
}

/// A pool over several PostgreSQL hosts: one bb8 pool of diesel-async connections per
/// host that is up, a health checker per host, reads spread greedily over replicas, writes
/// on the master. Cheap to clone (clones share everything).
///
/// Dropping every clone stops the checkers too; [`MultiHostPool::close`] does it
/// deterministically and waits for them.
#[derive(Clone)]
pub struct MultiHostPool {
    inner: Arc<Inner>,
}

/// A connection handed out by the pool, returned to its host's pool on drop (or closed, if
/// the host changed role meanwhile). Derefs to the diesel-async connection.
pub struct PooledConn {
    conn: bb8::PooledConnection<'static, Manager>,
    host: Arc<Host>,
    role: Role,
}

impl PooledConn {
    /// The host it is connected to.
    pub fn host(&self) -> &HostAddr {
        &self.host.addr
    }

    /// Its host's index in [`PoolConfig::hosts`].
    pub fn host_index(&self) -> usize {
        self.host.index
    }

    /// The host's role when the connection was handed out.
    pub fn role(&self) -> Role {
        self.role
    }
}

impl Deref for PooledConn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        self.host.in_use.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for PooledConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledConn")
            .field("host", &self.host.addr)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The greedy choice within one set of candidates: the most free connections, ties broken
/// uniformly at random (reservoir sampling over the tied hosts).
#[derive(Default)]
struct Greedy {
    best: Option<(Arc<Host>, BbPool, Role)>,
    free: u32,
    ties: u32,
}

impl Greedy {
    fn offer(&mut self, host: &Arc<Host>, pool: &BbPool, role: Role, rng: &mut impl Rng) {
        let free = host.free();
        let take = match &self.best {
            None => true,
            Some(_) if free > self.free => true,
            Some(_) if free == self.free => {
                self.ties += 1;
                rng.gen_range(0..self.ties) == 0
            }
            Some(_) => false,
        };
        if take {
            if self.best.is_none() || free > self.free {
                self.ties = 1;
            }
            self.free = free;
            self.best = Some((host.clone(), pool.clone(), role));
        }
    }

    /// The greedy choice over the union of two disjoint sets, still uniform among ties.
    fn merge(self, other: Greedy, rng: &mut impl Rng) -> Greedy {
        match (&self.best, &other.best) {
            (None, _) => other,
            (_, None) => self,
            _ if self.free > other.free => self,
            _ if other.free > self.free => other,
            _ => {
                let ties = self.ties + other.ties;
                if rng.gen_range(0..ties) < self.ties {
                    Greedy { ties, ..self }
                } else {
                    Greedy { ties, ..other }
                }
            }
        }
    }
}

impl MultiHostPool {
    /// Builds the pool and starts one checker per host; returns at once, whatever the
    /// hosts' state (hosts that are down are retried every `refresh_delay`). Must be called
    /// within a Tokio runtime.
    pub fn new(config: PoolConfig) -> Result<Self, ConfigError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        let read = AcquireOptions::read(
            config.timeout,
            config.fallback_master,
            config.master_as_replica_weight,
        );
        let write = AcquireOptions::write(config.timeout);
        let hosts: Vec<Arc<Host>> = config
            .hosts
            .iter()
            .enumerate()
            .map(|(i, addr)| Arc::new(Host::new(i, addr.clone(), config.max_size)))
            .collect();
        let shared = Arc::new(Shared {
            connect: Arc::new(config.connect.clone()),
            config,
            changed: Notify::new(),
            master_wal: Mutex::default(),
            replay_floor: AtomicU64::new(0),
            write_floor: AtomicU64::new(0),
            failovers: AtomicU64::new(0),
            wal_requested: AtomicBool::new(false),
        });
        let (shutdown, _) = watch::channel(false);
        let checkers = hosts
            .iter()
            .map(|host| {
                tokio::spawn(crate::checker::run(
                    host.clone(),
                    shared.clone(),
                    shutdown.subscribe(),
                ))
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                hosts,
                shared,
                read,
                write,
                closed: AtomicBool::new(false),
                shutdown,
                checkers: Mutex::new(checkers),
                failed_reads: AtomicU64::new(0),
                failed_writes: AtomicU64::new(0),
                split_brain: AtomicBool::new(false),
            }),
        })
    }

    pub fn config(&self) -> &PoolConfig {
        &self.inner.shared.config
    }

    /// A read-only connection with the configured defaults.
    pub async fn read(&self) -> Result<PooledConn, AcquireError> {
        self.acquire(&self.inner.read).await
    }

    /// A master connection with the configured timeout.
    pub async fn write(&self) -> Result<PooledConn, AcquireError> {
        self.acquire(&self.inner.write).await
    }

    /// The default options of [`MultiHostPool::read`] and [`MultiHostPool::write`].
    pub fn default_options(&self, read_only: bool) -> AcquireOptions {
        if read_only {
            self.inner.read
        } else {
            self.inner.write
        }
    }

    /// A connection chosen as `options` say, within `options.timeout`: waits for a suitable
    /// host to appear (a checker finding one) and for a connection of its pool, re-choosing
    /// whenever a host changes state; fails with [`AcquireError::NoHost`] when the budget
    /// is spent. A read on a replica also waits (briefly) for the writes recorded with
    /// [`MultiHostPool::record_write`]. Cancel-safe: dropping the future leaks nothing.
    pub async fn acquire(&self, options: &AcquireOptions) -> Result<PooledConn, AcquireError> {
        options.validate()?;
        let deadline = Instant::now() + options.timeout;
        let acquired = self
            .acquire_chosen(options.read_only, deadline, || self.choose(options))
            .await;
        if let Err(AcquireError::NoHost { .. }) = acquired {
            let counter = if options.read_only {
                &self.inner.failed_reads
            } else {
                &self.inner.failed_writes
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let conn = acquired?;
        Ok(match conn.role {
            Role::Replica => self.caught_up(conn, options, deadline).await,
            _ => conn,
        })
    }

    /// A connection of the host `choose` names, re-choosing whenever a host changes state,
    /// until `deadline`.
    async fn acquire_chosen(
        &self,
        read_only: bool,
        deadline: Instant,
        choose: impl Fn() -> Option<(Arc<Host>, BbPool, Role)>,
    ) -> Result<PooledConn, AcquireError> {
        let started = Instant::now();
        let inner = &*self.inner;
        loop {
            // Created before looking, so no change between the look and the wait is missed
            // (`notify_waiters` reaches every `Notified` created before it).
            let changed = inner.shared.changed.notified();
            if inner.closed.load(Ordering::Acquire) {
                return Err(AcquireError::Closed);
            }
            match choose() {
                Some((host, pool, role)) => {
                    tokio::select! {
                        biased;
                        got = pool.get_owned() => {
                            // An error is bb8's own timeout: choose again while budget remains.
                            if let Ok(conn) = got {
                                host.in_use.fetch_add(1, Ordering::Relaxed);
                                host.record_acquire(started.elapsed());
                                return Ok(PooledConn { conn, host, role });
                            }
                        }
                        _ = changed => {}
                        _ = tokio::time::sleep_until(deadline) => break,
                    }
                }
                None => {
                    tokio::select! {
                        biased;
                        _ = changed => {}
                        _ = tokio::time::sleep_until(deadline) => break,
                    }
                }
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        if inner.closed.load(Ordering::Acquire) {
            return Err(AcquireError::Closed);
        }
        Err(AcquireError::NoHost {
            read_only,
            waited: started.elapsed(),
        })
    }

    /// The hosts that could serve now, as greedy choices: (masters, replicas that take
    /// reads, how many masters there are).
    fn candidates(&self, read_only: bool) -> (Greedy, Greedy, usize) {
        let mut rng = rand::thread_rng();
        let mut masters = Greedy::default();
        let mut replicas = Greedy::default();
        let shared = &self.inner.shared;
        let mut master_count = 0;
        for host in &self.inner.hosts {
            let slot = host.read_slot();
            let Some(pool) = &slot.pool else { continue };
            match slot.role {
                Role::Master => {
                    master_count += 1;
                    masters.offer(host, pool, Role::Master, &mut rng)
                }
                Role::Replica if read_only && host.takes_reads(&slot, shared) => {
                    replicas.offer(host, pool, Role::Replica, &mut rng)
                }
                _ => {}
            }
        }
        (masters, replicas, master_count)
    }

    /// The host an acquire with `options` would use now, if any: writes take the master
    /// (none while two hosts answer as master); reads take the replicas that are up and
    /// not lagging, plus the master with probability `master_as_replica_weight`; with no
    /// such replica, the master if `fallback_master`, else nothing. Among the candidates:
    /// greedy.
    fn choose(&self, options: &AcquireOptions) -> Option<(Arc<Host>, BbPool, Role)> {
        let (masters, replicas, master_count) = self.candidates(options.read_only);
        let split_brain = self.two_masters(master_count);
        let chosen = if !options.read_only {
            if split_brain {
                return None;
            }
            masters
        } else if replicas.best.is_none() {
            if options.fallback_master {
                masters
            } else {
                return None;
            }
        } else {
            let mut rng = rand::thread_rng();
            let include_master = match options.master_as_replica_weight {
                Some(w) if w >= 1.0 => true,
                Some(w) if w > 0.0 => rng.gen::<f64>() < w,
                _ => false,
            };
            if include_master {
                replicas.merge(masters, &mut rng)
            } else {
                replicas
            }
        };
        chosen.best
    }

    /// More than one master: a replica was promoted while the old primary still runs (a
    /// split brain). Writing to both would fork the data, so writes wait until only one
    /// answers as master. Said once per episode.
    fn two_masters(&self, master_count: usize) -> bool {
        let split = master_count > 1;
        let flag = &self.inner.split_brain;
        // Read first: every acquire passes here, and a write to the flag each time would
        // bounce its cache line between cores.
        if flag.load(Ordering::Relaxed) != split
            && flag.swap(split, Ordering::Relaxed) != split
            && split
        {
            let masters: Vec<String> = self
                .hosts()
                .iter()
                .filter(|h| h.role == Role::Master)
                .map(|h| h.addr.to_string())
                .collect();
            log::error!(
                "{} answer as master: no writes until only one does",
                masters.join(" and ")
            );
        }
        split
    }

    /// The index of the host an acquire with `options` would take right now (the same
    /// random draws as an acquire), or `None`. For diagnostics and tests.
    pub fn pick(&self, options: &AcquireOptions) -> Result<Option<usize>, AcquireError> {
        options.validate()?;
        Ok(self.choose(options).map(|(host, _, _)| host.index))
    }

    /// Every host's state.
    pub fn hosts(&self) -> Vec<HostSnapshot> {
        let shared = &self.inner.shared;
        self.inner
            .hosts
            .iter()
            .map(|h| h.snapshot(shared))
            .collect()
    }

    /// From now on a replica takes reads only once it has replayed the master's WAL up to
    /// `position` (bytes since `0/0`, as `pg_current_wal_lsn() - '0/0'`), as seen by its
    /// checks: e.g. the master's position right after a schema migration, so that no read
    /// meets a replica still on the old schema. Raises the requirement, never lowers it.
    pub fn require_replayed(&self, position: u64) {
        self.inner
            .shared
            .replay_floor
            .fetch_max(position, Ordering::AcqRel);
        self.inner.shared.changed.notify_waiters();
    }

    /// Records the master's WAL position, to be called after a write committed: reads
    /// then see that write. A replica that has not replayed it yet is waited for (at
    /// most 100 ms), then the master answers instead (with `fallback_master`; otherwise
    /// the replica, as it is). Nothing is recorded for a pool of one host; waits at most
    /// 100 ms for a master connection.
    pub async fn record_write(&self) -> Result<(), String> {
        // Also while no replica is up: one that comes back with a backlog must not serve
        // reads from before this write. Only a single host can never have a replica.
        if self.inner.hosts.len() < 2 {
            return Ok(());
        }
        // Bounded: the write has committed, and its answer should not wait on a busy pool.
        let mut conn = self
            .acquire(&AcquireOptions::write(CATCH_UP_WAIT))
            .await
            .map_err(|e| e.to_string())?;
        let position = wal_position(&mut conn, "pg_current_wal_lsn()")
            .await?
            .ok_or("the master has no WAL position")?;
        self.inner
            .shared
            .write_floor
            .fetch_max(position, Ordering::AcqRel);
        Ok(())
    }

    /// `conn`, on a replica, once its host has replayed the writes recorded so far; when it
    /// has not within [`CATCH_UP_WAIT`], a master connection instead if reads may fall back
    /// to the master and one is to be had soon, otherwise `conn` as it is (also at once
    /// while no master is known).
    async fn caught_up(
        &self,
        mut conn: PooledConn,
        options: &AcquireOptions,
        deadline: Instant,
    ) -> PooledConn {
        let floor = self.inner.shared.write_floor.load(Ordering::Acquire);
        // With no master there is nothing fresher to read from (a replica cut off by a
        // failover may never replay the last write).
        if conn.host.has_replayed(floor) || self.master().is_none() {
            return conn;
        }
        // A replica whose last check found it further behind than the wait would not catch
        // up in time (e.g. one still following the old primary after a failover).
        let hopeless = conn
            .host
            .lock_stats()
            .lag
            .is_some_and(|lag| lag > CATCH_UP_WAIT);
        let give_up = if hopeless {
            Instant::now()
        } else {
            (Instant::now() + CATCH_UP_WAIT).min(deadline)
        };
        // Each look is bounded too: a frozen replica would not answer at all.
        while let Ok(Ok(Some(position))) =
            tokio::time::timeout_at(give_up, wal_position(&mut conn, "pg_last_wal_replay_lsn()"))
                .await
        {
            conn.host.replayed.fetch_max(position, Ordering::AcqRel);
            if position >= floor {
                return conn;
            }
            if Instant::now() + CATCH_UP_POLL > give_up {
                break;
            }
            tokio::time::sleep(CATCH_UP_POLL).await;
        }
        if !options.fallback_master {
            return conn;
        }
        let budget = deadline.min(Instant::now() + CATCH_UP_WAIT);
        let master = self.acquire_chosen(true, budget, || self.candidates(false).0.best);
        master.await.unwrap_or(conn)
    }

    /// Asks every host's checker to check now rather than at its next period.
    pub fn recheck_all(&self) {
        for host in &self.inner.hosts {
            host.recheck.notify_one();
        }
    }

    /// Acquires that failed with [`AcquireError::NoHost`]: (reads, writes).
    pub fn failed_acquires(&self) -> (u64, u64) {
        (
            self.inner.failed_reads.load(Ordering::Relaxed),
            self.inner.failed_writes.load(Ordering::Relaxed),
        )
    }

    /// The master right now: the one host that answers as master (none while two do).
    pub fn master(&self) -> Option<HostAddr> {
        let mut masters = self
            .inner
            .hosts
            .iter()
            .filter(|h| h.read_slot().role == Role::Master);
        match (masters.next(), masters.next()) {
            (Some(master), None) => Some(master.addr.clone()),
            _ => None,
        }
    }

    /// Waits until a master is known, at most `timeout`.
    pub async fn wait_for_master(&self, timeout: Duration) -> Option<HostAddr> {
        let deadline = Instant::now() + timeout;
        loop {
            let changed = self.inner.shared.changed.notified();
            if let Some(master) = self.master() {
                return Some(master);
            }
            if self.is_closed() {
                return None;
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    /// Asks host `index`'s checker to check now rather than at its next period.
    pub fn recheck(&self, index: usize) {
        if let Some(host) = self.inner.hosts.get(index) {
            host.recheck.notify_one();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Stops every checker (and waits for them) and closes every pooled connection:
    /// idle ones now, checked-out ones when they are returned. Acquires waiting or started
    /// afterwards fail with [`AcquireError::Closed`]. Idempotent.
    pub async fn close(&self) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = self.inner.shutdown.send(true);
        self.inner.shared.changed.notify_waiters();
        let checkers = std::mem::take(
            &mut *self
                .inner
                .checkers
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for checker in checkers {
            let _ = checker.await;
        }
        for host in &self.inner.hosts {
            let pool = {
                let mut slot = host.write_slot();
                slot.role = Role::Down;
                slot.pool.take()
            };
            drop(pool);
        }
        self.inner.shared.changed.notify_waiters();
        log::debug!("pool closed");
    }
}

/// `function` (a WAL position function of PostgreSQL) on `conn`, in bytes since `0/0`;
/// `None` when it is NULL (e.g. the replay position on a server not in recovery).
async fn wal_position(conn: &mut PooledConn, function: &str) -> Result<Option<u64>, String> {
    // Here only: its by-value `load` would shadow `AtomicBool::load` in the whole module.
    use diesel_async::RunQueryDsl;
    let position: Option<i64> = diesel::select(sql::<Nullable<BigInt>>(&format!(
        "({function} - '0/0'::pg_lsn)::int8"
    )))
    .get_result(&mut **conn)
    .await
    .map_err(|e| e.to_string())?;
    Ok(position.and_then(|p| u64::try_from(p).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        let t = Duration::from_secs(1);
        assert!(AcquireOptions::write(t).validate().is_ok());
        assert!(AcquireOptions::read(t, true, 0.0).validate().is_ok());
        assert!(AcquireOptions::read(t, true, 1.0).validate().is_ok());
        for bad in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                AcquireOptions::read(t, true, bad).validate(),
                Err(AcquireError::InvalidOptions(_))
            ));
        }
        let mut write = AcquireOptions::write(t);
        write.master_as_replica_weight = Some(0.5);
        assert!(matches!(
            write.validate(),
            Err(AcquireError::InvalidOptions(_))
        ));
    }
}
