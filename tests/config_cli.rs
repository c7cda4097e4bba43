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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = calendula(&["--config", path.to_str().unwrap(), "config", "check"]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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

    let (code, stderr) = check("modules:\n  auth:\n    session_ttl: 500ms\n");
    assert_eq!(code, 2);
    assert!(stderr.contains("modules.auth.session_ttl"), "{stderr}");
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
    let modules = &properties["modules"]["properties"];
    assert!(
        modules.get("auth").is_some() && modules.get("notificator").is_some(),
        "{modules}"
    );
    assert_eq!(properties["modules"]["additionalProperties"], false);
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
            "modules.notificator.channels.slack: unknown field `colour`",
        ),
        (
            "      telegram: {sender: log, colour: red}\n",
            "modules.notificator.channels.telegram: unknown field `colour`",
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
