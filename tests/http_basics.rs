//! The HTTP frame every route shares, against the real server and PostgreSQL.

mod common;

use common::TestServer;
use reqwest::StatusCode;

#[test]
fn health_ready_docs_and_openapi_answer() {
    let server = TestServer::start();
    assert_eq!(
        server.get("/health"),
        (StatusCode::OK, serde_json::json!({"status": "ok"}))
    );
    assert_eq!(
        server.get("/ready"),
        (StatusCode::OK, serde_json::json!({"status": "ready"}))
    );
    let docs = server
        .client()
        .get(server.url("/docs/index.html"))
        .send()
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().unwrap().contains("swagger"), "Swagger UI page");
    let (status, spec) = server.get("/openapi.json");
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/users",
        "/users/{login}",
        "/users/{login}/events",
        "/event",
        "/event/{id}",
        "/event/{id}/accept",
        "/funcs/calc_free_slot",
        "/funcs/free_busy",
        "/health",
        "/ready",
        "/metrics",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
}

#[test]
fn every_response_carries_a_request_id() {
    let server = TestServer::start();
    let a = server.client().get(server.url("/health")).send().unwrap();
    let b = server.client().get(server.url("/nowhere")).send().unwrap();
    let id = |r: &reqwest::blocking::Response| {
        r.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (a_id, b_id) = (id(&a).expect("id on 200"), id(&b).expect("id on 404"));
    assert_ne!(a_id, b_id);
    assert_eq!(a_id.len(), 16);
}

#[test]
fn every_request_logs_one_line_with_method_path_status_latency_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calendula.log");
    let yaml = format!(
        "{}logging:\n  format: json\n  stdout: false\n  file: {}\n",
        common::database_yaml_for(&common::fresh_database()),
        log.display()
    );
    let server = common::binary::Binary::start(dir.path(), &yaml);
    let client = reqwest::blocking::Client::new();
    let requests = [
        (reqwest::Method::HEAD, "/health", 200),
        (reqwest::Method::GET, "/users/nobody/", 404),
        (reqwest::Method::DELETE, "/users", 405),
    ];
    let ids: Vec<String> = requests
        .iter()
        .map(|(method, path, status)| {
            let url = format!("{}{path}", server.base);
            let response = client.request(method.clone(), url).send().unwrap();
            assert_eq!(response.status().as_u16(), *status, "{method} {path}");
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|line: &serde_json::Value| {
            // Those of start-up's readiness polls left out.
            line["logger"] == "calendula::http"
                && ids
                    .iter()
                    .any(|id| line["ctx"]["request_id"] == id.as_str())
        })
        .collect();
    assert_eq!(lines.len(), requests.len(), "{text}");
    for ((line, (method, path, status)), id) in lines.iter().zip(&requests).zip(&ids) {
        let ctx = &line["ctx"];
        // The method as sent: Rocket answers a HEAD with its GET route.
        assert_eq!(ctx["method"], method.as_str(), "{line}");
        assert_eq!(ctx["path"], path.trim_end_matches('/'), "{line}");
        assert_eq!(ctx["status"], status.to_string(), "{line}");
        assert_eq!(&ctx["request_id"], id, "{line}");
        let latency: f64 = ctx["latency_ms"].as_str().unwrap().parse().unwrap();
        assert!(latency > 0.0, "{line}");
    }
}

#[test]
fn paths_work_with_and_without_trailing_slash() {
    let server = TestServer::start();
    assert_eq!(server.get("/health/").0, StatusCode::OK);
    server.user("ada", serde_json::json!({}));
    assert_eq!(server.get("/users/ada").0, StatusCode::OK);
    assert_eq!(server.get("/users/ada/").0, StatusCode::OK);
    let (status, _) = server.post(
        "/users/",
        serde_json::json!({"login": "bob", "name": {"first": "B", "last": "B"}}),
    );
    assert_eq!(status, StatusCode::CREATED);
}

#[test]
fn unknown_routes_answer_json_404() {
    let server = TestServer::start();
    let (status, body) = server.get("/nope");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not found");
}

#[test]
fn a_known_path_with_another_method_answers_405_with_allow() {
    let server = TestServer::start();
    let client = server.client();
    for (method, path, allow) in [
        (reqwest::Method::DELETE, "/users", "POST"),
        (reqwest::Method::GET, "/users/", "POST"),
        (reqwest::Method::PUT, "/event/7/", "DELETE, GET, HEAD"),
        (reqwest::Method::POST, "/users/ada", "GET, HEAD"),
        (reqwest::Method::GET, "/funcs/free_busy", "POST"),
        (reqwest::Method::PATCH, "/health", "GET, HEAD"),
    ] {
        let response = client
            .request(method.clone(), server.url(path))
            .send()
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let body: serde_json::Value = response.json().unwrap();
        assert_eq!(body["error"], "method not allowed", "{body}");
    }
}

#[test]
fn metrics_are_prometheus_text() {
    let server = TestServer::start();
    let response = server.client().get(server.url("/metrics")).send().unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().unwrap();
    assert!(
        text.contains("# TYPE calendula_db_connections gauge"),
        "{text}"
    );
}

/// A client that stops sending its body mid-way gets a 408 once `limits.body_timeout` has
/// passed instead of holding the request open forever; nothing is written.
#[test]
fn a_body_that_stops_arriving_is_408_after_body_timeout() {
    use std::io::{Read, Write};
    let server = TestServer::with_yaml("limits:\n  body_timeout: 1s\n");
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let head = "POST /users/ HTTP/1.1\r\nHost: calendula\r\nContent-Type: application/json\r\nContent-Length: 200\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(br#"{"login": "slow", "name": "#).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered after {:?}",
        started.elapsed()
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"], "request timeout", "{body}");
    assert_eq!(body["field"], "body", "{body}");
    assert_eq!(server.get("/users/slow").0, StatusCode::NOT_FOUND);
}
