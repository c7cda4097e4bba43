//! The load harness works end to end: a tiny run against a server it starts itself, every
//! scenario with successful requests and a JSON report.

use std::process::Command;

#[test]
fn smoke_run_reports_every_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.json");
    let out = Command::new(env!("CARGO_BIN_EXE_calendula-load"))
        .args(["--smoke", "--json", json.to_str().unwrap()])
        .output()
        .expect("run calendula-load");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let names: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for expected in [
        "get_event",
        "list_month",
        "list_month_heavy",
        "create_event",
        "free_slot_1",
        "free_slot_3",
        "free_slot_10",
        "free_slot_50",
        "free_slot_1_day",
        "free_slot_300_days",
        "free_busy",
        "db_get_event",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    for result in report["results"].as_array().unwrap() {
        assert!(result["ok"].as_u64().unwrap() > 0, "{result}");
        assert_eq!(result["errors"].as_u64().unwrap(), 0, "{result}");
    }
    assert!(report["peak_server_rss_kib"].as_u64().unwrap() > 0);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("get_event API/DB throughput ratio"),
        "{summary}"
    );
}
