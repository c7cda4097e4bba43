//! Finding the installed PostgreSQL server binaries.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::LaunchError;

/// The programs the launcher runs; a directory qualifies only when it has all of them.
pub const REQUIRED_PROGRAMS: &[&str] = &[
    "initdb",
    "postgres",
    "pg_ctl",
    "pg_basebackup",
    "pg_isready",
    "psql",
];

/// Environment variable naming the directory of the PostgreSQL binaries. When set it is
/// the only place looked at.
pub const PG_BINDIR_ENV: &str = "PG_BINDIR";

/// A directory holding the PostgreSQL server programs (`initdb`, `postgres`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    bindir: PathBuf,
}

/// One place to look for binaries, with a note on where it came from (for the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) origin: String,
    pub(crate) dir: PathBuf,
}

impl Candidate {
    pub(crate) fn new(origin: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        Candidate {
            origin: origin.into(),
            dir: dir.into(),
        }
    }

    fn missing(&self) -> Vec<&'static str> {
        REQUIRED_PROGRAMS
            .iter()
            .copied()
            .filter(|p| !is_executable(&self.dir.join(p)))
            .collect()
    }
}

impl PgBinaries {
    /// Finds the binaries: `$PG_BINDIR` when set (and then nothing else), otherwise
    /// `pg_config --bindir` when `pg_config` is on PATH and its bindir is complete,
    /// otherwise the highest version of `/usr/lib/postgresql/*/bin` (Debian/Ubuntu),
    /// `/usr/pgsql-*/bin` (RHEL/Fedora PGDG), then `/usr/local/pgsql/bin`.
    ///
    /// The error names every place searched, what was missing, and what to install or
    /// configure.
    pub fn locate() -> Result<Self, LaunchError> {
        locate_in(&default_candidates())
    }

    /// Uses `bindir` as is, after checking it holds every required program.
    pub fn from_bindir(bindir: impl Into<PathBuf>) -> Result<Self, LaunchError> {
        locate_in(&[Candidate::new("the given directory", bindir)])
    }

    /// The directory holding the programs.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The full path of one program in the directory (e.g. `"pg_rewind"`).
    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// The server version as printed by `postgres --version`, e.g. `"15.18"`.
    pub fn version(&self) -> Result<String, LaunchError> {
        let out = Command::new(self.program("postgres"))
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| LaunchError::io("running postgres --version", e))?;
        if !out.status.success() {
            return Err(crate::os::command_error("postgres --version", &out));
        }
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .ok_or_else(|| {
                LaunchError::Setup(format!("cannot parse `postgres --version` output: {text}"))
            })
    }

    /// The major version (`15` for `"15.18"`).
    pub fn major_version(&self) -> Result<u32, LaunchError> {
        let v = self.version()?;
        v.split(['.', ' ', 'b', 'r'])
            .next()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| LaunchError::Setup(format!("cannot parse PostgreSQL version {v:?}")))
    }
}

/// Tries the candidates in order and returns the first complete one.
pub(crate) fn locate_in(candidates: &[Candidate]) -> Result<PgBinaries, LaunchError> {
    let mut tried = String::new();
    for c in candidates {
        let missing = c.missing();
        if missing.is_empty() {
            log::debug!(
                "using PostgreSQL binaries in {} ({})",
                c.dir.display(),
                c.origin
            );
            return Ok(PgBinaries {
                bindir: c.dir.clone(),
            });
        }
        let _ = write!(
            tried,
            "\n  - {} ({}): missing {}",
            c.dir.display(),
            c.origin,
            missing.join(", ")
        );
    }
    if tried.is_empty() {
        tried = "\n  - (no pg_config on PATH, no /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin or /usr/local/pgsql/bin)"
            .to_string();
    }
    Err(LaunchError::BinariesNotFound(format!(
        "PostgreSQL server binaries not found (need {}). Looked in:{tried}\n\
         To fix, either:\n  \
         * install the PostgreSQL server: `apt-get install postgresql` on Debian/Ubuntu \
         (`dnf install postgresql-server` on Fedora/RHEL, `brew install postgresql` on macOS); or\n  \
         * set {PG_BINDIR_ENV} to the directory holding initdb and postgres (e.g. /usr/lib/postgresql/15/bin); or\n  \
         * use an existing PostgreSQL server instead of the embedded one: set database.hosts in config.yaml",
        REQUIRED_PROGRAMS.join(", ")
    )))
}

/// The default search order (see [`PgBinaries::locate`]).
pub(crate) fn default_candidates() -> Vec<Candidate> {
    if let Some(dir) = std::env::var_os(PG_BINDIR_ENV).filter(|v| !v.is_empty()) {
        return vec![Candidate::new(
            format!("{PG_BINDIR_ENV} environment variable"),
            dir,
        )];
    }
    let mut out = Vec::new();
    if let Some(dir) = pg_config_bindir() {
        out.push(Candidate::new("pg_config --bindir", dir));
    }
    for (pattern_dir, prefix, suffix) in [
        ("/usr/lib/postgresql", "", "bin"),
        ("/usr", "pgsql-", "bin"),
    ] {
        for dir in versioned_dirs(Path::new(pattern_dir), prefix) {
            out.push(Candidate::new("installed version", dir.join(suffix)));
        }
    }
    out.push(Candidate::new(
        "default source install",
        "/usr/local/pgsql/bin",
    ));
    // Keep only candidates that exist, except that pg_config's is worth reporting.
    out.retain(|c| c.dir.is_dir() || c.origin.starts_with("pg_config"));
    out.dedup_by(|a, b| a.dir == b.dir);
    out
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Subdirectories of `parent` named `<prefix><version>`, highest version first.
pub(crate) fn versioned_dirs(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let version = name.strip_prefix(prefix)?;
            let key: Option<Vec<u32>> = version.split('.').map(|p| p.parse().ok()).collect();
            Some((key?, e.path()))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_dir_gives_an_actionable_error() {
        let empty = tempfile::tempdir().unwrap();
        let err = locate_in(&[Candidate::new(
            "PG_BINDIR environment variable",
            empty.path(),
        )])
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LaunchError::BinariesNotFound(_)));
        for needle in [
            "apt-get install postgresql",
            "PG_BINDIR",
            "database.hosts",
            "config.yaml",
            "initdb",
            &empty.path().display().to_string(),
        ] {
            assert!(msg.contains(needle), "{needle:?} not in: {msg}");
        }
    }

    #[test]
    fn no_candidates_still_explains() {
        let msg = locate_in(&[]).unwrap_err().to_string();
        assert!(msg.contains("apt-get install postgresql"), "{msg}");
    }

    #[test]
    fn first_complete_candidate_wins() {
        let empty = tempfile::tempdir().unwrap();
        let full = tempfile::tempdir().unwrap();
        for p in REQUIRED_PROGRAMS {
            let path = full.path().join(p);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let found = locate_in(&[
            Candidate::new("a", empty.path()),
            Candidate::new("b", full.path()),
        ])
        .unwrap();
        assert_eq!(found.bindir(), full.path());
        // A non-executable file does not count.
        std::fs::set_permissions(
            full.path().join("psql"),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
        let msg = locate_in(&[Candidate::new("b", full.path())])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("missing psql"), "{msg}");
    }

    #[test]
    fn versions_sort_numerically() {
        let root = tempfile::tempdir().unwrap();
        for v in ["9.6", "15", "10", "common", "16"] {
            std::fs::create_dir(root.path().join(v)).unwrap();
        }
        let names: Vec<String> = versioned_dirs(root.path(), "")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, ["16", "15", "10", "9.6"]);
    }

    #[test]
    fn locate_finds_this_machine_s_binaries() {
        // The machine this project targets has PostgreSQL installed.
        let bins = PgBinaries::locate().unwrap();
        assert!(bins.program("initdb").exists());
        assert!(bins.major_version().unwrap() >= 10);
    }
}
