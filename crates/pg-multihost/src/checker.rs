//! The health checker: one task per host that, every `refresh_delay` (or at once when asked
//! to re-check), reads the host's role and replay lag on a dedicated connection under a
//! `refresh_timeout` deadline, and moves the host between master, replica and down.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::{NoTls, SimpleQueryMessage};

use crate::causes::with_causes;
use crate::config::PoolConfig;
use crate::host::{Host, Role};
use crate::pool::Shared;

/// Role, replay lag and WAL position in one round trip (simple protocol, no prepared
/// statement). `transaction_read_only` is `on` in recovery, and also on a server configured
/// read-only (`default_transaction_read_only`): such a host takes no writes, so it is no
/// master. The replica's own view of its lag, used when no master was checked lately (see
/// [`crate::wal`]): 0 when everything received is replayed, otherwise the age of the last
/// replayed transaction (or, when none was replayed since the standby started, its uptime).
/// Position: bytes of WAL written (master) or replayed (replica); then a replica's bytes
/// received (NULL on a master, or with no WAL receiver).
const CHECK_SQL: &str = "SELECT pg_is_in_recovery(), current_setting('transaction_read_only'), \
     CASE WHEN NOT pg_is_in_recovery() THEN NULL \
          WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 \
          ELSE EXTRACT(EPOCH FROM now() - COALESCE(pg_last_xact_replay_timestamp(), pg_postmaster_start_time())) END, \
     (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END \
      - '0/0'::pg_lsn)::text, \
     (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::text";

/// Run on the master after its check while a replica waits to show that it follows it
/// after a failover: a transaction with an id writes a commit record, WAL for the replica
/// to replay, also on an idle database.
const NUDGE_SQL: &str = "SELECT txid_current()";

/// How long the master's WAL positions are kept: a replica behind all of them is reported
/// this far behind, so it must exceed any sensible `max_replica_lag` (see [`keep_positions`]).
const KEEP_POSITIONS: Duration = Duration::from_secs(60);

/// Shortest time between two checks of one host when re-checks are asked for.
const MIN_RECHECK_GAP: Duration = Duration::from_millis(50);

/// The checker's own connection: never taken from the pool, so a pool exhausted by
/// requests cannot starve the health check.
struct CheckConn {
    client: tokio_postgres::Client,
    driver: JoinHandle<()>,
}

impl Drop for CheckConn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

struct Checked {
    role: Role,
    /// The replica's own view of its lag.
    lag: Option<Duration>,
    /// WAL written (master) or replayed (replica), in bytes.
    position: Option<u64>,
    /// WAL a replica has received, in bytes.
    received: Option<u64>,
    /// The failover count before the check began (see `Slot::note_replayed`).
    failovers: u64,
    latency: Duration,
}

pub(crate) async fn run(host: Arc<Host>, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut conn: Option<CheckConn> = None;
    loop {
        let outcome = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            outcome = tokio::time::timeout(shared.config.refresh_timeout, check(&host, &shared, &mut conn)) => {
                outcome.unwrap_or_else(|_| {
                    Err(format!("no answer within {:?}", shared.config.refresh_timeout))
                })
            }
        };
        if outcome.is_err() {
            conn = None; // reconnect next time
        }
        apply(&host, &shared, outcome);
        let checked_at = tokio::time::Instant::now();
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            // Requests failing fast (a host down) ask again and again: not more often.
            _ = async {
                host.recheck.notified().await;
                tokio::time::sleep_until(checked_at + MIN_RECHECK_GAP).await;
            } => {}
            _ = tokio::time::sleep(shared.config.refresh_delay) => {}
        }
    }
    log::debug!("{}: checker stopped", host.addr);
}

async fn check(
    host: &Host,
    shared: &Shared,
    conn: &mut Option<CheckConn>,
) -> Result<Checked, String> {
    if conn.as_ref().is_none_or(|c| c.client.is_closed()) {
        let (client, connection) = shared
            .connect
            .pg_config(&host.addr)
            .connect(NoTls)
            .await
            .map_err(|e| with_causes(&e))?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        *conn = Some(CheckConn { client, driver });
    }
    let client = &conn.as_ref().expect("connected above").client;
    // Read first: a position read before a failover was counted says nothing about it.
    let failovers = shared.failovers();
    let started = Instant::now();
    let messages = client
        .simple_query(CHECK_SQL)
        .await
        .map_err(|e| with_causes(&e))?;
    let latency = started.elapsed();
    let row = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .ok_or("the check query returned no row")?;
    let in_recovery = row.get(0) == Some("t");
    let read_only = row.get(1) == Some("on");
    let lag = row
        .get(2)
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    let position = row.get(3).and_then(|s| s.parse::<u64>().ok());
    let received = row.get(4).and_then(|s| s.parse::<u64>().ok());
    let role = if in_recovery || read_only {
        Role::Replica
    } else {
        Role::Master
    };
    if role == Role::Master && shared.take_wal_request() {
        if let Err(e) = client.simple_query(NUDGE_SQL).await {
            log::debug!("{}: {NUDGE_SQL}: {}", host.addr, with_causes(&e));
        }
    }
    Ok(Checked {
        role,
        lag,
        position,
        received,
        failovers,
        latency,
    })
}

/// A replica's lag against the master's recent WAL positions, or its own view when there
/// are none; a master's position is recorded for the replicas.
fn replay_lag(host: &Host, shared: &Shared, checked: &Checked) -> Option<Duration> {
    let Some(position) = checked.position else {
        return checked.lag;
    };
    let now = Instant::now();
    let config = &shared.config;
    let mut master_wal = shared.lock_master_wal();
    match checked.role {
        Role::Master => {
            let previous = master_wal.master();
            if master_wal.record(host.index, now, position, keep_positions(config)) {
                // After a failover that lost WAL, the new master may stand below positions
                // the old one reached: replicas are measured against the new one.
                shared.lower_floors_to(position);
                if previous.is_some() {
                    log::debug!("{}: the master now, after another host", host.addr);
                    shared.count_failover();
                }
            }
            None
        }
        _ => {
            // The master is checked every refresh_delay, each check taking at most
            // refresh_timeout; older than two periods, its figure says nothing.
            let fresh = config.refresh_delay * 2 + config.refresh_timeout;
            master_wal.replica_lag(now, position, fresh).or(checked.lag)
        }
    }
}

fn keep_positions(config: &PoolConfig) -> Duration {
    config
        .max_replica_lag
        .map_or(KEEP_POSITIONS, |max| KEEP_POSITIONS.max(max * 2))
}

/// Records the outcome; on a role change replaces the host's pool (none while down) and
/// wakes every waiting acquire.
fn apply(host: &Arc<Host>, shared: &Shared, outcome: Result<Checked, String>) {
    let (role, lag, position, wal_seen, error) = match outcome {
        Ok(checked) => {
            let lag = replay_lag(host, shared, &checked);
            let mut stats = host.lock_stats();
            stats.checks_ok += 1;
            stats.add_latency(checked.latency, shared.config.latency_window);
            stats.lag = lag;
            stats.last_error = None;
            let wal_seen = (checked.failovers, checked.received);
            (checked.role, lag, checked.position, Some(wal_seen), None)
        }
        Err(e) => {
            let mut stats = host.lock_stats();
            stats.checks_failed += 1;
            stats.lag = None;
            stats.last_error = Some(e.clone());
            if stats.checks() == 1 {
                // Down is also the state before the first check, so no change of role
                // will be logged for it: say why here.
                log::warn!("{}: down: {e}", host.addr);
            }
            (Role::Down, None, None, None, Some(e))
        }
    };
    let lagging = role == Role::Replica
        && matches!((lag, shared.config.max_replica_lag), (Some(lag), Some(max)) if lag > max);

    let mut slot = host.write_slot();
    let before = slot.role;
    let old_pool = if before != role {
        // Counted before the new role shows: whoever sees the role sees the count.
        host.lock_stats().role_changes += 1;
        let old = slot.pool.take();
        slot.role = role;
        if role != Role::Down {
            slot.pool = Some(host.build_pool(&shared.config, shared.connect.clone()));
        }
        old
    } else {
        None
    };
    let lag_changed = slot.lagging != lagging;
    slot.lagging = lagging;
    let floor = shared.replay_floor();
    let was_short = before == Role::Replica && !host.has_replayed(floor);
    let replica_position = position.filter(|_| role == Role::Replica);
    match replica_position {
        Some(position) => host.replayed.fetch_max(position, Ordering::AcqRel),
        None => host.replayed.swap(0, Ordering::AcqRel),
    };
    let caught_up = was_short && role == Role::Replica && host.has_replayed(floor);
    let failovers = shared.failovers();
    let follows = match (replica_position, wal_seen) {
        (Some(replayed), Some((seen, received))) if seen == failovers => {
            slot.note_replayed(failovers, replayed, received)
        }
        _ => false,
    };
    if slot.role == Role::Replica && slot.follows != failovers {
        shared.request_wal();
    }
    drop(slot);

    if before != role {
        match &error {
            Some(e) => log::warn!("{}: {before} -> down: {e}", host.addr),
            None => log::info!("{}: {before} -> {role}", host.addr),
        }
        if role == Role::Down {
            log::info!(
                "{}: closing its connections, {} of them in use (their statements fail now)",
                host.addr,
                host.in_use.load(Ordering::Relaxed)
            );
            host.close_connections();
        }
        if old_pool.is_some() {
            log::info!(
                "{}: dropping the connections opened while it was {before}",
                host.addr
            );
        }
    }
    if lag_changed {
        log::info!(
            "{}: replay lag {lag:?} {} max_replica_lag: {}",
            host.addr,
            if lagging { "exceeds" } else { "within" },
            if lagging {
                "no reads until it catches up"
            } else {
                "takes reads again"
            }
        );
    }
    if caught_up {
        log::info!(
            "{}: has replayed the WAL reads need (position {floor}); takes reads",
            host.addr
        );
    }
    if follows {
        log::info!(
            "{}: replays the WAL of the master that took over: follows it",
            host.addr
        );
    }
    drop(old_pool);
    if before != role || lag_changed || caught_up || follows {
        shared.changed.notify_waiters();
    }
    if log::log_enabled!(log::Level::Debug) {
        let s = host.snapshot(shared);
        log::debug!(
            "{}: role={} lag={:?} size={} idle={} in_use={} check_latency={:?} acquires={} error={:?}",
            s.addr,
            s.role,
            s.lag,
            s.size,
            s.idle,
            s.in_use,
            s.check_latency,
            s.acquires,
            s.last_error
        );
    }
}
