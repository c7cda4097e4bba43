//! Logging with fern: `text` (`[time] [<TAB>LEVEL] [ target ] message<TAB>key:value ...`) or
//! `json` (`{"time","level","logger","text","ctx","hostname"}`) lines, to stdout and/or a
//! size-rotated file, with per-target levels. Secrets are never passed to a log call: the
//! types that hold them (`Secret`, session ids) print as `***`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use calendula_core::config_types::null_as_default;
use calendula_core::ConfigProblem;
use log::kv::{self, VisitSource};
use log::{LevelFilter, Record};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<LogLevel> for LevelFilter {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Off => LevelFilter::Off,
            LogLevel::Error => LevelFilter::Error,
            LogLevel::Warn => LevelFilter::Warn,
            LogLevel::Info => LevelFilter::Info,
            LogLevel::Debug => LevelFilter::Debug,
            LogLevel::Trace => LevelFilter::Trace,
        }
    }
}

/// The `logging` section.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    pub format: LogFormat,
    /// Level for every target not listed in `targets`.
    pub level: LogLevel,
    pub stdout: bool,
    /// Log file path; null = no file.
    #[schemars(length(min = 1))]
    pub file: Option<String>,
    /// The file is rotated when it would grow past this many bytes.
    #[schemars(range(min = 1024))]
    pub max_bytes: u64,
    /// Rotated files kept (`file.1` .. `file.N`).
    pub backup_count: u32,
    /// Per-target levels, e.g. `{calendula::db: debug, rocket: warn}`.
    #[serde(deserialize_with = "null_as_default")]
    #[schemars(with = "Option<BTreeMap<String, LogLevel>>")]
    pub targets: BTreeMap<String, LogLevel>,
    /// `DEV_MODE=1`: stdout gets text lines whatever `format` says (the file keeps it).
    #[serde(skip)]
    #[schemars(skip)]
    pub stdout_text: bool,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: LogLevel::Info,
            stdout: true,
            file: None,
            max_bytes: 100 * 1024 * 1024,
            backup_count: 5,
            targets: BTreeMap::new(),
            stdout_text: false,
        }
    }
}

impl LoggingConfig {
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.max_bytes < 1024 {
            problems.push(ConfigProblem::new(
                "max_bytes",
                "expected at least 1024 bytes",
            ));
        }
        if let Some(problem) = self.file.as_deref().and_then(unusable_log_file) {
            problems.push(ConfigProblem::new("file", problem));
        }
        problems
    }
}

/// Why `path` cannot be the log file: not a path, a directory, under a file (missing
/// directories are created when it opens), an existing file that cannot be opened for
/// appending, or a directory that takes no new file (tried with a probe file of its own,
/// removed again: the log path itself is never created or removed here, it may be a link
/// or another server's log being rotated).
fn unusable_log_file(path: &str) -> Option<String> {
    let file = Path::new(path);
    if path.is_empty() || path.contains('\0') {
        return Some("expected a path or null".into());
    }
    if file.is_dir() {
        return Some(format!("{path} is a directory; expected a file path"));
    }
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let nearest_existing = parent.ancestors().find(|a| a.exists())?;
    if !nearest_existing.is_dir() {
        return Some(format!("{} is not a directory", nearest_existing.display()));
    }
    let cannot_open = |e: std::io::Error| Some(format!("cannot open log file {path}: {e}"));
    match std::fs::metadata(file) {
        // A FIFO or a device would block or misbehave when probed: left to the server.
        Ok(meta) if !meta.is_file() => None,
        Ok(_) => std::fs::OpenOptions::new()
            .append(true)
            .open(file)
            .err()
            .and_then(cannot_open),
        // A dangling link, or a directory still to be created: left to the server.
        Err(_) if file.symlink_metadata().is_ok() || nearest_existing != parent => None,
        Err(_) => {
            let probe = parent.join(format!(".calendula-probe-{:016x}", rand::random::<u64>()));
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe);
            match created {
                Ok(_) => {
                    let _ = std::fs::remove_file(&probe);
                    None
                }
                Err(e) => cannot_open(e),
            }
        }
    }
}

/// Targets that are chatty at `info` and whose defaults we lower unless configured.
const QUIET_TARGETS: [&str; 3] = ["rocket", "hyper", "tokio_postgres"];

/// Installs the global logger. Fails if the log file cannot be opened or a logger exists.
pub fn init(config: &LoggingConfig) -> Result<(), String> {
    let hostname = hostname();
    let mut dispatch = fern::Dispatch::new()
        .level(config.level.into())
        .filter(|metadata| !is_rocket_narration(metadata));
    for (target, level) in target_levels(config) {
        dispatch = dispatch.level_for(target, level);
    }
    if config.stdout {
        let format = if config.stdout_text {
            LogFormat::Text
        } else {
            config.format
        };
        dispatch = dispatch.chain(lines(format, hostname.clone()).chain(io::stdout()));
    }
    if let Some(path) = &config.file {
        let file = RotatingFile::open(PathBuf::from(path), config.max_bytes, config.backup_count)
            .map_err(|e| format!("cannot open log file {path}: {e}"))?;
        let file = fern::Output::writer(Box::new(file), "\n");
        dispatch = dispatch.chain(lines(config.format, hostname).chain(file));
    }
    dispatch.apply().map_err(|e| e.to_string())
}

/// An output's records as `format` lines.
fn lines(format: LogFormat, hostname: String) -> fern::Dispatch {
    fern::Dispatch::new().format(move |out, message, record| {
        let line = match format {
            LogFormat::Text => text_line(message, record),
            LogFormat::Json => json_line(message, record, &hostname),
        };
        out.finish(format_args!("{line}"))
    })
}

/// The levels set per target: the configured ones, and [`QUIET_TARGETS`] at most at `warn`
/// (never above the global `level`: `level: error` silences their warnings too).
fn target_levels(config: &LoggingConfig) -> Vec<(String, LevelFilter)> {
    let quiet = LevelFilter::Warn.min(config.level.into());
    let defaults = QUIET_TARGETS
        .into_iter()
        .filter(|target| !config.targets.contains_key(*target))
        .map(|target| (target.to_owned(), quiet));
    let configured = config
        .targets
        .iter()
        .map(|(target, level)| (target.clone(), LevelFilter::from(*level)));
    defaults.chain(configured).collect()
}

/// Rocket narrates each request under `<module>::_` targets: a failed guard with its error
/// (which quotes what the client sent, a password given as a number included), a URI no
/// route serves with its query. `rocket::server` adds, below `warn`, each request with its
/// query (`info`) and its headers, session ids included (`debug`). Our one request line
/// says what happened without them, whatever level `rocket` is given.
fn is_rocket_narration(metadata: &log::Metadata<'_>) -> bool {
    let target = metadata.target();
    target == "_"
        || target.ends_with("::_")
        || (target == "rocket::server" && metadata.level() > log::Level::Warn)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `[time] [<TAB>LEVEL] [ target ] message<TAB>key:value ...`, on one line: line breaks in
/// the message or a value are written `\n` (a record is one line, whatever it quotes).
pub fn text_line(message: &std::fmt::Arguments<'_>, record: &Record<'_>) -> String {
    let mut line = format!(
        "[{}] [\t{}] [ {} ] {}",
        now(),
        record.level(),
        record.target(),
        message
    );
    for (key, value) in key_values(record) {
        line.push_str(&format!("\t{key}:{value}"));
    }
    if line.contains(['\n', '\r']) {
        line = line.replace('\r', "\\r").replace('\n', "\\n");
    }
    line
}

/// `{"time","level","logger","text","ctx","hostname"}`
pub fn json_line(message: &std::fmt::Arguments<'_>, record: &Record<'_>, hostname: &str) -> String {
    let ctx: serde_json::Map<String, serde_json::Value> = key_values(record)
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    serde_json::json!({
        "time": now(),
        "level": record.level().as_str(),
        "logger": record.target(),
        "text": message.to_string(),
        "ctx": ctx,
        "hostname": hostname,
    })
    .to_string()
}

fn key_values(record: &Record<'_>) -> Vec<(String, String)> {
    struct Collect(Vec<(String, String)>);
    impl<'kvs> VisitSource<'kvs> for Collect {
        fn visit_pair(
            &mut self,
            key: kv::Key<'kvs>,
            value: kv::Value<'kvs>,
        ) -> Result<(), kv::Error> {
            self.0.push((key.to_string(), value.to_string()));
            Ok(())
        }
    }
    let mut collect = Collect(Vec::new());
    let _ = record.key_values().visit(&mut collect);
    collect.0
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// A log file that is renamed to `path.1` (shifting older ones up to `path.N`) when the
/// next line would take it past `max_bytes`.
struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backup_count: u32,
    file: File,
    written: u64,
    /// fern writes a record and its newline separately: rotate only between records.
    at_line_start: bool,
}

impl RotatingFile {
    fn open(path: PathBuf, max_bytes: u64, backup_count: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            max_bytes,
            backup_count,
            file,
            written,
            at_line_start: true,
        })
    }

    fn backup(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        name.into()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.backup_count == 0 {
            self.file.set_len(0)?;
        } else {
            for n in (1..self.backup_count).rev() {
                let from = self.backup(n);
                if from.exists() {
                    fs::rename(&from, self.backup(n + 1))?;
                }
            }
            fs::rename(&self.path, self.backup(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        }
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.at_line_start
            && self.written > 0
            && self.written + buf.len() as u64 > self.max_bytes
        {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if n > 0 {
            self.at_line_start = buf[n - 1] == b'\n';
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_line(format: LogFormat) -> String {
        let args = format_args!("request done");
        let kvs: [(&str, kv::Value<'_>); 2] = [
            ("status", kv::Value::from(200u16)),
            ("path", kv::Value::from("/health")),
        ];
        let record = Record::builder()
            .args(args)
            .level(log::Level::Info)
            .target("calendula::http")
            .key_values(&kvs)
            .build();
        match format {
            LogFormat::Text => text_line(record.args(), &record),
            LogFormat::Json => json_line(record.args(), &record, "host-1"),
        }
    }

    #[test]
    fn chatty_targets_are_quiet_but_never_louder_than_the_level() {
        let levels = |level: LogLevel, targets: &[(&str, LogLevel)]| {
            let config = LoggingConfig {
                level,
                targets: targets.iter().map(|(t, l)| (t.to_string(), *l)).collect(),
                ..LoggingConfig::default()
            };
            target_levels(&config)
        };
        let rocket = |levels: Vec<(String, LevelFilter)>| {
            levels
                .into_iter()
                .find(|(t, _)| t == "rocket")
                .map(|(_, l)| l)
        };
        assert_eq!(rocket(levels(LogLevel::Info, &[])), Some(LevelFilter::Warn));
        assert_eq!(
            rocket(levels(LogLevel::Error, &[])),
            Some(LevelFilter::Error)
        );
        assert_eq!(rocket(levels(LogLevel::Off, &[])), Some(LevelFilter::Off));
        let configured = levels(LogLevel::Error, &[("rocket", LogLevel::Debug)]);
        assert_eq!(rocket(configured), Some(LevelFilter::Debug));
    }

    #[test]
    fn text_line_has_the_spec_layout() {
        let line = record_line(LogFormat::Text);
        let rest = line.strip_prefix('[').unwrap();
        let (time, rest) = rest.split_once("] ").unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
        assert_eq!(
            rest,
            "[\tINFO] [ calendula::http ] request done\tstatus:200\tpath:/health"
        );
    }

    #[test]
    fn a_text_record_is_one_line() {
        let record = Record::builder()
            .args(format_args!("first\nsecond\r\nthird"))
            .level(log::Level::Warn)
            .target("calendula::db")
            .build();
        let line = text_line(record.args(), &record);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.ends_with("] first\\nsecond\\r\\nthird"), "{line}");
    }

    #[test]
    fn json_line_has_the_spec_fields() {
        let value: serde_json::Value = serde_json::from_str(&record_line(LogFormat::Json)).unwrap();
        let object = value.as_object().unwrap();
        let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["ctx", "hostname", "level", "logger", "text", "time"]);
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["logger"], "calendula::http");
        assert_eq!(value["text"], "request done");
        assert_eq!(value["ctx"]["status"], "200");
        assert_eq!(value["hostname"], "host-1");
    }

    #[test]
    fn file_rotates_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calendula.log");
        let mut file = RotatingFile::open(path.clone(), 100, 2).unwrap();
        for _ in 0..10 {
            file.write_all(&[b'x'; 39]).unwrap();
            file.write_all(b"\n").unwrap();
        }
        assert!(fs::metadata(&path).unwrap().len() <= 100);
        assert!(path.with_extension("log.1").exists());
        assert!(path.with_extension("log.2").exists());
        assert!(!path.with_extension("log.3").exists());
        for file in [path.clone(), path.with_extension("log.1")] {
            let text = fs::read_to_string(&file).unwrap();
            assert!(
                text.ends_with('\n') && !text.starts_with('\n'),
                "records split across files"
            );
        }
    }
}
