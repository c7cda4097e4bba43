//! HTTP plumbing every route shares: the request log (one line per request, with the
//! request id echoed as `X-Request-Id`), trailing-slash normalization, large response bodies
//! sent in large pieces, and the JSON catcher.

use std::time::Instant;

use calendula_core::error::remembered_failure;
use calendula_core::ApiError;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{Header, Method, Status};
use rocket::response::{self, Body, Responder};
use rocket::{catch, Data, Request, Response};

/// When a request arrived, its method as the client sent it (Rocket routes a `HEAD` as a
/// `GET`), and the id it is known by in logs and in `X-Request-Id`.
struct RequestStamp {
    started: Instant,
    method: Method,
    id: String,
}

impl RequestStamp {
    fn new(req: &Request<'_>) -> Self {
        Self {
            started: Instant::now(),
            method: req.method(),
            id: format!("{:016x}", rand::random::<u64>()),
        }
    }
}

/// Logs every request once it is answered and tags the response with its id.
pub struct RequestLog;

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| RequestStamp::new(req));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let stamp = req.local_cache(|| RequestStamp::new(req));
        let latency_ms = stamp.started.elapsed().as_secs_f64() * 1000.0;
        res.set_header(Header::new("X-Request-Id", stamp.id.clone()));
        log::info!(
            target: "calendula::http",
            method = stamp.method.as_str(),
            path = req.uri().path().as_str(),
            status = res.status().code,
            latency_ms = (latency_ms * 1000.0).round() / 1000.0,
            request_id = stamp.id.as_str();
            "{} {} {}", stamp.method, req.uri().path(), res.status().code
        );
    }
}

/// Hands a body to hyper in pieces of up to 1 MiB instead of Rocket's 4 KiB. Each piece
/// crosses a channel to hyper's writer: in 4 KiB pieces, a month listing of about 850 KB
/// spent a third of its server CPU sending itself (BENCHMARKS.md, run 6).
pub struct LargeBodyChunks;

/// The largest piece [`LargeBodyChunks`] lets Rocket read (and allocate) at once.
const MAX_BODY_CHUNK: usize = 1 << 20;

#[rocket::async_trait]
impl Fairing for LargeBodyChunks {
    fn info(&self) -> Info {
        Info {
            name: "large body chunks",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _: &'r Request<'_>, res: &mut Response<'r>) {
        // Sized to the body, so that a small one does not get a large buffer.
        if let Some(size) = res.body().preset_size() {
            res.set_max_chunk_size(size.clamp(Body::DEFAULT_MAX_CHUNK, MAX_BODY_CHUNK));
        }
    }
}

/// Makes `/users/` and `/users` the same path: routes are declared without the trailing
/// slash and requests lose theirs before routing.
pub struct TrailingSlash;

#[rocket::async_trait]
impl Fairing for TrailingSlash {
    fn info(&self) -> Info {
        Info {
            name: "trailing slash",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let path = req.uri().path().as_str();
        if path.len() > 1 && path.ends_with('/') {
            let trimmed = path.trim_end_matches('/');
            let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
            let uri = match req.uri().query() {
                Some(query) => format!("{trimmed}?{query}"),
                None => trimmed.to_owned(),
            };
            if let Ok(origin) = Origin::parse_owned(uri) {
                req.set_uri(origin);
            }
        }
    }
}

/// Every error Rocket answers itself (no route, failed guard, panic) in the API's JSON shape.
/// A path that has routes, none for the request's method, is a 405 listing them in `Allow`.
#[catch(default)]
pub fn json_catcher(status: Status, req: &Request<'_>) -> CaughtError {
    if let Some(error) = remembered_failure(req) {
        return CaughtError { error, allow: None };
    }
    if status != Status::NotFound {
        let error = ApiError::from_status(status, status.reason_lossy());
        return CaughtError { error, allow: None };
    }
    let (method, path) = (req.method(), req.uri().path());
    let allowed = allowed_methods(req);
    if allowed.is_empty() || allowed.contains(&method.as_str()) {
        let error = ApiError::from_status(status, format!("no route for {method} {path}"));
        return CaughtError { error, allow: None };
    }
    let allow = allowed.join(", ");
    let error = ApiError::from_status(
        Status::MethodNotAllowed,
        format!("{method} is not allowed on {path}; allowed: {allow}"),
    );
    CaughtError {
        error,
        allow: Some(allow),
    }
}

/// The catcher's answer: the error, with `Allow` on a 405.
pub struct CaughtError {
    error: ApiError,
    allow: Option<String>,
}

impl<'r> Responder<'r, 'static> for CaughtError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = self.error.respond_to(req)?;
        if let Some(allow) = self.allow {
            response.set_header(Header::new("Allow", allow));
        }
        Ok(response)
    }
}

/// The methods of the routes whose path matches the request's, sorted (HEAD with GET, as
/// Rocket answers it).
fn allowed_methods(req: &Request<'_>) -> Vec<&'static str> {
    let path: Vec<&str> = req.uri().path().segments().collect();
    let mut methods: Vec<&'static str> = req
        .rocket()
        .routes()
        .filter(|route| path_matches(route.uri.path(), &path))
        .flat_map(|route| match route.method {
            Method::Get => vec![Method::Get.as_str(), Method::Head.as_str()],
            other => vec![other.as_str()],
        })
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// Whether a route path (`/users/<login>/events`, `/docs/<path..>`) matches the request's
/// path segments.
fn path_matches(pattern: &str, path: &[&str]) -> bool {
    let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    for (i, segment) in pattern.iter().enumerate() {
        let dynamic = segment.starts_with('<') && segment.ends_with('>');
        if dynamic && segment.ends_with("..>") {
            return true;
        }
        match path.get(i) {
            Some(given) if dynamic || given == segment => {}
            _ => return false,
        }
    }
    pattern.len() == path.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::get;
    use rocket::local::blocking::Client;

    #[get("/bytes/<n>")]
    fn bytes(n: usize) -> String {
        "x".repeat(n)
    }

    #[test]
    fn route_paths_match_static_dynamic_and_trailing_segments() {
        let matches = |pattern: &str, path: &str| {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            path_matches(pattern, &segments)
        };
        assert!(matches("/users/<login>/events", "/users/ada/events"));
        assert!(matches("/users", "/users"));
        assert!(matches("/", "/"));
        assert!(matches("/docs/<path..>", "/docs/index.html"));
        assert!(matches("/docs/<path..>", "/docs"));
        assert!(!matches("/users/<login>/events", "/users/ada"));
        assert!(!matches("/users/<login>", "/users/ada/events"));
        assert!(!matches("/users", "/event"));
        assert!(!matches("/", "/users"));
    }

    #[test]
    fn bodies_go_out_in_pieces_sized_to_them_within_bounds() {
        let rocket = rocket::build()
            .attach(LargeBodyChunks)
            .mount("/", rocket::routes![bytes]);
        let client = Client::untracked(rocket).expect("rocket");
        for (size, piece) in [
            (10, Body::DEFAULT_MAX_CHUNK),
            (100_000, 100_000),
            (3 << 20, MAX_BODY_CHUNK),
        ] {
            let response = client.get(format!("/bytes/{size}")).dispatch();
            assert_eq!(response.body().max_chunk_size(), piece, "{size} bytes");
            assert_eq!(response.into_bytes().map(|b| b.len()), Some(size));
        }
    }
}
