//! One PostgreSQL server process and its directory.

use std::fs::{self, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::bins::PgBinaries;
use crate::conf::{self, ConfParams};
use crate::error::LaunchError;
use crate::os::{self, RunAs};

/// How long a server may take to accept connections after being started.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a fast (clean) shutdown may take before it is escalated.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a promotion may take.
pub const PROMOTE_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings shared by every instance of a cluster.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) bins: PgBinaries,
    pub(crate) run_as: RunAs,
    pub(crate) user: String,
    pub(crate) password: Option<String>,
    /// Temporary cluster: fsync off etc.
    pub(crate) fast: bool,
    pub(crate) wal_keep: Option<&'static str>,
}

/// One PostgreSQL server (a primary or a streaming standby) of a [`crate::Cluster`].
///
/// Layout of its directory `dir`: `data/` (the data directory), `run/` (its unix socket
/// directory; for very long paths a directory under the system temp dir instead, because
/// socket paths are limited to ~100 bytes), `postgres.log` (the server log, appended to).
///
/// The server process is a child of this process, in its own process group (so a
/// terminal's Ctrl-C does not reach it), running as the `postgres` OS user when we are
/// root. It listens on 127.0.0.1 only.
#[derive(Debug)]
pub struct Instance {
    name: String,
    dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    socket_dir_is_external: bool,
    log_file: PathBuf,
    port: u16,
    /// For a standby: how to reach its upstream (written as primary_conninfo).
    primary_conninfo: Option<String>,
    ctx: Arc<Ctx>,
    child: Mutex<Option<Child>>,
}

/// A failed start attempt, and whether trying again shortly may succeed.
struct StartFailure {
    err: LaunchError,
    retry: bool,
}

impl Instance {
    pub(crate) fn new(ctx: Arc<Ctx>, dir: PathBuf, name: &str, port: u16) -> Instance {
        let (socket_dir, socket_dir_is_external) = socket_dir_for(&dir);
        Instance {
            name: name.to_string(),
            data_dir: dir.join("data"),
            log_file: dir.join("postgres.log"),
            dir,
            socket_dir,
            socket_dir_is_external,
            port,
            primary_conninfo: None,
            ctx,
            child: Mutex::new(None),
        }
    }

    // ----- accessors -------------------------------------------------------------------

    /// `"primary"` or `"replica-N"`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Always `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }
    /// The instance directory (holds `data/`, `run/`, `postgres.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The PostgreSQL data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    /// The unix socket directory (usable as a libpq `host`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }
    /// The server log file.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// `postgres://user[:password]@127.0.0.1:port/dbname`, percent-encoded.
    pub fn url(&self, user: &str, password: Option<&str>, dbname: &str) -> String {
        let auth = match password {
            Some(pw) => format!(
                "{}:{}",
                conf::percent_encode(user),
                conf::percent_encode(pw)
            ),
            None => conf::percent_encode(user),
        };
        format!(
            "postgres://{auth}@{}:{}/{}",
            self.host(),
            self.port,
            conf::percent_encode(dbname)
        )
    }

    /// The postmaster's pid while this instance runs it.
    pub fn pid(&self) -> Option<u32> {
        let mut guard = self.lock();
        Self::running_child(&mut guard).map(|c| c.id())
    }

    /// Whether the postmaster started by this instance is still running.
    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    // ----- lifecycle -------------------------------------------------------------------

    /// Starts the server (no-op when it runs) and waits until it accepts connections
    /// (checked with `pg_isready`, deadline [`START_TIMEOUT`]). A stale `postmaster.pid`
    /// whose process is gone is removed; a postmaster from an earlier run still running
    /// on this data directory is stopped first (fast mode). On failure the error holds
    /// the tail of the server log.
    pub fn start(&self) -> Result<(), LaunchError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.start_once(deadline) {
                Ok(()) => return Ok(()),
                Err(StartFailure { err, retry }) => {
                    if retry && Instant::now() + Duration::from_millis(200) < deadline {
                        log::debug!("{}: retrying start: {err}", self.name);
                        thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Clean, fast shutdown (`pg_ctl stop -m fast` semantics: SIGINT, wait; escalated to
    /// immediate, then SIGKILL, if it takes longer than [`STOP_TIMEOUT`]). Idempotent.
    pub fn stop(&self) -> Result<(), LaunchError> {
        self.stop_with(libc::SIGINT, STOP_TIMEOUT)
    }

    /// Immediate shutdown (SIGQUIT: no checkpoint, crash recovery on next start). Idempotent.
    pub fn stop_immediate(&self) -> Result<(), LaunchError> {
        self.stop_with(libc::SIGQUIT, Duration::from_secs(10))
    }

    /// SIGKILLs the postmaster (a crash); its backends notice and exit on their own.
    /// Returns once the postmaster is gone. No-op when it is not running.
    pub fn kill(&self) -> Result<(), LaunchError> {
        let mut guard = self.lock();
        if let Some(mut child) = guard.take() {
            if child.try_wait().ok().flatten().is_none() {
                log::info!("{}: killing postmaster (pid {})", self.name, child.id());
                let _ = child.kill();
            }
            child
                .wait()
                .map_err(|e| LaunchError::io(format!("waiting for {} to die", self.name), e))?;
            return Ok(());
        }
        drop(guard);
        // Not started by us: use postmaster.pid.
        if let Some(pid) = self.pid_from_file().filter(|p| os::process_alive(*p)) {
            os::send_signal(pid, libc::SIGKILL)
                .map_err(|e| LaunchError::io(format!("kill -9 {pid}"), e))?;
            wait_until(Duration::from_secs(10), || !os::process_alive(pid)).map_err(|_| {
                timeout(format!("postmaster {pid} to die"), Duration::from_secs(10))
            })?;
        }
        Ok(())
    }

    /// Promotes a standby (`pg_promote`) and waits until it has left recovery.
    pub fn promote(&self) -> Result<(), LaunchError> {
        log::info!("{}: promoting", self.name);
        let secs = PROMOTE_TIMEOUT.as_secs();
        let out = self.psql("postgres", &format!("SELECT pg_promote(true, {secs})"))?;
        if out != "t" {
            return Err(LaunchError::Setup(format!(
                "{}: pg_promote did not complete within {secs}s (returned {out:?})",
                self.name
            )));
        }
        let mut last = Ok(true);
        wait_until(PROMOTE_TIMEOUT, || {
            last = self.is_in_recovery();
            matches!(last, Ok(false))
        })
        .map_err(|_| match std::mem::replace(&mut last, Ok(true)) {
            Err(e) => e,
            Ok(_) => timeout(format!("{} to leave recovery", self.name), PROMOTE_TIMEOUT),
        })
    }

    /// `SELECT pg_is_in_recovery()`.
    pub fn is_in_recovery(&self) -> Result<bool, LaunchError> {
        match self
            .psql("postgres", "SELECT pg_is_in_recovery()")?
            .as_str()
        {
            "t" => Ok(true),
            "f" => Ok(false),
            other => Err(LaunchError::Setup(format!(
                "{}: unexpected pg_is_in_recovery() output {other:?}",
                self.name
            ))),
        }
    }

    /// Runs SQL with psql over the unix socket as the cluster's superuser (no password
    /// needed) and returns stdout trimmed: unaligned, tuples only (`-A -t`), `|` between
    /// columns, one line per row. The SQL goes through stdin, so it may hold several
    /// statements (each in its own transaction); psql stops at the first error, which
    /// becomes `LaunchError::Command` with psql's message.
    pub fn psql(&self, dbname: &str, sql: &str) -> Result<String, LaunchError> {
        let conninfo = format!(
            "host={} port={} user={} dbname={}",
            conf::conninfo_value(&self.socket_dir.to_string_lossy()),
            self.port,
            conf::conninfo_value(&self.ctx.user),
            conf::conninfo_value(dbname)
        );
        self.run_psql(&conninfo, None, sql)
    }

    /// Like [`Instance::psql`] but over TCP to 127.0.0.1 as `user`, with `password` passed
    /// in `PGPASSWORD` — what an application connecting by URL goes through.
    pub fn psql_tcp(
        &self,
        user: &str,
        password: Option<&str>,
        dbname: &str,
        sql: &str,
    ) -> Result<String, LaunchError> {
        let conninfo = format!(
            "host={} port={} user={} dbname={}",
            self.host(),
            self.port,
            conf::conninfo_value(user),
            conf::conninfo_value(dbname)
        );
        self.run_psql(&conninfo, password, sql)
    }

    // ----- internals used by Cluster -------------------------------------------------

    pub(crate) fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    pub(crate) fn set_primary_conninfo(&mut self, conninfo: Option<String>) {
        self.primary_conninfo = conninfo;
    }

    /// A libpq conninfo reaching this instance over its unix socket as the superuser.
    pub(crate) fn replication_conninfo(&self, application_name: &str) -> String {
        format!(
            "host={} port={} user={} application_name={}",
            conf::conninfo_value(&self.socket_dir.to_string_lossy()),
            self.port,
            conf::conninfo_value(&self.ctx.user),
            conf::conninfo_value(application_name)
        )
    }

    /// Creates the instance directory and socket directory, owned by the PostgreSQL user.
    pub(crate) fn prepare_dirs(&self) -> Result<(), LaunchError> {
        for d in [&self.dir, &self.socket_dir] {
            os::create_private_dir(d)?;
            self.ctx.run_as.chown(d)?;
        }
        Ok(())
    }

    pub(crate) fn has_data(&self) -> bool {
        self.data_dir.join("PG_VERSION").is_file()
    }

    pub(crate) fn is_standby_dir(&self) -> bool {
        self.data_dir.join("standby.signal").is_file()
    }

    pub(crate) fn remove_data(&self) -> Result<(), LaunchError> {
        match fs::remove_dir_all(&self.data_dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LaunchError::io(
                format!("removing {}", self.data_dir.display()),
                e,
            )),
        }
    }

    /// Removes the socket directory when it lives outside the instance directory.
    pub(crate) fn remove_external_socket_dir(&self) {
        if self.socket_dir_is_external {
            let _ = fs::remove_dir_all(&self.socket_dir);
        }
    }

    /// Checks that the data directory was made by the same major version as the binaries.
    pub(crate) fn check_version(&self, major: u32) -> Result<(), LaunchError> {
        let found = fs::read_to_string(self.data_dir.join("PG_VERSION")).map_err(|e| {
            LaunchError::io(format!("reading {}/PG_VERSION", self.data_dir.display()), e)
        })?;
        let found = found.trim();
        if found == major.to_string() {
            return Ok(());
        }
        Err(LaunchError::Setup(format!(
            "the data directory {} was created by PostgreSQL {found}, but the binaries in {} are \
             PostgreSQL {major}: upgrade it with pg_upgrade, point PG_BINDIR at PostgreSQL {found}'s \
             binaries, or move the directory away to start afresh",
            self.data_dir.display(),
            self.ctx.bins.bindir().display()
        )))
    }

    /// `initdb` a new data directory for the cluster's superuser (and password).
    pub(crate) fn initdb(&self) -> Result<(), LaunchError> {
        log::info!("{}: initdb {}", self.name, self.data_dir.display());
        let mut cmd = self
            .ctx
            .run_as
            .command(&self.ctx.bins.program("initdb"), &self.dir);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .arg("-U")
            .arg(&self.ctx.user)
            .args(["-E", "UTF8", "--locale=C", "-A", "trust"]);
        if self.ctx.fast {
            cmd.arg("--no-sync");
        }
        let pwfile = self.dir.join(".initdb-pwfile");
        if let Some(pw) = &self.ctx.password {
            write_private_file(&pwfile, &format!("{pw}\n"), self.ctx.run_as)?;
            cmd.arg(format!("--pwfile={}", pwfile.display()));
        }
        let result = os::run(cmd, &format!("initdb for {}", self.name));
        let _ = fs::remove_file(&pwfile);
        result.map(|_| ())
    }

    /// Copies `upstream_conninfo`'s server into a fresh data directory and marks it a standby.
    pub(crate) fn basebackup(&self, upstream_conninfo: &str) -> Result<(), LaunchError> {
        log::info!(
            "{}: pg_basebackup into {}",
            self.name,
            self.data_dir.display()
        );
        self.remove_data()?;
        let mut cmd = self
            .ctx
            .run_as
            .command(&self.ctx.bins.program("pg_basebackup"), &self.dir);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .arg("-d")
            .arg(upstream_conninfo)
            .args(["-X", "stream", "-c", "fast"]);
        if self.ctx.fast {
            cmd.arg("--no-sync");
        }
        os::run(cmd, &format!("pg_basebackup for {}", self.name))?;
        write_private_file(&self.data_dir.join("standby.signal"), "", self.ctx.run_as)
    }

    /// Writes the managed settings file and pg_hba.conf, and makes sure postgresql.conf
    /// includes the former.
    pub(crate) fn write_config(&self) -> Result<(), LaunchError> {
        let main_conf = self.data_dir.join("postgresql.conf");
        let text = fs::read_to_string(&main_conf)
            .map_err(|e| LaunchError::io(format!("reading {}", main_conf.display()), e))?;
        if !text.lines().any(|l| l.trim() == conf::INCLUDE_LINE) {
            let mut f = OpenOptions::new()
                .append(true)
                .open(&main_conf)
                .map_err(|e| LaunchError::io(format!("opening {}", main_conf.display()), e))?;
            writeln!(
                f,
                "\n# Added by calendula-pg: its managed settings.\n{}",
                conf::INCLUDE_LINE
            )
            .map_err(|e| LaunchError::io(format!("writing {}", main_conf.display()), e))?;
        }
        let settings = conf::postgresql_conf(&ConfParams {
            name: &self.name,
            port: self.port,
            socket_dir: &self.socket_dir,
            fast: self.ctx.fast,
            wal_keep: self.ctx.wal_keep,
            primary_conninfo: self.primary_conninfo.as_deref(),
        });
        write_private_file(
            &self.data_dir.join(conf::MANAGED_CONF),
            &settings,
            self.ctx.run_as,
        )?;
        write_private_file(
            &self.data_dir.join("pg_hba.conf"),
            &conf::pg_hba(self.ctx.password.is_some()),
            self.ctx.run_as,
        )
    }

    /// Must not be called while this object runs the server (callers check; it does not
    /// lock). When a postmaster not started by this object still runs on the data directory
    /// (an earlier run of ours that died without stopping it), stops it (fast); removes
    /// lock files left by dead processes (PostgreSQL handles those itself, except when the
    /// dead process is an unreaped zombie, which happens in containers whose PID 1 does
    /// not reap orphans).
    pub(crate) fn clear_stale_server(&self) -> Result<(), LaunchError> {
        let pidfile = self.data_dir.join("postmaster.pid");
        if let Some(pid) = self.pid_from_file() {
            if os::process_alive(pid) && is_postgres(pid) {
                log::warn!(
                    "{}: a PostgreSQL server (pid {pid}) from an earlier run still runs on {}; stopping it",
                    self.name,
                    self.data_dir.display()
                );
                let mut cmd = self
                    .ctx
                    .run_as
                    .command(&self.ctx.bins.program("pg_ctl"), &self.dir);
                cmd.arg("stop")
                    .arg("-D")
                    .arg(&self.data_dir)
                    .args(["-m", "fast", "-w", "-t"])
                    .arg(STOP_TIMEOUT.as_secs().to_string());
                os::run(
                    cmd,
                    &format!("pg_ctl stop of the stale server on {}", self.name),
                )?;
            }
            if self.pid_from_file().is_some_and(lock_is_stale) {
                let _ = fs::remove_file(&pidfile);
            }
        }
        // Socket lock files: ".s.PGSQL.<port>.lock", first line the pid.
        if let Ok(entries) = fs::read_dir(&self.socket_dir) {
            for e in entries.filter_map(Result::ok) {
                let name = e.file_name().to_string_lossy().to_string();
                if !(name.starts_with(".s.PGSQL.") && name.ends_with(".lock")) {
                    continue;
                }
                let pid = fs::read_to_string(e.path())
                    .ok()
                    .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()));
                if pid.is_some_and(lock_is_stale) {
                    let _ = fs::remove_file(e.path());
                    let _ = fs::remove_file(e.path().with_extension(""));
                }
            }
        }
        Ok(())
    }

    // ----- private -------------------------------------------------------------------

    fn lock(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The child if it is still running; forgets it when it has exited.
    fn running_child<'a>(guard: &'a mut MutexGuard<'_, Option<Child>>) -> Option<&'a mut Child> {
        let exited = match guard.as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => return None,
        };
        if exited {
            **guard = None;
        }
        guard.as_mut()
    }

    fn pid_from_file(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    fn start_once(&self, deadline: Instant) -> Result<(), StartFailure> {
        let fail = |err| StartFailure { err, retry: false };
        let mut guard = self.lock();
        if Self::running_child(&mut guard).is_some() {
            return Ok(());
        }
        self.clear_stale_server().map_err(fail)?;
        self.prepare_dirs().map_err(fail)?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(|e| {
                fail(LaunchError::io(
                    format!("opening {}", self.log_file.display()),
                    e,
                ))
            })?;
        self.ctx.run_as.chown(&self.log_file).map_err(fail)?;
        let log_offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let log_err = log
            .try_clone()
            .map_err(|e| fail(LaunchError::io("duplicating the log file handle", e)))?;

        let mut cmd = self
            .ctx
            .run_as
            .command(&self.ctx.bins.program("postgres"), &self.dir);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0);
        let started = Instant::now();
        let child = cmd.spawn().map_err(|e| {
            fail(LaunchError::io(
                format!("starting postgres for {}", self.name),
                e,
            ))
        })?;
        log::debug!(
            "{}: postmaster pid {} on port {}",
            self.name,
            child.id(),
            self.port
        );
        *guard = Some(child);

        let mut pause = Duration::from_millis(20);
        loop {
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
            let exited = match guard.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Ok(None)) => None,
                Some(Err(e)) => Some(format!("cannot wait for it: {e}")),
                None => Some("it vanished".into()),
            };
            if let Some(status) = exited {
                *guard = None;
                let tail = self.log_tail(log_offset);
                if tail.contains("Address already in use") {
                    return Err(fail(LaunchError::PortInUse {
                        instance: self.name.clone(),
                        port: self.port,
                    }));
                }
                // A previous postmaster's backends are still exiting (after a kill), or its
                // lock is still being released: this clears up by itself.
                let retry = tail.contains("pre-existing shared memory block")
                    || (tail.contains("lock file") && tail.contains("already exists"));
                return Err(StartFailure {
                    err: self.start_error(format!("postgres exited ({status})"), tail),
                    retry,
                });
            }
            match self.pg_isready() {
                Ok(0) => {
                    log::info!(
                        "{}: accepting connections on 127.0.0.1:{} (pid {}, {:.2}s)",
                        self.name,
                        self.port,
                        guard.as_ref().map_or(0, |c| c.id()),
                        started.elapsed().as_secs_f64()
                    );
                    return Ok(());
                }
                Ok(1 | 2) => {}
                Ok(code) => {
                    drop(guard);
                    let _ = self.stop_immediate();
                    return Err(fail(self.start_error(
                        format!("pg_isready exited with {code} (invalid parameters)"),
                        self.log_tail(log_offset),
                    )));
                }
                Err(e) => {
                    drop(guard);
                    let _ = self.stop_immediate();
                    return Err(fail(e));
                }
            }
            if Instant::now() >= deadline {
                drop(guard);
                let _ = self.stop_immediate();
                return Err(fail(self.start_error(
                    format!(
                        "not accepting connections after {:.0}s",
                        started.elapsed().as_secs_f64()
                    ),
                    self.log_tail(log_offset),
                )));
            }
        }
    }

    fn start_error(&self, reason: String, log_tail: String) -> LaunchError {
        LaunchError::Start {
            instance: self.name.clone(),
            reason,
            log: self.log_file.clone(),
            log_tail,
        }
    }

    /// pg_isready's exit code: 0 accepting, 1 rejecting (starting up), 2 no response,
    /// 3 no attempt (bad parameters).
    fn pg_isready(&self) -> Result<i32, LaunchError> {
        let mut cmd = self
            .ctx
            .run_as
            .command(&self.ctx.bins.program("pg_isready"), &self.dir);
        cmd.arg("-q")
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-t", "2", "-d", "postgres", "-U"])
            .arg(&self.ctx.user)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = cmd
            .status()
            .map_err(|e| LaunchError::io("running pg_isready", e))?;
        Ok(status.code().unwrap_or(2))
    }

    fn stop_with(&self, signal: i32, timeout_after: Duration) -> Result<(), LaunchError> {
        let mut guard = self.lock();
        let Some(child) = Self::running_child(&mut guard) else {
            return Ok(());
        };
        let pid = child.id();
        let how = if signal == libc::SIGINT {
            "fast"
        } else {
            "immediate"
        };
        log::info!("{}: stopping ({how}, pid {pid})", self.name);
        let mut steps = vec![(signal, timeout_after)];
        if signal != libc::SIGQUIT {
            steps.push((libc::SIGQUIT, Duration::from_secs(10)));
        }
        steps.push((libc::SIGKILL, Duration::from_secs(10)));
        for (i, &(sig, wait)) in steps.iter().enumerate() {
            if i > 0 {
                log::warn!(
                    "{}: postmaster {pid} did not stop in time; escalating with signal {sig}",
                    self.name
                );
            }
            let _ = os::send_signal(pid, sig);
            let deadline = Instant::now() + wait;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => {
                        *guard = None;
                        return Ok(());
                    }
                    Ok(None) => {}
                    Err(e) => return Err(LaunchError::io(format!("waiting for {}", self.name), e)),
                }
                if Instant::now() >= deadline {
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
        Err(timeout(
            format!("{} (pid {pid}) to stop", self.name),
            timeout_after,
        ))
    }

    fn run_psql(
        &self,
        conninfo: &str,
        password: Option<&str>,
        sql: &str,
    ) -> Result<String, LaunchError> {
        let mut cmd = self
            .ctx
            .run_as
            .command(&self.ctx.bins.program("psql"), &self.dir);
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(conninfo)
            .args(["-f", "-"])
            .env("PGCONNECT_TIMEOUT", "10")
            // No ~/.pgpass (HOME is the instance dir); a missing file is silently ignored.
            .env("PGPASSFILE", self.dir.join(".no-pgpass"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(pw) = password {
            cmd.env("PGPASSWORD", pw);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| LaunchError::io("running psql", e))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let out = thread::scope(|s| {
            s.spawn(move || {
                let _ = stdin.write_all(sql.as_bytes());
                // dropping stdin closes it: psql sees EOF
            });
            child.wait_with_output()
        })
        .map_err(|e| LaunchError::io("waiting for psql", e))?;
        if !out.status.success() {
            return Err(os::command_error(&format!("psql on {}", self.name), &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The log written since `offset`: its last 40 lines.
    fn log_tail(&self, offset: u64) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(&self.log_file) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let from = offset.max(len.saturating_sub(64 * 1024));
            if f.seek(SeekFrom::Start(from)).is_ok() {
                let mut bytes = Vec::new();
                let _ = f.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        if tail.trim().is_empty() {
            "(the log is empty)".to_string()
        } else {
            tail
        }
    }
}

impl Drop for Instance {
    /// Safety net: the cluster stops its instances first; a still-running postmaster here
    /// is stopped immediately rather than left behind. Never panics.
    fn drop(&mut self) {
        if self.is_running() {
            if let Err(e) = self.stop_immediate() {
                log::warn!("{}: stopping on drop: {e}", self.name);
            }
        }
    }
}

/// Whether a lock file (postmaster.pid, socket lock) naming `pid` must be removed by us:
/// PostgreSQL removes it itself when no process has that pid, but takes an unreaped
/// zombie or an unrelated process that reused the pid for a running postmaster.
fn lock_is_stale(pid: u32) -> bool {
    if pid == std::process::id() {
        return false; // PostgreSQL ignores its parent's pid itself
    }
    let exists = os::process_exists(pid);
    exists && (!os::process_alive(pid) || !is_postgres(pid))
}

fn is_postgres(pid: u32) -> bool {
    os::process_cmdline(pid).is_none_or(|c| c.contains("postgres") || c.contains("postmaster"))
}

/// `dir/run`, unless the socket path would exceed the ~107-byte unix socket path limit:
/// then a per-instance directory under the system temp dir.
fn socket_dir_for(dir: &Path) -> (PathBuf, bool) {
    let local = dir.join("run");
    // ".s.PGSQL.65535" plus the separator is 15 bytes; sun_path holds 107 plus NUL.
    if local.as_os_str().len() + 15 <= 100 {
        return (local, false);
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    (
        std::env::temp_dir().join(format!("calendula-pg-sock-{:016x}", h.finish())),
        true,
    )
}

/// Writes a 0600 file owned by the PostgreSQL user.
fn write_private_file(path: &Path, contents: &str, run_as: RunAs) -> Result<(), LaunchError> {
    fs::write(path, contents)
        .map_err(|e| LaunchError::io(format!("writing {}", path.display()), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| LaunchError::io(format!("chmod {}", path.display()), e))?;
    run_as.chown(path)
}

fn timeout(what: String, limit: Duration) -> LaunchError {
    LaunchError::Timeout {
        what,
        secs: limit.as_secs_f64(),
    }
}

/// Polls `cond` every 50 ms until it holds or `limit` passes.
pub(crate) fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_get_an_external_socket_dir() {
        let (short, ext) = socket_dir_for(Path::new("/tmp/x/primary"));
        assert_eq!(short, Path::new("/tmp/x/primary/run"));
        assert!(!ext);
        let long = PathBuf::from(format!("/tmp/{}/primary", "d".repeat(120)));
        let (dir, ext) = socket_dir_for(&long);
        assert!(ext);
        assert!(dir.as_os_str().len() + 15 <= 100, "{}", dir.display());
    }
}
