//! The `calendula` binary's configuration handling: `config check` and `config schema`,
//! exit code 2 with one line per problem naming file and key path.

use std::path::Path;
use std::process::{Command, Output};

fn calendula(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calendula"))
        .args(args)
        .env_remove("DB_PASSWORD")
        .env_remove("DEV_MODE")
        .output()
        .expect("run calendula")
}

fn check(yaml: &str) -> (i32, String) {
    check_with_rocket_toml(yaml, None)
}

/// `config check` of `yaml`, reading `rocket_toml` as Rocket.toml when given
/// (`ROCKET_CONFIG`), otherwise the repository's.
fn check_with_rocket_toml(yaml: &str, rocket_toml: Option<&str>) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_calendula"));
    command
        .args(["--config", path.to_str().unwrap(), "config", "check"])
        .env_remove("DB_PASSWORD")
        .env_remove("DEV_MODE");
    if let Some(toml) = rocket_toml {
        let rocket = dir.path().join("Rocket.toml");
        std::fs::write(&rocket, toml).unwrap();
        command.env("ROCKET_CONFIG", rocket);
    }
    let out = command.output().expect("run calendula");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `config check` of `yaml` fails (exit 2) with a line containing each of `expected`.
fn assert_reported(yaml: &str, expected: &[&str]) {
    let (code, stderr) = check(yaml);
    assert_eq!(code, 2, "{stderr}");
    for expected in expected {
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
}

#[test]
fn shipped_config_is_valid() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.yaml");
    let out = calendula(&["--config", shipped.to_str().unwrap(), "config", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn yaml_merge_keys_are_applied() {
    let (code, stderr) = check(
        "modules:\n  notificator:\n    channels:\n      slack: &hook {sender: webhook, url: 'https://hooks.example/a'}\n      \
         sms:\n        <<: *hook\n        url: 'https://sms.example/send'\n",
    );
    assert_eq!(code, 0, "{stderr}");
}

/// `key:` with nothing after it (a nested section whose settings are all commented out)
/// means its defaults, as an empty top-level section does.
#[test]
fn empty_nested_sections_mean_their_defaults() {
    let (code, stderr) = check(
        "database:\n  embedded:\nlogging:\n  targets:\nmodules:\n  notificator:\n    channels:\n",
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn empty_config_means_all_defaults() {
    assert_eq!(check("").0, 0);
}

#[test]
fn unknown_keys_are_reported_with_their_path() {
    let (code, stderr) = check("colour: blue\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("config.yaml: colour: unknown key"),
        "{stderr}"
    );

    let (code, stderr) = check("database:\n  hostz: []\n");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("database.hostz") && stderr.contains("unknown field"),
        "{stderr}"
    );

    let (code, stderr) = check("modules:\n  notificator:\n    poll_intervall: 1s\n");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("modules.notificator.poll_intervall"),
        "{stderr}"
    );

    let (code, stderr) = check("modules:\n  calendarsync: {}\n");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("modules.calendarsync: unknown module"),
        "{stderr}"
    );
}

#[test]
fn wrong_types_and_ranges_are_reported() {
    let (code, stderr) = check("modules:\n  notificator:\n    poll_interval: 5x\n");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("modules.notificator.poll_interval: invalid duration"),
        "{stderr}"
    );

    let (code, stderr) = check("database:\n  max_size: lots\n");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("database.max_size: invalid type"),
        "{stderr}"
    );

    let (code, stderr) = check("database:\n  master_as_replica_weight: 1.5\n");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("database.master_as_replica_weight: expected a probability"),
        "{stderr}"
    );
    // YAML's non-finite floats have no JSON form: they are quoted as written, not "null".
    assert_reported(
        "database:\n  master_as_replica_weight: .nan\nmodules:\n  notificator:\n    batch_size: -.inf\n",
        &[
            r#"database.master_as_replica_weight: invalid type: string ".nan", expected f64"#,
            r#"modules.notificator.batch_size: invalid type: string "-.inf", expected u32"#,
        ],
    );

    let (code, stderr) = check("modules:\n  auth:\n    session_ttl: 500ms\n");
    assert_eq!(code, 2);
    assert!(stderr.contains("modules.auth.session_ttl"), "{stderr}");
    // As the schema says, with a log file or without.
    assert_reported(
        "logging:\n  max_bytes: 300\n",
        &["logging.max_bytes: expected at least 1024 bytes"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = "database:\n  min_size: 0\n  max_size: 0\nlogging:\n  format: xml\nmodules:\n  auth:\n    enforce: maybe\n  notificator:\n    batch_size: 0\n";
    let (code, stderr) = check(yaml);
    assert_eq!(code, 2);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    for key in [
        "database.max_size",
        "logging.format",
        "modules.auth.enforce",
        "modules.notificator.batch_size",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains("config.yaml: ") && l.contains(key)),
            "{key} missing in {stderr}"
        );
    }
}

#[test]
fn schema_covers_core_and_modules() {
    let out = calendula(&["config", "schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON schema");
    let properties = &schema["properties"];
    for key in ["database", "logging", "limits", "modules"] {
        assert!(properties.get(key).is_some(), "{key} missing");
    }
    let modules = &properties["modules"]["anyOf"][0];
    assert!(
        modules["properties"].get("auth").is_some()
            && modules["properties"].get("notificator").is_some(),
        "{modules}"
    );
    assert_eq!(modules["additionalProperties"], false);
    // An empty section (every key commented out) is valid: all defaults.
    assert_eq!(check("database:\nmodules:\n  auth:\n").0, 0);
    for section in [
        &properties["database"],
        &properties["modules"]["anyOf"][0]["properties"]["auth"],
    ] {
        assert_eq!(section["anyOf"][1]["type"], "null", "{section}");
    }
}

#[test]
fn a_section_written_as_a_list_is_a_wrong_type() {
    let channel = "modules:\n  notificator:\n    channels:\n      slack: [webhook, 'https://hooks.example/x']\n";
    assert_reported(
        channel,
        &["modules.notificator.channels.slack: invalid type: sequence, expected a map"],
    );
    assert_reported(
        "database: []\nlogging:\n  targets: []\n",
        &[
            "database: invalid type: sequence, expected struct DatabaseConfig",
            "logging.targets: invalid type: sequence, expected a map",
        ],
    );
}

/// An editor validating against the schema flags the values `config check` rejects, where
/// JSON Schema can say so.
#[test]
fn schema_carries_the_ranges_config_check_enforces() {
    let out = calendula(&["config", "schema"]);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON schema");
    let definitions = &schema["definitions"];
    let smtp = &definitions["ChannelConfig"]["oneOf"][1]["properties"];
    let webhook = &definitions["ChannelConfig"]["oneOf"][2]["properties"];
    let telegram = &definitions["ChannelConfig"]["oneOf"][3]["properties"];
    let schema_of = |definition: &str, name: &str| &definitions[definition]["properties"][name];
    for (property, keyword, value) in [
        (schema_of("DatabaseConfig", "port"), "minimum", 1.0),
        (schema_of("DatabaseConfig", "port"), "maximum", 65535.0),
        (schema_of("DatabaseConfig", "max_size"), "minimum", 1.0),
        (schema_of("DatabaseConfig", "dbname"), "minLength", 1.0),
        (
            schema_of("DatabaseConfig", "master_as_replica_weight"),
            "maximum",
            1.0,
        ),
        (schema_of("EmbeddedConfig", "port"), "minimum", 1.0),
        (schema_of("EmbeddedConfig", "port"), "maximum", 65535.0),
        (schema_of("LoggingConfig", "file"), "minLength", 1.0),
        (schema_of("LoggingConfig", "max_bytes"), "minimum", 1024.0),
        (schema_of("EmbeddedConfig", "replicas"), "maximum", 8.0),
        (schema_of("LimitsConfig", "max_occurrences"), "minimum", 1.0),
        (schema_of("NotificatorConfig", "batch_size"), "minimum", 1.0),
        (
            schema_of("NotificatorConfig", "max_attempts"),
            "maximum",
            100.0,
        ),
        (&smtp["port"], "minimum", 1.0),
        (&smtp["port"], "maximum", 65535.0),
        (&smtp["host"], "minLength", 1.0),
        (&telegram["bot_token"], "minLength", 1.0),
    ] {
        assert_eq!(property[keyword], value, "{keyword} in {property}");
    }
    assert_eq!(webhook["url"]["pattern"], "^https?://");
    let channel_names = &schema_of("NotificatorConfig", "channels")["propertyNames"]["$ref"];
    let channel_enum = &definitions["Channel"]["enum"];
    assert_eq!(channel_names, "#/definitions/Channel");
    for name in ["sms", "email", "telegram", "slack"] {
        assert!(
            channel_enum.as_array().unwrap().contains(&name.into()),
            "{name} not in {channel_enum}"
        );
    }
}

#[test]
fn every_problem_in_one_section_gets_its_own_line() {
    let (code, stderr) = check(
        "database:\n  max_size: lots\n  hostz: []\n  timeout: 5x\nmodules:\n  notificator:\n    poll_intervall: 1s\n    max_attempts: many\n",
    );
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "database.max_size: invalid type",
        "database.hostz: unknown field",
        "database.timeout",
        "modules.notificator.poll_intervall: unknown field",
        "modules.notificator.max_attempts: invalid type",
    ] {
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
}

#[test]
fn problems_in_a_channel_entry_name_the_channel() {
    let notificator =
        |channels: &str| format!("modules:\n  notificator:\n    channels:\n{channels}");
    for (channels, expected) in [
        (
            "      email: {sender: smtp, from: cal@example.org}\n",
            "modules.notificator.channels.email: missing field `host`",
        ),
        (
            "      sms: {sender: pigeon}\n",
            "modules.notificator.channels.sms.sender: unknown variant `pigeon`",
        ),
        (
            "      slack: {sender: webhook, url: 'http://x', colour: red}\n",
            "modules.notificator.channels.slack.colour: unknown field `colour`",
        ),
        (
            "      telegram: {sender: log, colour: red}\n",
            "modules.notificator.channels.telegram.colour: unknown field `colour`",
        ),
        (
            "      fax: {sender: log}\n",
            "modules.notificator.channels.fax: unknown variant `fax`",
        ),
    ] {
        let (code, stderr) = check(&notificator(channels));
        assert_eq!(code, 2, "{channels}: {stderr}");
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
}

/// With `sender` first, each problem in a channel names its key, and every one is
/// reported.
#[test]
fn every_problem_in_a_channel_names_its_key() {
    assert_reported(
        "modules:\n  notificator:\n    channels:\n      email: {sender: smtp, host: h, from: a@b.c, tls: ssl, port: x, extra: 1}\n",
        &[
            "modules.notificator.channels.email.tls: unknown variant `ssl`",
            "modules.notificator.channels.email.port: invalid type",
            "modules.notificator.channels.email.extra: unknown field `extra`",
        ],
    );
}

/// A channel missing a field is taken out and the section read on: the other channels'
/// and the section's own problems are reported in the same run.
#[test]
fn a_bad_channel_does_not_hide_the_sections_other_problems() {
    assert_reported(
        "modules:\n  notificator:\n    poll_interval: 5x\n    batch_size: 0\n    channels:\n      \
         email: {sender: smtp}\n      slack: {sender: webhook}\n      fax: {sender: log}\n",
        &[
            "modules.notificator.poll_interval: invalid duration",
            "modules.notificator.batch_size: ",
            "modules.notificator.channels.email: missing field `host`",
            "modules.notificator.channels.slack: missing field `url`",
            "modules.notificator.channels.fax: unknown variant `fax`",
        ],
    );
    // A wrong required value, or sender, in a channel hides nothing either.
    assert_reported(
        "modules:\n  notificator:\n    batch_size: 0\n    max_attempts: 0\n    channels:\n      \
         sms: {sender: webhook, url: 5}\n      telegram: {sender: pigeon}\n",
        &[
            "modules.notificator.batch_size: ",
            "modules.notificator.max_attempts: ",
            "modules.notificator.channels.sms.url: invalid type: integer `5`",
            "modules.notificator.channels.telegram.sender: unknown variant `pigeon`",
        ],
    );
}

#[test]
fn ports_and_credentials_that_cannot_work_are_reported() {
    let (code, stderr) = check(
        "database:\n  port: 0\n  hosts: ['db1:0']\n  embedded: {port: 0}\nmodules:\n  notificator:\n    channels:\n      email: {sender: smtp, host: mail.example.org, port: 0, from: cal@example.org}\n      telegram: {sender: telegram, bot_token: ' '}\n",
    );
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "database.port: expected a port",
        "database.hosts[0]: invalid host",
        "database.embedded.port: expected a port",
        "modules.notificator.channels.email.port: expected a port",
        "modules.notificator.channels.telegram.bot_token: expected a bot token",
    ] {
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
}

#[test]
fn values_serving_would_fail_on_are_reported() {
    let log_dir = tempfile::tempdir().unwrap();
    let (code, stderr) = check(&format!(
        "database:\n  dbname: ''\n  user: ''\n  embedded: {{dir: ''}}\nlogging:\n  file: {}\n",
        log_dir.path().display()
    ));
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "database.dbname: expected a database name",
        "database.user: expected a user name",
        "database.embedded.dir: expected a directory path",
        "logging.file: ",
    ] {
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
    assert!(stderr.contains("is a directory"), "{stderr}");

    let plain_file = log_dir.path().join("plain");
    std::fs::write(&plain_file, "").unwrap();
    assert_reported(
        &format!(
            "database:\n  dbname: \"a\\0b\"\n  user: \"u\\nv\"\nlogging:\n  file: {}/logs/calendula.log\n",
            plain_file.display()
        ),
        &[
            "database.dbname: must not contain a NUL byte",
            "database.user: must not contain a line break with the embedded database",
            &format!("logging.file: {} is not a directory", plain_file.display()),
        ],
    );
    let (code, stderr) = check(&format!(
        "logging:\n  file: {}/not/yet/there.log\n",
        log_dir.path().display()
    ));
    assert_eq!(code, 0, "missing directories are created: {stderr}");
    // A file the server could not open (procfs takes no new files, even from root); one it
    // could is not left behind by the check.
    assert_reported(
        "logging:\n  file: /proc/calendula.log\n",
        &["logging.file: cannot open log file /proc/calendula.log"],
    );
    let new_log = log_dir.path().join("new.log");
    let (code, stderr) = check(&format!("logging:\n  file: {}\n", new_log.display()));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_dir(log_dir.path()).unwrap().count(),
        1,
        "only `plain`"
    );
    // A bare file name is in the working directory, checked too.
    let config = log_dir.path().join("relative.yaml");
    std::fs::write(&config, "logging:\n  file: calendula.log\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_calendula"))
        .args(["--config", config.to_str().unwrap(), "config", "check"])
        .current_dir("/proc")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("logging.file: cannot open log file calendula.log"),
        "{stderr}"
    );
    // A link is neither followed into creating its target nor removed; a FIFO is not
    // opened (nobody reads it: the check would hang).
    let target = log_dir.path().join("target.log");
    let link = log_dir.path().join("link.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = log_dir.path().join("fifo.log");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for file in [&link, &fifo] {
        let (code, stderr) = check(&format!("logging:\n  file: {}\n", file.display()));
        assert_eq!(code, 0, "{stderr}");
    }
    assert!(link.symlink_metadata().is_ok() && !target.exists());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_calendula"))
        .args(["--config", dir.path().join("config.yaml").to_str().unwrap()])
        .args(["config", "check"])
        .env("DB_PASSWORD", "line\nbreak")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("DB_PASSWORD (environment): must not contain a line break"),
        "{stderr}"
    );
    assert!(!stderr.contains("line\nbreak"), "{stderr}");
}

#[test]
fn rocket_toml_problems_are_reported_with_their_key_beside_config_yaml_ones() {
    let (code, stderr) = check_with_rocket_toml(
        "logging:\n  level: loud\n",
        Some("[default]\nport = 70000\n[default.limits]\njson = \"zz\"\n"),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("config.yaml: logging.level"), "{stderr}");
    // Rocket stops at its first bad value.
    assert!(
        stderr.contains("Rocket.toml: default.limits.json: invalid value string \"zz\""),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    let (code, stderr) = check_with_rocket_toml("", Some("[default]\nport = 70000\n"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("Rocket.toml: default.port: invalid value signed int `70000`"),
        "{stderr}"
    );
}

#[test]
fn rocket_toml_that_rocket_would_panic_on_is_a_config_error() {
    let (code, stderr) = check_with_rocket_toml("", Some("[default\n"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("Rocket.toml: TOML parse error at line 1") && stderr.lines().count() == 1,
        "{stderr}"
    );
    let (code, stderr) =
        check_with_rocket_toml("", Some("[default]\nworkers = 0\nmax_blocking = 0\n"));
    assert_eq!(code, 2, "{stderr}");
    for key in ["workers", "max_blocking"] {
        assert!(
            stderr.contains(&format!("Rocket.toml: {key}: must be at least 1")),
            "{stderr}"
        );
    }
    assert_eq!(
        check_with_rocket_toml("", Some("[default]\nport = 8080\n")).0,
        0
    );
    let tls = "[default.tls]\ncerts = \"cert.pem\"\nkey = \"key.pem\"\n";
    let (code, stderr) = check_with_rocket_toml("", Some(tls));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("Rocket.toml: tls: TLS is not built into Calendula"),
        "{stderr}"
    );
}

#[test]
fn a_bad_host_option_is_blamed_on_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "").unwrap();
    let config = config.to_str().unwrap();
    let out = calendula(&["--config", config, "--host", "localhost", "config", "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "command line: --host: invalid IP address syntax"
    );
    let out = calendula(&["--config", config, "--host", "127.0.0.1", "config", "check"]);
    assert!(out.status.success());
}

#[test]
fn a_bad_value_beside_an_unknown_key_is_reported_in_the_same_run() {
    assert_reported(
        "database:\n  hostz: []\n  port: 0\nmodules:\n  notificator:\n    colour: red\n    batch_size: 0\n",
        &[
            "database.hostz: unknown field",
            "database.port: expected a port",
            "modules.notificator.colour: unknown field",
            "modules.notificator.batch_size: expected an integer between 1 and 100000",
        ],
    );
}

#[test]
fn max_lateness_leaves_room_for_polling() {
    assert_reported(
        "modules:\n  notificator:\n    poll_interval: 5s\n    max_lateness: 9s\n",
        &["modules.notificator.max_lateness: expected at least twice poll_interval"],
    );
    assert_eq!(
        check("modules:\n  notificator:\n    poll_interval: 5s\n    max_lateness: 10s\n").0,
        0
    );
}

#[test]
fn limits_are_checked() {
    assert_reported(
        "limits:\n  max_occurrences: 0\n  body_timeout: 2h\n",
        &[
            "limits.max_occurrences: expected an integer >= 1",
            "limits.body_timeout: expected a duration between 100ms and 1h",
        ],
    );
    assert_eq!(check("limits:\n  body_timeout: 100ms\n").0, 0);
    assert_eq!(check("limits:\n  body_timeout: 50ms\n").0, 2);
}
