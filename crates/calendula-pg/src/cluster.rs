//! A primary and its streaming replicas.

use std::collections::HashSet;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bins::PgBinaries;
use crate::conf;
use crate::error::LaunchError;
use crate::instance::{wait_until, Ctx, Instance};
use crate::os::{self, RunAs};

/// Set this environment variable to keep the directories of temporary clusters (they are
/// still stopped) for post-mortem debugging.
pub const KEEP_TEMP_ENV: &str = "CALENDULA_PG_KEEP_TEMP";

const TEMP_PREFIX: &str = "calendula-pg-";

/// How to create or reuse a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Root directory: the primary lives in `dir/primary`, replicas in `dir/replica-N`
    /// (N = 1, 2, ...). Created if missing. Relative paths are taken from the current
    /// directory.
    pub dir: PathBuf,
    /// The primary's port; `None` picks a free one. Replicas always get free ports.
    pub port: Option<u16>,
    /// Number of streaming replicas.
    pub replicas: usize,
    /// Superuser role created by initdb (e.g. `"calendula"`).
    pub user: String,
    /// With a password: it is set for `user` and TCP connections (normal and replication)
    /// need it (scram-sha-256). Without: TCP connections from 127.0.0.1 are trusted.
    /// The unix sockets (private 0700 directories) are always trusted.
    pub password: Option<String>,
    /// Database created if missing.
    pub dbname: String,
    /// `false` (tests): drop stops everything immediately and deletes the cluster's
    /// directories; also enables speed settings (fsync=off, synchronous_commit=off).
    /// `true` (the server): drop stops cleanly and keeps the data; durable settings.
    pub keep_on_drop: bool,
}

impl ClusterOptions {
    /// Options for a durable cluster in `dir`: free port, no replicas, user and database
    /// `calendula`, no password, kept on drop.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ClusterOptions {
            dir: dir.into(),
            port: None,
            replicas: 0,
            user: "calendula".into(),
            password: None,
            dbname: "calendula".into(),
            keep_on_drop: true,
        }
    }
}

/// A running primary (instance 0) and its replicas (instances 1..), all children of this
/// process. Dropping it stops them (see [`ClusterOptions::keep_on_drop`]).
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    instances: Vec<Instance>,
    ctx: Arc<Ctx>,
    dbname: String,
    keep_on_drop: bool,
    created_dir: bool,
}

impl Cluster {
    /// Finds the binaries ([`PgBinaries::locate`]) and starts the cluster: see
    /// [`Cluster::start_with`].
    pub fn start(opts: ClusterOptions) -> Result<Cluster, LaunchError> {
        let bins = PgBinaries::locate()?;
        Cluster::start_with(bins, opts)
    }

    /// Creates or reuses the cluster in `opts.dir` and starts it:
    ///
    /// 1. `dir/primary/data/PG_VERSION` missing → `initdb` (superuser `opts.user`, its
    ///    password, UTF8, C locale); present → reuse it (its major version must match the
    ///    binaries). A postmaster of an earlier run still running on it is stopped first.
    /// 2. Write the managed settings (`calendula.conf`, included from postgresql.conf) and
    ///    `pg_hba.conf`, start the primary, wait until it accepts connections. A free port
    ///    taken by someone else in the meantime is replaced by another.
    /// 3. Set the password (on reuse) and create `opts.dbname` if missing.
    /// 4. Each replica: reuse `dir/replica-N` when it is a standby data directory of this
    ///    primary (not when the primary was just created), otherwise `pg_basebackup` it
    ///    from the primary; point it at the primary; start it; wait until it accepts
    ///    connections.
    ///
    /// On error everything started so far is stopped again (and, for a non-kept cluster,
    /// deleted).
    pub fn start_with(bins: PgBinaries, opts: ClusterOptions) -> Result<Cluster, LaunchError> {
        if opts.user.is_empty() || opts.dbname.is_empty() {
            return Err(LaunchError::Setup(
                "cluster user and dbname must not be empty".into(),
            ));
        }
        if [&opts.user, &opts.dbname].iter().any(|s| s.contains('\0'))
            || opts
                .password
                .as_deref()
                .is_some_and(|p| p.contains(['\0', '\n']))
        {
            return Err(LaunchError::Setup(
                "cluster user, dbname and password must not contain NUL bytes or newlines".into(),
            ));
        }
        let dir = std::path::absolute(&opts.dir)
            .map_err(|e| LaunchError::io(format!("resolving {}", opts.dir.display()), e))?;
        let run_as = os::detect_run_as()?;
        let major = bins.major_version()?;

        let created_dir = os::create_private_dir(&dir)?;
        if run_as != RunAs::Current {
            let looks_ours = created_dir
                || dir.join("primary").is_dir()
                || fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none());
            if looks_ours {
                run_as.chown(&dir)?;
            }
            run_as.check_access(&dir)?;
        }

        let ctx = Arc::new(Ctx {
            bins,
            run_as,
            user: opts.user.clone(),
            password: opts.password.clone(),
            fast: !opts.keep_on_drop,
            wal_keep: match (opts.replicas, opts.keep_on_drop) {
                (0, true) => None,
                (_, true) => Some("1GB"),
                (_, false) => Some("256MB"),
            },
        });
        let mut cluster = Cluster {
            dir: dir.clone(),
            instances: Vec::new(),
            ctx: ctx.clone(),
            dbname: opts.dbname.clone(),
            keep_on_drop: opts.keep_on_drop,
            created_dir,
        };

        // Primary.
        let primary = Instance::new(
            ctx.clone(),
            dir.join("primary"),
            "primary",
            opts.port.map_or_else(free_port, Ok)?,
        );
        primary.prepare_dirs()?;
        let fresh = !primary.has_data();
        if fresh {
            primary.remove_data()?; // a half-made directory from an interrupted initdb
            primary.initdb()?;
        } else {
            primary.check_version(major)?;
            log::info!("primary: reusing {}", primary.data_dir().display());
        }
        cluster.instances.push(primary);
        cluster.start_instance(0, opts.port.is_none())?;

        let primary = &cluster.instances[0];
        if let (Some(pw), false) = (&opts.password, fresh) {
            primary.psql(
                "postgres",
                &format!(
                    "ALTER ROLE {} WITH PASSWORD {}",
                    conf::sql_ident(&opts.user),
                    conf::sql_literal(pw)
                ),
            )?;
        }
        let exists = primary.psql(
            "postgres",
            &format!(
                "SELECT 1 FROM pg_database WHERE datname = {}",
                conf::sql_literal(&opts.dbname)
            ),
        )?;
        if exists != "1" {
            log::info!("primary: creating database {}", opts.dbname);
            primary.psql(
                "postgres",
                &format!("CREATE DATABASE {}", conf::sql_ident(&opts.dbname)),
            )?;
        }

        // Replicas: reuse or copy (base backups run in parallel), then start one by one.
        let mut replicas = Vec::new();
        for n in 1..=opts.replicas {
            let name = format!("replica-{n}");
            let mut replica = Instance::new(ctx.clone(), dir.join(&name), &name, free_port()?);
            replica.set_primary_conninfo(Some(cluster.instances[0].replication_conninfo(&name)));
            replica.prepare_dirs()?;
            let reuse = !fresh
                && replica.has_data()
                && replica.is_standby_dir()
                && replica.check_version(major).is_ok();
            if reuse {
                log::info!("{name}: reusing {}", replica.data_dir().display());
                replica.clear_stale_server()?;
            }
            replicas.push((replica, reuse));
        }
        let primary = &cluster.instances[0];
        std::thread::scope(|s| {
            let jobs: Vec<_> = replicas
                .iter()
                .filter(|(_, reuse)| !reuse)
                .map(|(r, _)| s.spawn(|| r.basebackup(&primary.replication_conninfo(r.name()))))
                .collect();
            jobs.into_iter()
                .map(|j| {
                    j.join().unwrap_or_else(|_| {
                        Err(LaunchError::Setup("pg_basebackup thread panicked".into()))
                    })
                })
                .collect::<Result<Vec<()>, LaunchError>>()
        })?;
        for (replica, _) in replicas {
            cluster.instances.push(replica);
            let i = cluster.instances.len() - 1;
            cluster.start_instance(i, true)?;
        }
        Ok(cluster)
    }

    /// A throw-away cluster for tests: a fresh directory under the system temp dir, free
    /// ports, superuser `calendula` without password, database `calendula`,
    /// `keep_on_drop = false`. Also removes leftovers of earlier test processes that died
    /// without cleaning up (directories named after a dead pid, their servers stopped).
    pub fn temporary(replicas: usize) -> Result<Cluster, LaunchError> {
        sweep_stale_temporaries();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "{TEMP_PREFIX}{}-{}-{nanos:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        Cluster::start(ClusterOptions {
            dir,
            port: None,
            replicas,
            user: "calendula".into(),
            password: None,
            dbname: "calendula".into(),
            keep_on_drop: false,
        })
    }

    /// Instance 0, the primary the cluster was created with (after a failover it may be a
    /// standby: check [`Instance::is_in_recovery`]).
    pub fn primary(&self) -> &Instance {
        &self.instances[0]
    }

    /// Instances 1.., the replicas.
    pub fn replicas(&self) -> &[Instance] {
        &self.instances[1..]
    }

    /// All instances: index 0 is the primary, index n is `replica-n`.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The superuser role.
    pub fn user(&self) -> &str {
        &self.ctx.user
    }

    /// The superuser's password, if any.
    pub fn password(&self) -> Option<&str> {
        self.ctx.password.as_deref()
    }

    /// The application database.
    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// The binaries in use.
    pub fn binaries(&self) -> &PgBinaries {
        &self.ctx.bins
    }

    /// `postgres://user[:password]@127.0.0.1:port/dbname` of instance `which` with the
    /// cluster's credentials and database. Panics when `which` is out of range.
    pub fn url(&self, which: usize) -> String {
        self.instances[which].url(&self.ctx.user, self.password(), &self.dbname)
    }

    /// Stops every instance cleanly (fast mode, replicas first). Idempotent; the data
    /// stays. Returns the first error after trying them all.
    pub fn stop(&mut self) -> Result<(), LaunchError> {
        let mut first_err = None;
        for inst in self.instances.iter().rev() {
            if let Err(e) = inst.stop() {
                log::warn!("{}: {e}", inst.name());
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Re-makes instance `which` (index into [`Cluster::instances`]) a streaming standby
    /// of instance `upstream`, which must be running (a primary, or a standby for
    /// cascading): stops `which`, replaces its data directory with a fresh
    /// `pg_basebackup` of `upstream`, and starts it on its old port, waiting until it
    /// accepts connections. Used after a failover to turn the old primary into a standby
    /// of the promoted one.
    pub fn rebuild_as_standby(&mut self, which: usize, upstream: usize) -> Result<(), LaunchError> {
        let count = self.instances.len();
        if which >= count || upstream >= count || which == upstream {
            return Err(LaunchError::Setup(format!(
                "rebuild_as_standby({which}, {upstream}): indices must differ and be below {count}"
            )));
        }
        if !self.instances[upstream].is_running() {
            return Err(LaunchError::Setup(format!(
                "rebuild_as_standby: upstream `{}` is not running",
                self.instances[upstream].name()
            )));
        }
        let name = self.instances[which].name().to_string();
        let conninfo = self.instances[upstream].replication_conninfo(&name);
        log::info!(
            "{name}: rebuilding as a standby of {}",
            self.instances[upstream].name()
        );
        let inst = &mut self.instances[which];
        if inst.stop().is_err() {
            inst.kill()?;
        }
        inst.set_primary_conninfo(Some(conninfo.clone()));
        inst.prepare_dirs()?;
        inst.basebackup(&conninfo)?;
        self.start_instance(which, false)
    }

    /// Points standby `which` at instance `upstream` (typically the replica just promoted
    /// after a failover) without copying data: rewrites its `primary_conninfo` and, when it
    /// runs, reloads its configuration (`recovery_target_timeline = 'latest'` lets it
    /// switch to the new timeline). This works when `which` has not replayed past the
    /// point where `upstream` was promoted — the usual case for replicas that were in sync
    /// with the failed primary; otherwise use [`Cluster::rebuild_as_standby`].
    pub fn follow(&mut self, which: usize, upstream: usize) -> Result<(), LaunchError> {
        let count = self.instances.len();
        if which >= count || upstream >= count || which == upstream {
            return Err(LaunchError::Setup(format!(
                "follow({which}, {upstream}): indices must differ and be below {count}"
            )));
        }
        let name = self.instances[which].name().to_string();
        if !self.instances[which].is_standby_dir() {
            return Err(LaunchError::Setup(format!(
                "follow: `{name}` is not a standby (use rebuild_as_standby)"
            )));
        }
        let conninfo = self.instances[upstream].replication_conninfo(&name);
        log::info!("{name}: following {}", self.instances[upstream].name());
        let inst = &mut self.instances[which];
        inst.set_primary_conninfo(Some(conninfo));
        inst.write_config()?;
        if inst.is_running() {
            inst.psql("postgres", "SELECT pg_reload_conf()")?;
        }
        Ok(())
    }

    /// Waits until every running standby has replayed everything the (first running,
    /// not-in-recovery) primary had written when called. Handy in tests before reading
    /// from a replica.
    pub fn wait_for_replicas(&self, limit: Duration) -> Result<(), LaunchError> {
        let mut primary = None;
        let mut standbys = Vec::new();
        for inst in self.instances.iter().filter(|i| i.is_running()) {
            if inst.is_in_recovery()? {
                standbys.push(inst);
            } else if primary.is_none() {
                primary = Some(inst);
            }
        }
        let Some(primary) = primary else {
            return Err(LaunchError::Setup(
                "wait_for_replicas: no running primary".into(),
            ));
        };
        let lsn = primary.psql("postgres", "SELECT pg_current_wal_lsn()")?;
        let sql = format!(
            "SELECT coalesce(pg_last_wal_replay_lsn() >= {}::pg_lsn, false)",
            conf::sql_literal(&lsn)
        );
        for s in standbys {
            let mut last = Ok(String::new());
            let caught_up = wait_until(limit, || {
                last = s.psql("postgres", &sql);
                matches!(last.as_deref(), Ok("t"))
            });
            if caught_up.is_err() {
                last?;
                return Err(LaunchError::Timeout {
                    what: format!("{} to replay up to {lsn}", s.name()),
                    secs: limit.as_secs_f64(),
                });
            }
        }
        Ok(())
    }

    /// Writes the configuration and starts instance `i`; with `auto_port`, a port found
    /// taken is replaced by a fresh free one (a few times).
    fn start_instance(&mut self, i: usize, auto_port: bool) -> Result<(), LaunchError> {
        let mut attempts = 0;
        loop {
            let inst = &mut self.instances[i];
            inst.write_config()?;
            match inst.start() {
                Err(LaunchError::PortInUse { port, .. }) if auto_port && attempts < 8 => {
                    attempts += 1;
                    let next = free_port()?;
                    log::info!("{}: port {port} is taken; trying {next}", inst.name());
                    inst.set_port(next);
                }
                other => return other,
            }
        }
    }

    fn remove_files(&self) {
        if std::env::var_os(KEEP_TEMP_ENV).is_some() {
            log::info!("keeping {} ({KEEP_TEMP_ENV} is set)", self.dir.display());
            return;
        }
        if self.created_dir {
            if let Err(e) = fs::remove_dir_all(&self.dir) {
                log::warn!("removing {}: {e}", self.dir.display());
            }
            return;
        }
        // A directory we did not create: remove only what we made in it.
        for inst in &self.instances {
            if let Err(e) = fs::remove_dir_all(inst.dir()) {
                log::warn!("removing {}: {e}", inst.dir().display());
            }
        }
        let _ = fs::remove_dir(&self.dir); // only if now empty
    }
}

impl Drop for Cluster {
    /// `keep_on_drop`: fast clean stop, data kept. Otherwise: immediate stop and the
    /// directories removed. Never panics; problems are logged.
    fn drop(&mut self) {
        for inst in self.instances.iter().rev() {
            let result = if self.keep_on_drop {
                inst.stop()
            } else {
                inst.stop_immediate()
            };
            if let Err(e) = result {
                log::warn!("{}: stopping on drop: {e}", inst.name());
            }
            inst.remove_external_socket_dir();
        }
        if !self.keep_on_drop {
            self.remove_files();
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago and that this process has not handed
/// out before (so parallel tests in one process do not collide; collisions with other
/// processes are handled by retrying the start).
pub fn free_port() -> Result<u16, LaunchError> {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    for _ in 0..64 {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| LaunchError::io("binding 127.0.0.1:0 to find a free port", e))?
            .port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return Ok(port);
        }
    }
    Err(LaunchError::Setup(
        "could not find a free TCP port on 127.0.0.1".into(),
    ))
}

/// Removes `<tmp>/calendula-pg-<pid>-...` directories of dead processes (once per
/// process), stopping (SIGQUIT) any postmaster still running in them.
fn sweep_stale_temporaries() {
    static ONCE: Once = Once::new();
    if std::env::var_os(KEEP_TEMP_ENV).is_some() {
        return;
    }
    ONCE.call_once(|| {
        let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(pid) = name
                .strip_prefix(TEMP_PREFIX)
                .and_then(|rest| rest.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == std::process::id() || os::process_alive(pid) {
                continue;
            }
            let dir = entry.path();
            if let Ok(instances) = fs::read_dir(&dir) {
                for inst in instances.filter_map(Result::ok) {
                    stop_orphan(&inst.path().join("data"));
                }
            }
            log::info!("removing leftover temporary cluster {}", dir.display());
            let _ = fs::remove_dir_all(&dir);
        }
    });
}

fn stop_orphan(data_dir: &Path) {
    let Some(pid) = fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    else {
        return;
    };
    let is_postgres = os::process_cmdline(pid)
        .is_some_and(|c| c.contains("postgres") || c.contains("postmaster"));
    if os::process_alive(pid) && is_postgres {
        log::warn!(
            "stopping orphaned PostgreSQL server {pid} on {}",
            data_dir.display()
        );
        let _ = os::send_signal(pid, libc::SIGQUIT);
        let _ = wait_until(Duration::from_secs(10), || !os::process_alive(pid));
    }
}
