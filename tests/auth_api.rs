//! Issue 7 over HTTP against the real server and PostgreSQL: the `auth` module's sessions
//! (open, present by either header, tampered, sliding expiry, purge, log out), password rules,
//! the enforcement matrix of `enforce: true` cell by cell, unchanged behaviour with
//! `enforce: false` and with the module disabled, and secrets kept out of the database and
//! the logs (SPEC §8).

mod common;

use std::time::{Duration, Instant};

use common::{send, TestServer};
use reqwest::blocking::RequestBuilder;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

// ----- helpers ----------------------------------------------------------------------------

const ENFORCE: &str = "modules:\n  auth:\n    enforce: true\n";
const REQUIRE_PASSWORDS: &str = "modules:\n  auth:\n    require_passwords: true\n";

/// How a request presents a session.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Header(&'a str),
}

impl Auth<'_> {
    fn apply(self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::None => request,
            Auth::Bearer(id) => request.header("Authorization", format!("Bearer {id}")),
            Auth::Header(id) => request.header("X-Session-Id", id),
        }
    }
}

fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    auth: Auth,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = auth.apply(server.request(method, path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request)
}

fn get(server: &TestServer, path: &str, auth: Auth) -> (StatusCode, Value) {
    call(server, Method::GET, path, auth, None)
}

fn post(server: &TestServer, path: &str, auth: Auth, body: Value) -> (StatusCode, Value) {
    call(server, Method::POST, path, auth, Some(body))
}

/// `POST /auth/` with a JSON body `{login, password?}`.
fn log_in(server: &TestServer, login: &str, password: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"login": login});
    if let Some(password) = password {
        body["password"] = json!(password);
    }
    post(server, "/auth/", Auth::None, body)
}

/// A new session's id, asserting success.
#[track_caller]
fn session(server: &TestServer, login: &str, password: Option<&str>) -> String {
    let (status, body) = log_in(server, login, password);
    assert_eq!(status, StatusCode::OK, "log in {login}: {body}");
    let id = body
        .as_str()
        .expect("the session id is a JSON string")
        .to_owned();
    assert_eq!(id.len(), 64, "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{id}"
    );
    id
}

fn me(server: &TestServer, auth: Auth) -> (StatusCode, Value) {
    get(server, "/auth/me", auth)
}

fn accept(server: &TestServer, id: i64, query: &str, auth: Auth) -> (StatusCode, Value) {
    send(auth.apply(server.request(Method::POST, &format!("/event/{id}/accept?{query}"))))
}

fn one_off(author: Option<&str>, start: &str, end: &str) -> Value {
    let mut body = json!({"start_time": start, "end_time": end, "timezone": "UTC"});
    if let Some(author) = author {
        body["author_login"] = json!(author);
    }
    body
}

/// An event with participants and a reminder, so masking has something to hide.
fn meeting(author: Option<&str>, participants: &[&str]) -> Value {
    let mut body = one_off(author, "2026-07-01T09:00:00Z", "2026-07-01T10:00:00Z");
    body["name"] = json!("Salary review");
    body["description"] = json!("confidential");
    body["notifications"] = json!([{"channel": "email", "offset": "10m"}]);
    body["participants"] = json!(participants
        .iter()
        .map(|login| json!({"user": {"login": login}}))
        .collect::<Vec<_>>());
    body
}

fn events_of(server: &TestServer, login: &str, auth: Auth) -> (StatusCode, Value) {
    get(
        server,
        &format!(
            "/users/{login}/events?time_from=2026-06-01T00:00:00Z&time_to=2026-08-01T00:00:00Z"
        ),
        auth,
    )
}

fn id_of(event: &Value) -> i64 {
    event["id"].as_i64().expect("numeric event id")
}

#[track_caller]
fn assert_status(response: &(StatusCode, Value), status: StatusCode, error: &str) {
    assert_eq!(response.0, status, "{}", response.1);
    assert_eq!(response.1["error"], error, "{}", response.1);
}

#[track_caller]
fn assert_401(response: (StatusCode, Value)) {
    assert_status(&response, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[track_caller]
fn assert_403(response: (StatusCode, Value)) {
    assert_status(&response, StatusCode::FORBIDDEN, "forbidden");
}

/// An event with all its details visible.
#[track_caller]
fn assert_full(event: &Value) {
    assert_eq!(event["name"], "Salary review", "{event}");
    assert_eq!(event["description"], "confidential", "{event}");
    assert_eq!(
        event["notifications"],
        json!([{"channel": "email", "offset": "10m"}]),
        "{event}"
    );
    assert!(
        !event["participants"].as_array().unwrap().is_empty(),
        "{event}"
    );
}

/// The masked shape documented in the README: the busy block without details.
#[track_caller]
fn assert_masked(event: &Value, full: &Value) {
    let mut expected = full.clone();
    expected["name"] = json!("busy");
    expected["description"] = json!("");
    expected["notifications"] = json!([]);
    expected["participants"] = json!([]);
    assert_eq!(event, &expected);
}

fn count(server: &TestServer, table: &str) -> i64 {
    server
        .sql(&format!("SELECT count(*) FROM {table}"))
        .trim()
        .parse()
        .unwrap()
}

/// A copy of `id` with one hex digit changed.
fn tampered(id: &str) -> String {
    let mut bytes = id.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).unwrap()
}

// ----- sessions ---------------------------------------------------------------------------

#[test]
fn a_session_is_opened_used_by_either_header_and_closed() {
    let server = TestServer::start();
    let ada = server.user("ada", json!({}));

    // The original form: the login in the query, no body.
    let (status, body) = send(server.request(Method::POST, "/auth/?login=ada"));
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = body.as_str().unwrap().to_owned();
    let id = session(&server, "ada", None);
    assert_ne!(first, id, "every session has its own id");

    for auth in [Auth::Bearer(&id), Auth::Header(&id), Auth::Bearer(&first)] {
        let (status, body) = me(&server, auth);
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, ada);
    }
    // The scheme name is case-insensitive; surrounding blanks are ignored.
    let (status, _) = send(
        server
            .request(Method::GET, "/auth/me")
            .header("Authorization", format!("bearer  {id} ")),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&server, "sessions"), 2);

    // Log out: 204 with no body; the id is then dead, the other session lives on.
    let (status, body) = call(&server, Method::DELETE, "/auth/", Auth::Header(&id), None);
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, json!(""));
    assert_401(me(&server, Auth::Bearer(&id)));
    assert_401(call(
        &server,
        Method::DELETE,
        "/auth",
        Auth::Bearer(&id),
        None,
    ));
    assert_eq!(me(&server, Auth::Bearer(&first)).0, StatusCode::OK);
    assert_eq!(count(&server, "sessions"), 1);
}

#[test]
fn the_session_response_is_not_cacheable() {
    let server = TestServer::start();
    server.user("ada", json!({}));
    let response = server
        .request(Method::POST, "/auth?login=ada")
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[test]
fn missing_tampered_and_malformed_sessions_are_401() {
    let server = TestServer::start();
    server.user("ada", json!({}));
    let id = session(&server, "ada", None);
    assert_401(me(&server, Auth::None));
    let response = server.request(Method::GET, "/auth/me").send().unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_401(me(&server, Auth::Bearer(&tampered(&id))));
    assert_401(me(&server, Auth::Header(&tampered(&id))));
    for garbage in [
        &id[..63],
        &id.to_uppercase(),
        "",
        "not-a-session",
        &format!("{id}00"),
    ] {
        assert_401(me(&server, Auth::Header(garbage)));
    }
    for header in [format!("Basic {id}"), id.clone(), "Bearer".to_owned()] {
        let (status, body) = send(
            server
                .request(Method::GET, "/auth/me")
                .header("Authorization", header),
        );
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    assert_401(call(&server, Method::DELETE, "/auth/", Auth::None, None));
    assert_401(call(
        &server,
        Method::DELETE,
        "/auth/",
        Auth::Bearer(&tampered(&id)),
        None,
    ));
    // The genuine session was not disturbed by any of it.
    assert_eq!(me(&server, Auth::Bearer(&id)).0, StatusCode::OK);
}

#[test]
fn sessions_expire_after_the_idle_ttl_each_use_extending_them_and_are_purged() {
    let server = TestServer::with_yaml("modules:\n  auth:\n    session_ttl: 2s\n");
    server.user("ada", json!({}));
    let id = session(&server, "ada", None);
    let idle = session(&server, "ada", None);
    // Used only on routes that do not look at the caller (sessions are not enforced here).
    let reader = session(&server, "ada", None);
    let free_busy = json!({
        "user_logins": ["ada"],
        "time_from": "2026-03-02T00:00:00Z",
        "time_to": "2026-03-03T00:00:00Z"
    });
    // Used every half second for longer than the TTL: still valid (sliding expiry).
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        assert_eq!(
            me(&server, Auth::Bearer(&id)).0,
            StatusCode::OK,
            "after {:?}",
            started.elapsed()
        );
        let read = get(&server, "/users/ada", Auth::Header(&reader));
        assert_eq!(read.0, StatusCode::OK, "{}", read.1);
        let read = post(
            &server,
            "/funcs/free_busy",
            Auth::Bearer(&reader),
            free_busy.clone(),
        );
        assert_eq!(read.0, StatusCode::OK, "{}", read.1);
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_401(me(&server, Auth::Bearer(&idle)));
    assert_eq!(
        me(&server, Auth::Bearer(&reader)).0,
        StatusCode::OK,
        "reads extend a session"
    );
    // Left idle past the TTL: expired.
    std::thread::sleep(Duration::from_millis(2500));
    assert_401(me(&server, Auth::Bearer(&id)));
    // The background task deletes expired sessions (it runs every TTL here).
    let deadline = Instant::now() + Duration::from_secs(15);
    while count(&server, "sessions") > 0 {
        assert!(
            Instant::now() < deadline,
            "expired sessions were not purged"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn opening_a_session_validates_its_input() {
    let server = TestServer::start();
    server.user("ada", json!({}));
    // No login anywhere: 400 naming the parameter.
    let (status, body) = send(server.request(Method::POST, "/auth/"));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "login");
    let (status, body) = send(server.request(Method::POST, "/auth/?login=ada&login=bob"));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "login");
    assert_eq!(
        body["detail"],
        "query parameter login is given more than once"
    );
    // Query and body disagree: 422.
    let (status, body) = post(
        &server,
        "/auth/?login=bob",
        Auth::None,
        json!({"login": "ada"}),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "login");
    // ...agreeing is fine.
    assert_eq!(
        post(
            &server,
            "/auth/?login=ada",
            Auth::None,
            json!({"login": "ada"})
        )
        .0,
        StatusCode::OK
    );
    // Malformed JSON 400, wrong shape 422 naming the field.
    let (status, _) = send(
        server
            .request(Method::POST, "/auth/")
            .header("content-type", "application/json")
            .body("{\"login\": "),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = post(&server, "/auth/", Auth::None, json!({"login": 5}));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "login");
    // A body without a login, and none in the query: 422 naming it.
    let (status, body) = post(&server, "/auth/", Auth::None, json!({"password": "x"}));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "login");
    assert_eq!(count(&server, "sessions"), 1);
}

#[test]
fn the_login_may_come_from_the_query_and_the_password_from_the_body() {
    let server = TestServer::start();
    server.user("ada", json!({"password": "correct horse"}));
    let with_query = |password: &str| {
        post(
            &server,
            "/auth/?login=ada",
            Auth::None,
            json!({"password": password}),
        )
    };
    assert_401(with_query("wrong horse"));
    let (status, id) = with_query("correct horse");
    assert_eq!(status, StatusCode::OK, "{id}");
    let id = id.as_str().unwrap();
    assert_eq!(me(&server, Auth::Bearer(id)).1["login"], "ada");
}

#[test]
fn auth_routes_are_in_the_openapi_document_with_the_session_scheme() {
    let server = TestServer::start();
    let (status, spec) = server.get("/openapi.json");
    assert_eq!(status, StatusCode::OK);
    let paths = &spec["paths"];
    assert!(paths["/auth"]["post"].is_object(), "{}", paths);
    assert!(paths["/auth"]["delete"].is_object());
    assert!(paths["/auth/me"]["get"].is_object());
    assert!(paths["/auth/me"]["get"]["responses"]["401"].is_object());
    let scheme = &spec["components"]["securitySchemes"]["session"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    // Either scheme: the bearer token or the X-Session-Id header.
    let header = &spec["components"]["securitySchemes"]["session_header"];
    assert_eq!(header["type"], "apiKey", "{header}");
    assert_eq!(header["in"], "header", "{header}");
    assert_eq!(header["name"], "X-Session-Id", "{header}");
    for (path, method) in [("/event", "post"), ("/auth/me", "get"), ("/auth", "delete")] {
        assert_eq!(
            paths[path][method]["security"],
            json!([{"session": []}, {"session_header": []}]),
            "{method} {path}"
        );
    }
    assert!(paths["/users"]["post"].get("security").is_none());
    assert!(spec["components"]["schemas"]["Credentials"].is_object());
}

// ----- passwords --------------------------------------------------------------------------

#[test]
fn a_user_with_a_password_needs_it_and_every_refusal_is_the_same_401() {
    let server = TestServer::start();
    let created = server.user("ada", json!({"password": "correct horse"}));
    assert!(created.get("password").is_none(), "{created}");
    server.user("bob", json!({}));

    let unknown = log_in(&server, "nobody", Some("correct horse"));
    assert_401(unknown.clone());
    for refusal in [
        log_in(&server, "ada", Some("wrong horse")),
        log_in(&server, "ada", None),
        log_in(&server, "ada", Some("")),
        send(server.request(Method::POST, "/auth/?login=ada")),
        send(server.request(Method::POST, "/auth/?login=nobody")),
        log_in(&server, "not a login!", None),
        // A password given for a user who has none is a wrong password too.
        log_in(&server, "bob", Some("anything")),
    ] {
        assert_eq!(refusal, unknown, "every refusal is the same 401");
    }
    assert_eq!(count(&server, "sessions"), 0);

    let id = session(&server, "ada", Some("correct horse"));
    assert_eq!(me(&server, Auth::Bearer(&id)).1["login"], "ada");
    // Without a password, the login alone opens a session.
    session(&server, "bob", None);
    assert_eq!(
        send(server.request(Method::POST, "/auth/?login=bob")).0,
        StatusCode::OK
    );
}

#[test]
fn unknown_login_and_wrong_password_take_similar_time() {
    let server = TestServer::start();
    server.user("ada", json!({"password": "correct horse"}));
    let timed = |login: &str| {
        let started = Instant::now();
        assert_401(log_in(&server, login, Some("wrong horse")));
        started.elapsed()
    };
    timed("ada");
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..7 {
        wrong.push(timed("ada"));
        unknown.push(timed(&format!("nobody{round}")));
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (wrong, unknown) = (median(&mut wrong), median(&mut unknown));
    // Both verify one argon2id hash: within a factor of 3 of each other, even on a busy machine.
    assert!(
        unknown * 3 > wrong && wrong * 3 > unknown,
        "wrong password {wrong:?}, unknown login {unknown:?}"
    );
}

#[test]
fn require_passwords_makes_them_mandatory_for_users_and_sessions() {
    let server = TestServer::with_yaml(REQUIRE_PASSWORDS);
    let (status, body) = server.post(
        "/users",
        json!({"login": "ada", "name": {"first": "A", "last": "L"}}),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "password");
    assert_eq!(count(&server, "users"), 0);
    // The usual password rules still apply.
    let (status, body) = server.post(
        "/users",
        json!({"login": "ada", "name": {"first": "A", "last": "L"}, "password": ""}),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "password");

    server.user("ada", json!({"password": "s3cret pass"}));
    assert_401(log_in(&server, "ada", None));
    assert_401(send(server.request(Method::POST, "/auth/?login=ada")));
    assert_401(log_in(&server, "ada", Some("wrong")));
    session(&server, "ada", Some("s3cret pass"));

    // A user stored without a password (created before the rule) cannot open a session.
    server.sql("INSERT INTO users (login, first_name, last_name) VALUES ('old', 'O', 'L')");
    let refusal = log_in(&server, "old", None);
    assert_eq!(refusal, log_in(&server, "nobody", None));
    assert_401(refusal);
}

// ----- enforcement ------------------------------------------------------------------------

/// ada, bob and eve with a session each; an event by ada with bob invited.
struct World {
    server: TestServer,
    ada: String,
    bob: String,
    eve: String,
    event: Value,
}

fn world(yaml: &str) -> World {
    let server = TestServer::with_yaml(yaml);
    for login in ["ada", "bob", "eve"] {
        server.user(login, json!({}));
    }
    let ada = session(&server, "ada", None);
    let bob = session(&server, "bob", None);
    let eve = session(&server, "eve", None);
    let (status, event) = post(
        &server,
        "/event",
        Auth::Bearer(&ada),
        meeting(Some("ada"), &["bob"]),
    );
    assert_eq!(status, StatusCode::CREATED, "{event}");
    World {
        server,
        ada,
        bob,
        eve,
        event,
    }
}

#[test]
fn enforced_sign_up_log_in_and_pure_reads_stay_open() {
    let w = world(ENFORCE);
    let s = &w.server;
    // Sign-up and log-in without any session.
    let (status, body) = post(
        s,
        "/users",
        Auth::None,
        json!({"login": "zed", "name": {"first": "Z", "last": "Z"}}),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    session(s, "zed", None);
    // Users and computations over busy time are not writes.
    assert_eq!(get(s, "/users/ada", Auth::None).0, StatusCode::OK);
    let (status, body) = post(
        s,
        "/funcs/calc_free_slot",
        Auth::None,
        json!({"user_logins": ["ada", "bob"], "event_duration": 3600, "start_calc_from": "2026-07-01T08:00:00Z"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(
        s,
        "/funcs/free_busy",
        Auth::None,
        json!({"user_logins": ["ada"], "time_from": "2026-07-01T00:00:00Z", "time_to": "2026-07-02T00:00:00Z"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(get(s, "/health", Auth::None).0, StatusCode::OK);
}

#[test]
fn enforced_event_creation_needs_the_authors_session() {
    let w = world(ENFORCE);
    let s = &w.server;
    let before = count(s, "events");
    let body = || meeting(Some("ada"), &["bob"]);
    // No session, a tampered one, a revoked one: 401, nothing written.
    assert_401(post(s, "/event", Auth::None, body()));
    assert_401(post(s, "/event", Auth::Header(&tampered(&w.ada)), body()));
    let revoked = session(s, "ada", None);
    assert_eq!(
        call(s, Method::DELETE, "/auth", Auth::Bearer(&revoked), None).0,
        StatusCode::NO_CONTENT
    );
    assert_401(post(s, "/event", Auth::Bearer(&revoked), body()));
    // The session is checked before the body is read.
    let (status, _) = send(
        s.request(Method::POST, "/event")
            .header("content-type", "application/json")
            .body("{oops"),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Someone else's author_login: 403, even a participant's or an unknown one.
    assert_403(post(s, "/event", Auth::Bearer(&w.bob), body()));
    assert_403(post(
        s,
        "/event",
        Auth::Bearer(&w.eve),
        one_off(
            Some("ghost"),
            "2026-07-02T09:00:00Z",
            "2026-07-02T10:00:00Z",
        ),
    ));
    assert_eq!(count(s, "events"), before);
    // The session's user as author, named or omitted, by either header.
    let (status, named) = post(s, "/event", Auth::Header(&w.ada), body());
    assert_eq!(status, StatusCode::CREATED, "{named}");
    assert_eq!(named["author"]["login"], "ada");
    let (status, omitted) = post(
        s,
        "/event",
        Auth::Bearer(&w.eve),
        one_off(None, "2026-07-02T09:00:00Z", "2026-07-02T10:00:00Z"),
    );
    assert_eq!(status, StatusCode::CREATED, "{omitted}");
    assert_eq!(omitted["author"]["login"], "eve");
    assert_eq!(count(s, "events"), before + 2);
}

#[test]
fn enforced_answers_come_only_from_the_invited_user_themself() {
    let w = world(ENFORCE);
    let s = &w.server;
    let id = id_of(&w.event);
    let decision = |login: &str| {
        s.sql(&format!(
        "SELECT decision FROM participants p JOIN users u ON u.id = p.user_id WHERE p.event_id = {id} AND u.login = '{login}'"
    ))
    };
    // Without a valid session: 401.
    assert_401(accept(s, id, "user_login=bob&decision=yes", Auth::None));
    assert_401(accept(
        s,
        id,
        "user_login=bob&decision=yes",
        Auth::Bearer(&tampered(&w.bob)),
    ));
    // For someone else: 403, whoever asks (an outsider, the author, another participant).
    assert_403(accept(
        s,
        id,
        "user_login=bob&decision=yes",
        Auth::Bearer(&w.eve),
    ));
    assert_403(accept(
        s,
        id,
        "user_login=bob&decision=yes",
        Auth::Bearer(&w.ada),
    ));
    assert_eq!(decision("bob"), "undecided");
    // For themself, named or omitted.
    let (status, body) = accept(s, id, "user_login=bob&decision=yes", Auth::Bearer(&w.bob));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(decision("bob"), "yes");
    let (status, body) = accept(s, id, "decision=maybe", Auth::Header(&w.bob));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(decision("bob"), "maybe");
    assert_full(&body);
    // An outsider answering for themself is still not a participant (422, as without auth);
    // the author may answer for herself.
    let (status, body) = accept(s, id, "decision=yes", Auth::Bearer(&w.eve));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "user_login");
    assert_eq!(
        accept(s, id, "user_login=ada&decision=no", Auth::Bearer(&w.ada)).0,
        StatusCode::OK
    );
    assert_eq!(decision("ada"), "no");
}

#[test]
fn enforced_reads_show_details_only_to_members() {
    let w = world(ENFORCE);
    let s = &w.server;
    let id = id_of(&w.event);
    let path = format!("/event/{id}");
    let (_, full) = get(s, &path, Auth::Bearer(&w.ada));
    assert_full(&full);
    assert_eq!(full, w.event);
    // Members: the author and a participant.
    assert_eq!(get(s, &path, Auth::Header(&w.bob)).1, full);
    // Anyone else: nobody, an outsider, an invalid session.
    for auth in [
        Auth::None,
        Auth::Bearer(&w.eve),
        Auth::Bearer(&tampered(&w.ada)),
    ] {
        let (status, masked) = get(s, &path, auth);
        assert_eq!(status, StatusCode::OK, "{masked}");
        assert_masked(&masked, &full);
    }

    // Listings: bob's calendar holds ada's meeting (bob invited) and bob's own private one.
    let (status, private) = post(
        s,
        "/event",
        Auth::Bearer(&w.bob),
        json!({
            "start_time": "2026-07-03T09:00:00Z", "end_time": "2026-07-03T10:00:00Z", "timezone": "UTC",
            "name": "Dentist", "description": "root canal",
        }),
    );
    assert_eq!(status, StatusCode::CREATED, "{private}");
    let (status, own) = events_of(s, "bob", Auth::Bearer(&w.bob));
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own, json!([full, private]));
    // ada sees her meeting in full and bob's private event as a busy block.
    let (_, seen_by_ada) = events_of(s, "bob", Auth::Bearer(&w.ada));
    assert_eq!(seen_by_ada[0], full);
    assert_eq!(seen_by_ada[1]["name"], "busy");
    assert_eq!(seen_by_ada[1]["description"], "");
    assert_eq!(seen_by_ada[1]["start_time"], private["start_time"]);
    for auth in [Auth::None, Auth::Header(&w.eve)] {
        let (status, seen) = events_of(s, "bob", auth);
        assert_eq!(status, StatusCode::OK, "{seen}");
        assert_masked(&seen[0], &full);
        assert_masked(&seen[1], &private);
    }
}

#[test]
fn enforced_who_am_i_and_logout_need_a_session() {
    let w = world(ENFORCE);
    let s = &w.server;
    assert_401(me(s, Auth::None));
    assert_eq!(me(s, Auth::Bearer(&w.eve)).1["login"], "eve");
    assert_401(call(s, Method::DELETE, "/auth", Auth::None, None));
    assert_eq!(
        call(s, Method::DELETE, "/auth", Auth::Bearer(&w.eve), None).0,
        StatusCode::NO_CONTENT
    );
    // A closed session no longer writes.
    assert_401(post(
        s,
        "/event",
        Auth::Bearer(&w.eve),
        one_off(None, "2026-07-02T09:00:00Z", "2026-07-02T10:00:00Z"),
    ));
}

#[test]
fn enforced_deletes_come_only_from_the_author() {
    let w = world(ENFORCE);
    let s = &w.server;
    let id = id_of(&w.event);
    let path = format!("/event/{id}");
    let delete = |auth: Auth| call(s, Method::DELETE, &path, auth, None);
    // Without a valid session: 401; a participant or an outsider: 403. Nothing is deleted.
    assert_401(delete(Auth::None));
    assert_401(delete(Auth::Bearer(&tampered(&w.ada))));
    assert_403(delete(Auth::Bearer(&w.bob)));
    assert_403(delete(Auth::Header(&w.eve)));
    assert_eq!(count(s, "events"), 1);
    assert_eq!(count(s, "participants"), 1);
    // The author, by either header.
    assert_eq!(delete(Auth::Header(&w.ada)).0, StatusCode::NO_CONTENT);
    assert_eq!(count(s, "events"), 0);
    assert_eq!(count(s, "participants"), 0);
    assert_eq!(delete(Auth::Bearer(&w.ada)).0, StatusCode::NOT_FOUND);
}

// ----- enforce: false and a disabled module --------------------------------------------

#[test]
fn without_enforcement_nothing_requires_a_session() {
    let w = world("");
    let s = &w.server;
    let id = id_of(&w.event);
    // No session: any author, any answering user, full details for everyone.
    let (status, body) = post(s, "/event", Auth::None, meeting(Some("bob"), &["ada"]));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = post(
        s,
        "/event",
        Auth::None,
        one_off(None, "2026-07-02T09:00:00Z", "2026-07-02T10:00:00Z"),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "author_login");
    let (status, body) = accept(s, id, "user_login=bob&decision=yes", Auth::None);
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = accept(s, id, "decision=yes", Auth::None);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "user_login");
    let (_, event) = get(s, &format!("/event/{id}"), Auth::None);
    assert_full(&event);
    let (_, listed) = events_of(s, "bob", Auth::None);
    assert_full(&listed[0]);
    assert_full(&listed[1]);
    // A session is not checked against author_login or user_login...
    let (status, body) = post(
        s,
        "/event",
        Auth::Bearer(&w.eve),
        meeting(Some("ada"), &["bob"]),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = accept(s, id, "user_login=bob&decision=no", Auth::Bearer(&w.eve));
    assert_eq!(status, StatusCode::OK, "{body}");
    // ...but fills them in when they are omitted.
    let (status, body) = post(
        s,
        "/event",
        Auth::Bearer(&w.eve),
        one_off(None, "2026-07-02T09:00:00Z", "2026-07-02T10:00:00Z"),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["author"]["login"], "eve");
    // An outsider's session still sees everything; an invalid one changes nothing.
    assert_full(&get(s, &format!("/event/{id}"), Auth::Bearer(&w.eve)).1);
    let (status, body) = post(
        s,
        "/event",
        Auth::Bearer(&tampered(&w.eve)),
        meeting(Some("ada"), &[]),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = get(s, "/users/ada", Auth::Header("garbage"));
    assert_eq!(status, StatusCode::OK, "{body}");
    // Anyone deletes an event, as anyone creates one.
    let (status, body) = call(s, Method::DELETE, &format!("/event/{id}"), Auth::None, None);
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[test]
fn a_disabled_auth_module_mounts_nothing_and_ignores_session_headers() {
    let server =
        TestServer::with_yaml("modules:\n  auth:\n    enabled: false\n    enforce: true\n");
    server.user("ada", json!({}));
    let (status, body) = send(server.request(Method::POST, "/auth/?login=ada"));
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(me(&server, Auth::None).0, StatusCode::NOT_FOUND);
    let id = "ab".repeat(32);
    let (status, body) = post(
        &server,
        "/event",
        Auth::Bearer(&id),
        meeting(Some("ada"), &[]),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        get(&server, &format!("/event/{}", id_of(&body)), Auth::None).1,
        body
    );
    assert_eq!(count(&server, "sessions"), 0);
}

// ----- secrets ----------------------------------------------------------------------------

#[test]
fn the_database_holds_no_session_id_and_no_password() {
    let server = TestServer::with_yaml(ENFORCE);
    let password = "pw-7f3a9c1e-in-clear";
    server.user("ada", json!({"password": password}));
    let id = session(&server, "ada", Some(password));
    let other = session(&server, "ada", Some(password));
    assert_eq!(me(&server, Auth::Bearer(&id)).0, StatusCode::OK);
    assert_401(log_in(&server, "ada", Some("wrong-attempt-5d2b")));

    let dump = server.dump();
    assert!(
        dump.contains("CREATE TABLE public.sessions"),
        "the dump covers the sessions table"
    );
    assert!(
        dump.contains("$argon2id$"),
        "the password is stored as an argon2id hash"
    );
    for secret in [password, "wrong-attempt-5d2b", id.as_str(), other.as_str()] {
        assert!(
            !dump.contains(secret),
            "{secret:?} found in the database dump"
        );
    }
    // What is stored is the SHA-256 of the id.
    let stored = server.sql(&format!(
        "SELECT count(*) FROM sessions WHERE token_hash IN (sha256('{id}'::bytea), sha256('{other}'::bytea))"
    ));
    assert_eq!(stored.trim(), "2");
}

/// The real binary, logging at debug level to a file (Rocket's own records at trace):
/// opening, using and closing sessions (and failed attempts) leave no session id and no
/// password in the log.
#[test]
fn the_logs_hold_no_session_id_and_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calendula.log");
    let dbname = common::fresh_database();
    let yaml = format!(
        "{}logging:\n  stdout: false\n  level: debug\n  targets: {{rocket: trace}}\n  file: {}\n\
         modules:\n  auth:\n    enforce: true\n",
        common::database_yaml_for(&dbname),
        log.display()
    );
    let server = common::binary::Binary::start(dir.path(), &yaml);
    let base = server.base.clone();
    let client = reqwest::blocking::Client::new();

    let password = "pw-41c8e0d2-in-clear";
    let wrong = "wrong-9b7d-attempt";
    let response = client
        .post(format!("{base}/users"))
        .json(&json!({"login": "ada", "name": {"first": "A", "last": "L"}, "password": password}))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let refused = client
        .post(format!("{base}/auth"))
        .json(&json!({"login": "ada", "password": wrong}))
        .send()
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let in_query = client
        .post(format!("{base}/auth/?login=ada&password={wrong}"))
        .send()
        .unwrap();
    assert_eq!(in_query.status(), StatusCode::UNAUTHORIZED);
    let opened = client
        .post(format!("{base}/auth/"))
        .json(&json!({"login": "ada", "password": password}))
        .send()
        .unwrap();
    assert_eq!(opened.status(), StatusCode::OK);
    let id: String = opened.json().unwrap();
    let created = client
        .post(format!("{base}/event"))
        .bearer_auth(&id)
        .json(&one_off(
            None,
            "2026-07-01T09:00:00Z",
            "2026-07-01T10:00:00Z",
        ))
        .send()
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let me = client
        .get(format!("{base}/auth/me"))
        .header("X-Session-Id", &id)
        .send()
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let tampered_id = tampered(&id);
    let bad = client
        .get(format!("{base}/auth/me"))
        .bearer_auth(&tampered_id)
        .send()
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let closed = client
        .delete(format!("{base}/auth"))
        .bearer_auth(&id)
        .send()
        .unwrap();
    assert_eq!(closed.status(), StatusCode::NO_CONTENT);
    // A password of the wrong type is refused; the refusal names the value to the client
    // only. Nor does a URL nobody serves get its query logged.
    for path in ["/users", "/auth"] {
        let typed = client
            .post(format!("{base}{path}"))
            .json(&json!({"login": "ada", "name": {"first": "A", "last": "L"}, "password": 918273645}))
            .send()
            .unwrap();
        assert_eq!(typed.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    let unrouted = client
        .post(format!("{base}/nowhere?token=q-7f3a9c"))
        .send()
        .unwrap();
    assert_eq!(unrouted.status(), StatusCode::NOT_FOUND);

    // SIGTERM: a clean stop flushes the log.
    server.terminate();

    let text = std::fs::read_to_string(&log).expect("the log file was written");
    assert!(
        text.contains("session opened"),
        "the log records sessions: {text}"
    );
    assert!(
        text.contains("POST /auth"),
        "the log records requests: {text}"
    );
    for secret in [
        password,
        wrong,
        id.as_str(),
        tampered_id.as_str(),
        &id[..16],
        "918273645",
        "q-7f3a9c",
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} found in the log:\n{text}"
        );
    }
}
