//! Request guards exposing the caller's session to every route, so that the root's handlers
//! need nothing from the `auth` module crate:
//!
//! - [`CurrentUser`]: the session's user if the request presents a valid session, else
//!   nobody; never fails for want of a session (reads, and routes that are always open).
//! - [`Writer`]: the same for a route that writes; when the policy enforces sessions, a
//!   request without a valid one fails here with 401, before its body is read.
//! - [`Session`]: a valid session is required (401 otherwise), whatever the policy.
//!
//! A session is presented as `Authorization: Bearer <id>` or `X-Session-Id: <id>`. It is
//! looked up (and its expiry extended) on the primary, only when a header is present and
//! only when the `auth` module is mounted ([`AuthPolicy`] in managed state); the outcome is
//! cached for the request, so several guards cost one query. A malformed, unknown, expired or
//! revoked id counts as no session; a database failure is the usual 503. A request whose
//! route never looked at the session still extends it, after the response
//! ([`SessionKeepAlive`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calendula_core::error::{operations_mut, remember_failure};
use calendula_core::{ApiError, ApiResult, AuthPolicy};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::request::{FromRequest, Outcome};
use rocket::tokio::sync::Semaphore;
use rocket::{Request, Response};
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::okapi::openapi3::{
    OpenApi, RefOr, SecurityRequirement, SecurityScheme, SecuritySchemeData,
};
use rocket_okapi::request::{OpenApiFromRequest, RequestHeaderInput};

use crate::events::EventDetails;
use crate::pool::Db;
use crate::sessions::{self, SessionHash, SessionId};
use crate::users::{self, UserRow};

/// The header carrying a session id besides `Authorization: Bearer`.
pub const SESSION_HEADER: &str = "X-Session-Id";
/// The OpenAPI security scheme of [`SESSION_HEADER`].
const SESSION_HEADER_SCHEME: &str = "session_header";

/// The name of the security scheme in the OpenAPI document.
pub const SECURITY_SCHEME: &str = "session";

/// A valid session: its user, and the hash it is stored under (to revoke it).
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: UserRow,
    pub hash: SessionHash,
}

/// What a request presented, and what it turned out to be.
#[derive(Debug, Clone)]
enum Presented {
    Nothing,
    Invalid,
    Valid(Box<SessionUser>),
}

/// The session id a request presents, if any header carries one (well-formed or not).
fn presented_id(req: &Request<'_>) -> Option<Result<SessionId, ()>> {
    let bearer = req.headers().get("Authorization").find_map(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    let text = bearer.or_else(|| req.headers().get_one(SESSION_HEADER).map(str::trim))?;
    Some(SessionId::parse(text).ok_or(()))
}

/// Set once a guard has looked the request's session up (and so extended it).
struct LookedUp(AtomicBool);

fn looked_up<'r>(req: &'r Request<'_>) -> &'r AtomicBool {
    &req.local_cache(|| LookedUp(AtomicBool::new(false))).0
}

async fn lookup(req: &Request<'_>) -> ApiResult<Presented> {
    looked_up(req).store(true, Ordering::Relaxed);
    // Without the auth module nothing can be presented: sessions do not exist.
    let Some(policy) = AuthPolicy::mounted(req.rocket()).copied() else {
        return Ok(Presented::Nothing);
    };
    let id = match presented_id(req) {
        None => return Ok(Presented::Nothing),
        Some(Err(())) => return Ok(Presented::Invalid),
        Some(Ok(id)) => id,
    };
    let db = req
        .rocket()
        .state::<Db>()
        .ok_or_else(|| ApiError::internal("database pool is not managed"))?;
    let hash = id.hash();
    // The connection is released before the handler's own guard takes one. Using a session
    // extends it on the primary; while no primary is reachable a replica can still tell
    // whether it is valid, so reads keep working through a failover.
    let (found, conn) = match db.write().await {
        Ok(mut conn) => (
            sessions::touch(&mut conn, &hash, policy.session_ttl).await?,
            conn,
        ),
        Err(_) => {
            let mut conn = db.read().await?;
            (
                sessions::find_valid(&mut conn, &hash, policy.session_ttl).await?,
                conn,
            )
        }
    };
    let Some(user_id) = found else {
        return Ok(Presented::Invalid);
    };
    let user = users::find_by_ids(&conn, &[user_id]).await?.pop();
    Ok(user.map_or(Presented::Invalid, |user| {
        Presented::Valid(Box::new(SessionUser { user, hash }))
    }))
}

/// The request's session, looked up at most once per request.
async fn presented<'r>(req: &'r Request<'_>) -> &'r ApiResult<Presented> {
    req.local_cache_async(lookup(req)).await
}

fn unauthorized(presented: &Presented) -> ApiError {
    match presented {
        Presented::Invalid => ApiError::unauthorized("the session is invalid, expired or revoked"),
        _ => ApiError::unauthorized(format!(
            "a session is required: send Authorization: Bearer <id> or {SESSION_HEADER}: <id> \
             with an id from POST /auth/"
        )),
    }
}

/// The caller: the session's user, or nobody.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub session: Option<SessionUser>,
    pub policy: AuthPolicy,
}

impl CurrentUser {
    pub fn user(&self) -> Option<&UserRow> {
        self.session.as_ref().map(|s| &s.user)
    }

    /// Whether the caller sees `event`'s name, description, participants and reminders.
    pub fn sees_details_of(&self, event: &EventDetails) -> bool {
        let member = self.user().is_some_and(|u| event.is_member(u.id));
        self.policy.shows_details(member)
    }
}

/// The caller of a write: under enforcement, always a session's user.
#[derive(Debug, Clone)]
pub struct Writer(pub CurrentUser);

impl std::ops::Deref for Writer {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

/// A valid session, required.
#[derive(Debug, Clone)]
pub struct Session(pub SessionUser);

async fn current<'r>(req: &'r Request<'_>) -> Result<(CurrentUser, &'r Presented), ApiError> {
    let presented = presented(req).await.as_ref().map_err(Clone::clone)?;
    let session = match presented {
        Presented::Valid(session) => Some(SessionUser::clone(session)),
        _ => None,
    };
    let policy = AuthPolicy::of(req.rocket());
    Ok((CurrentUser { session, policy }, presented))
}

fn fail<T>(req: &Request<'_>, error: ApiError) -> Outcome<T, ApiError> {
    Outcome::Error(remember_failure(req, error))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        // Reads only consult the caller to hide details from non-members, which happens
        // only under enforcement: otherwise a presented session costs no database work.
        let policy = AuthPolicy::of(req.rocket());
        if !policy.enforce {
            return Outcome::Success(CurrentUser {
                session: None,
                policy,
            });
        }
        match current(req).await {
            Ok((caller, _)) => Outcome::Success(caller),
            Err(e) => fail(req, e),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Writer {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        match current(req).await {
            Ok((caller, presented)) if caller.policy.enforce && caller.session.is_none() => {
                fail(req, unauthorized(presented))
            }
            Ok((caller, _)) => Outcome::Success(Writer(caller)),
            Err(e) => fail(req, e),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Session {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        match current(req).await {
            Ok((
                CurrentUser {
                    session: Some(s), ..
                },
                _,
            )) => Outcome::Success(Session(s)),
            Ok((_, presented)) => fail(req, unauthorized(presented)),
            Err(e) => fail(req, e),
        }
    }
}

/// Sliding expiry for every use of a session: extends a presented session when the route
/// did not look it up (reads while sessions are not enforced, routes that ignore the
/// caller). The touch runs in the background after the response, at most once per
/// [`sessions::touch_granularity`] per session on this instance, so such reads cost no
/// database work of their own. Attached by the `auth` module.
pub struct SessionKeepAlive {
    /// When this instance last extended each recently used session.
    touched: Mutex<HashMap<SessionHash, Instant>>,
    /// Touches running at once; beyond that a use is not recorded (a flood of made-up ids
    /// must not pile up tasks waiting for the primary).
    running: Arc<Semaphore>,
}

/// Sessions remembered by [`SessionKeepAlive`] before the stale ones are forgotten.
const KEEP_ALIVE_MEMORY: usize = 10_000;
/// Background touches at once.
const KEEP_ALIVE_TOUCHES: usize = 4;

impl Default for SessionKeepAlive {
    fn default() -> Self {
        Self {
            touched: Mutex::default(),
            running: Arc::new(Semaphore::new(KEEP_ALIVE_TOUCHES)),
        }
    }
}

impl SessionKeepAlive {
    /// Whether `hash` is due for a touch now (and, if so, marks it touched).
    fn due(&self, hash: SessionHash, every: Duration) -> bool {
        let Ok(mut touched) = self.touched.lock() else {
            return false;
        };
        let now = Instant::now();
        if touched.get(&hash).is_some_and(|at| now - *at < every) {
            return false;
        }
        if touched.len() >= KEEP_ALIVE_MEMORY {
            touched.retain(|_, at| now - *at < every);
        }
        if touched.len() < KEEP_ALIVE_MEMORY {
            touched.insert(hash, now);
        }
        true
    }
}

#[rocket::async_trait]
impl Fairing for SessionKeepAlive {
    fn info(&self) -> Info {
        Info {
            name: "session keep-alive",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, _: &mut Response<'r>) {
        let Some(policy) = AuthPolicy::mounted(req.rocket()).copied() else {
            return;
        };
        let Some(Ok(id)) = presented_id(req) else {
            return;
        };
        if looked_up(req).load(Ordering::Relaxed) {
            return;
        }
        let Some(db) = req.rocket().state::<Db>().cloned() else {
            return;
        };
        let Ok(permit) = self.running.clone().try_acquire_owned() else {
            return;
        };
        let hash = id.hash();
        if !self.due(hash, sessions::touch_granularity(policy.session_ttl)) {
            return;
        }
        // A failed touch only leaves the session to expire a little sooner.
        rocket::tokio::spawn(async move {
            if let Ok(mut conn) = db.write().await {
                let _ = sessions::touch(&mut conn, &hash, policy.session_ttl).await;
            }
            drop(permit);
        });
    }
}

/// The `session` security scheme: a bearer token (or the `X-Session-Id` header).
fn security() -> RequestHeaderInput {
    let scheme = SecurityScheme {
        description: Some(format!(
            "A session id from `POST /auth/`, sent as `Authorization: Bearer <id>` or \
             `{SESSION_HEADER}: <id>`. Required by `GET /auth/me` and `DELETE /auth/`; with \
             `modules.auth.enforce`, by every write but sign-up and log-in; on reads it shows \
             the details of the caller's own events."
        )),
        data: SecuritySchemeData::Http {
            scheme: "bearer".to_owned(),
            bearer_format: Some("64 hex digits".to_owned()),
        },
        extensions: Default::default(),
    };
    let mut requirement = SecurityRequirement::new();
    requirement.insert(SECURITY_SCHEME.to_owned(), Vec::new());
    RequestHeaderInput::Security(SECURITY_SCHEME.to_owned(), scheme, requirement)
}

/// The `X-Session-Id` header, documented as a second scheme that any operation taking a
/// session also accepts (a guard can name one scheme; OpenAPI lists alternatives per
/// operation). Called on the merged document.
pub fn document_session_header(spec: &mut OpenApi) {
    let header = SecurityScheme {
        description: Some(format!(
            "The session id of `POST /auth/` in the `{SESSION_HEADER}` header, instead of \
             `Authorization: Bearer`."
        )),
        data: SecuritySchemeData::ApiKey {
            name: SESSION_HEADER.to_owned(),
            location: "header".to_owned(),
        },
        extensions: Default::default(),
    };
    let mut alternative = SecurityRequirement::new();
    alternative.insert(SESSION_HEADER_SCHEME.to_owned(), Vec::new());
    let mut documented = false;
    for operation in operations_mut(spec) {
        let Some(security) = operation.security.as_mut() else {
            continue;
        };
        if security.iter().any(|r| r.contains_key(SECURITY_SCHEME)) {
            security.push(alternative.clone());
            documented = true;
        }
    }
    if documented {
        let components = spec.components.get_or_insert_with(Default::default);
        components
            .security_schemes
            .insert(SESSION_HEADER_SCHEME.to_owned(), RefOr::Object(header));
    }
}

macro_rules! documented_as_session {
    ($($guard:ty),*) => {$(
        impl<'r> OpenApiFromRequest<'r> for $guard {
            fn from_request_input(
                _: &mut OpenApiGenerator,
                _: String,
                _: bool,
            ) -> rocket_okapi::Result<RequestHeaderInput> {
                Ok(security())
            }
        }
    )*};
}

documented_as_session!(CurrentUser, Writer, Session);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_touched_once_per_granularity_and_memory_stays_bounded() {
        let keep_alive = SessionKeepAlive::default();
        let every = Duration::from_millis(50);
        let hash = SessionId::generate().hash();
        assert!(keep_alive.due(hash, every), "first use");
        assert!(!keep_alive.due(hash, every), "again at once");
        std::thread::sleep(every);
        assert!(keep_alive.due(hash, every), "again after the granularity");

        let long = Duration::from_secs(60);
        for _ in 0..KEEP_ALIVE_MEMORY + 10 {
            assert!(keep_alive.due(SessionId::generate().hash(), long));
        }
        assert!(keep_alive.touched.lock().unwrap().len() <= KEEP_ALIVE_MEMORY);
    }
}
