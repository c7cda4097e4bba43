//! The one error type of the HTTP API. Every failure leaves the server as
//! `{"error": "<short reason>", "detail": ..., "field": "<json path>"}` with a fitting status;
//! `field` is present when one input field is to blame.

use std::io::Cursor;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder};
use rocket::{Request, Route};
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::okapi::openapi3::{MediaType, OpenApi, Operation, RefOr, Response, Responses};
use rocket_okapi::response::OpenApiResponderInner;
use schemars::JsonSchema;
use serde::Serialize;

pub type ApiResult<T> = Result<T, ApiError>;

/// Seconds a client is asked to wait when no database host can serve it.
const RETRY_AFTER_SECS: u32 = 1;

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// A short, stable reason, e.g. `"validation failed"`.
    pub error: String,
    /// What exactly is wrong: a sentence, or a list (e.g. of unknown logins).
    pub detail: serde_json::Value,
    /// JSON path (body) or parameter name (query) of the offending input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status}: {} ({})", body.error, body.detail)]
pub struct ApiError {
    pub status: Status,
    /// Boxed: an `ApiError` travels in every `Result` of the request path.
    pub body: Box<ErrorBody>,
    /// A statement found its database host read-only or gone: the hosts' roles are
    /// re-checked when this is answered (see [`RecheckDatabaseHosts`]).
    host_fault: bool,
}

/// Managed state the database layer provides: has every database host checked now rather
/// than at its next period. diesel-async reports a failure that arrives with a statement's
/// rows (`INSERT … RETURNING` on a server that turned read-only) only to the caller, so the
/// pool's own instrumentation misses it; the 503 it becomes calls this on its way out.
pub struct RecheckDatabaseHosts(pub Box<dyn Fn() + Send + Sync>);

impl ApiError {
    fn new(
        status: Status,
        error: &str,
        detail: impl Into<serde_json::Value>,
        field: Option<&str>,
    ) -> Self {
        let body = Box::new(ErrorBody {
            error: error.into(),
            detail: detail.into(),
            field: field.map(str::to_owned),
        });
        Self {
            status,
            body,
            host_fault: false,
        }
    }

    /// 400: the request itself is malformed (JSON syntax, query parameter types).
    pub fn bad_request(field: Option<&str>, detail: impl Into<serde_json::Value>) -> Self {
        Self::new(Status::BadRequest, "bad request", detail, field)
    }

    /// 408: the request body did not arrive in time (`limits.body_timeout`).
    pub fn body_timeout(detail: impl Into<serde_json::Value>) -> Self {
        Self::new(
            Status::RequestTimeout,
            "request timeout",
            detail,
            Some("body"),
        )
    }

    /// 404: the resource named in the path does not exist.
    pub fn not_found(detail: impl Into<serde_json::Value>) -> Self {
        Self::new(Status::NotFound, "not found", detail, None)
    }

    /// 409: the request collides with existing data (duplicate login).
    pub fn conflict(field: &str, detail: impl Into<serde_json::Value>) -> Self {
        Self::new(Status::Conflict, "conflict", detail, Some(field))
    }

    /// 422: well-formed, but breaks a rule.
    pub fn invalid(field: &str, detail: impl Into<serde_json::Value>) -> Self {
        Self::new(
            Status::UnprocessableEntity,
            "validation failed",
            detail,
            Some(field),
        )
    }

    /// 422: logins in the body that name no user; `detail` lists them.
    pub fn unknown_logins(field: &str, logins: Vec<String>) -> Self {
        Self::new(
            Status::UnprocessableEntity,
            "unknown logins",
            logins,
            Some(field),
        )
    }

    pub fn unauthorized(detail: impl Into<serde_json::Value>) -> Self {
        Self::new(Status::Unauthorized, "unauthorized", detail, None)
    }

    pub fn forbidden(detail: impl Into<serde_json::Value>) -> Self {
        Self::new(Status::Forbidden, "forbidden", detail, None)
    }

    /// 503 + `Retry-After`: no database host can serve the request right now.
    pub fn unavailable(detail: impl Into<serde_json::Value>) -> Self {
        Self::new(
            Status::ServiceUnavailable,
            "service unavailable",
            detail,
            None,
        )
    }

    /// 503 for a statement that found its host read-only or gone: answering it has the
    /// hosts re-checked.
    fn host_fault(e: &DieselError) -> Self {
        Self {
            host_fault: true,
            ..Self::unavailable(format!("database unavailable: {e}"))
        }
    }

    /// 500: a bug or an unexpected failure. The cause is logged, never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        log::error!(target: "calendula::error", "internal error: {cause}");
        Self::new(
            Status::InternalServerError,
            "internal error",
            "the server failed; see its log",
            None,
        )
    }

    /// An error for a status Rocket produced itself (catchers).
    pub fn from_status(status: Status, detail: impl Into<serde_json::Value>) -> Self {
        let reason = status.reason_lossy().to_ascii_lowercase();
        Self::new(status, &reason, detail, None)
    }
}

impl From<DieselError> for ApiError {
    fn from(e: DieselError) -> Self {
        match database_fault(&e) {
            Some(DatabaseFault::Host) => ApiError::host_fault(&e),
            Some(DatabaseFault::Transient) => {
                ApiError::unavailable(format!("database unavailable: {e}"))
            }
            None if matches!(e, DieselError::NotFound) => ApiError::not_found("no such record"),
            None => ApiError::internal(format!("database error: {e}")),
        }
    }
}

/// Why a statement failed when the request itself is not to blame: it may succeed on retry,
/// so it is answered 503.
enum DatabaseFault {
    /// The host is not what it was taken for: its role is re-checked.
    Host,
    /// The host is fine; this one statement could not be served.
    Transient,
}

fn database_fault(e: &DieselError) -> Option<DatabaseFault> {
    let (kind, message) = match e {
        DieselError::BrokenTransactionManager => return Some(DatabaseFault::Host),
        DieselError::DatabaseError(kind, info) => (kind, info.message()),
        _ => return None,
    };
    match kind {
        // A write that reached a host which is (no longer) the primary, or a host that went
        // away mid-query (diesel-async reports a lost connection as "unable to send
        // command").
        DatabaseErrorKind::ReadOnlyTransaction
        | DatabaseErrorKind::ClosedConnection
        | DatabaseErrorKind::UnableToSendCommand => Some(DatabaseFault::Host),
        // SQLSTATE 40001, e.g. a replica cancelling a read that conflicts with the WAL it
        // replays.
        DatabaseErrorKind::SerializationFailure => Some(DatabaseFault::Transient),
        // diesel exposes these SQLSTATEs only through the message: a server shutting down
        // terminates sessions (57P01/02); a host without the schema (42P01: a replica of a
        // master that was not migrated, after a split brain or a failover to a stale host).
        _ if message.starts_with("terminating connection")
            || (message.starts_with("relation \"") && message.ends_with("\" does not exist")) =>
        {
            Some(DatabaseFault::Host)
        }
        // A replica's recovery conflict reported as 40P01 (a buffer-pin deadlock), or a
        // deadlock between two transactions (40P01): PostgreSQL cancelled this one so that
        // the other could go on, and a retry normally succeeds.
        _ if message.starts_with("canceling statement due to conflict with recovery")
            || message == "deadlock detected" =>
        {
            Some(DatabaseFault::Transient)
        }
        _ => None,
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        if self.host_fault {
            if let Some(recheck) = req.rocket().state::<RecheckDatabaseHosts>() {
                (recheck.0)();
            }
        }
        let json = serde_json::to_string(&self.body).map_err(|_| Status::InternalServerError)?;
        let mut response = rocket::Response::build();
        response
            .status(self.status)
            .header(ContentType::JSON)
            .sized_body(json.len(), Cursor::new(json));
        if self.status == Status::ServiceUnavailable {
            response.header(Header::new("Retry-After", RETRY_AFTER_SECS.to_string()));
        }
        if self.status == Status::Unauthorized {
            // RFC 9110: a 401 names the scheme that would be accepted (a session id, SPEC §8).
            response.header(Header::new("WWW-Authenticate", "Bearer"));
        }
        Ok(response.finalize())
    }
}

impl OpenApiResponderInner for ApiError {
    fn responses(gen: &mut OpenApiGenerator) -> rocket_okapi::Result<Responses> {
        let schema = gen.json_schema::<ErrorBody>();
        let describe = |text: &str| {
            let mut response = Response {
                description: text.to_owned(),
                ..Default::default()
            };
            response.content.insert(
                "application/json".to_owned(),
                MediaType {
                    schema: Some(schema.clone()),
                    ..Default::default()
                },
            );
            RefOr::Object(response)
        };
        let mut responses = Responses::default();
        for (code, text) in DOCUMENTED_ERRORS {
            responses.responses.insert(code.to_string(), describe(text));
        }
        Ok(responses)
    }
}

/// Every status an [`ApiError`] can have, as the OpenAPI document describes it. Each
/// operation is then narrowed to those it answers ([`narrow_documented_errors`]).
const DOCUMENTED_ERRORS: [(u16, &str); 9] = [
    (400, "Malformed JSON body or query parameter."),
    (
        408,
        "The JSON body did not arrive within `limits.body_timeout`.",
    ),
    (404, "The user or event named in the path does not exist."),
    (409, "Duplicate (e.g. the login is taken)."),
    (
        422,
        "A well-formed request that breaks a rule; `field` names the input.",
    ),
    (401, "A valid session is required."),
    (403, "The session's user may not do this."),
    (
        503,
        "No database host can serve the request; retry after `Retry-After` seconds.",
    ),
    (500, "Server failure (a bug)."),
];

/// A module's routes with each operation's error statuses narrowed to those in `answers`
/// (see [`narrow_documented_errors`]; its unit tests check that the list is complete).
pub fn with_documented_errors(
    (routes, mut spec): (Vec<Route>, OpenApi),
    answers: &[(&str, &[u16])],
) -> (Vec<Route>, OpenApi) {
    let problems = narrow_documented_errors(&mut spec, answers);
    debug_assert!(problems.is_empty(), "{problems:?}");
    (routes, spec)
}

/// Every operation of `spec` (the methods Calendula serves).
pub fn operations_mut(spec: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    spec.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// Keeps, for each operation named by its id in `answers`, only the error statuses listed
/// there (and 500, which any can answer). Returns the problems: an operation documenting
/// `ApiError` that `answers` leaves out, or an id `answers` names that is not in `spec`.
pub fn narrow_documented_errors(spec: &mut OpenApi, answers: &[(&str, &[u16])]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for operation in operations_mut(spec) {
        let id = operation.operation_id.clone().unwrap_or_default();
        let responses = &mut operation.responses.responses;
        if !responses.contains_key("500") {
            continue;
        }
        let Some((_, codes)) = answers.iter().find(|(listed, _)| *listed == id) else {
            problems.push(format!("operation {id:?} does not list its errors"));
            continue;
        };
        found.push(id);
        responses.retain(|code, _| {
            let code: u16 = code.parse().unwrap_or_default();
            let is_error = DOCUMENTED_ERRORS.iter().any(|(c, _)| *c == code);
            !is_error || code == 500 || codes.contains(&code)
        });
    }
    for (id, _) in answers {
        if !found.iter().any(|f| f == id) {
            problems.push(format!("no operation {id:?} documents ApiError"));
        }
    }
    problems
}

/// Where a failed request guard leaves its error for the catcher that answers for it, so
/// the response carries the real reason and field instead of a generic status text.
struct GuardFailure(std::sync::Mutex<Option<ApiError>>);

/// Records `error` for the catcher and returns what a guard's `Outcome::Error` needs.
pub fn remember_failure(req: &Request<'_>, error: ApiError) -> (Status, ApiError) {
    let slot = req.local_cache(|| GuardFailure(std::sync::Mutex::new(None)));
    if let Ok(mut slot) = slot.0.lock() {
        slot.get_or_insert_with(|| error.clone());
    }
    (error.status, error)
}

/// The error a guard recorded for this request, if any (used by catchers).
pub fn remembered_failure(req: &Request<'_>) -> Option<ApiError> {
    let slot = req.local_cache(|| GuardFailure(std::sync::Mutex::new(None)));
    slot.0.lock().ok().and_then(|slot| slot.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_or_read_only_database_is_a_503() {
        for kind in [
            DatabaseErrorKind::ReadOnlyTransaction,
            DatabaseErrorKind::UnableToSendCommand,
            DatabaseErrorKind::ClosedConnection,
        ] {
            let e = DieselError::DatabaseError(kind, Box::new("gone".to_string()));
            let error = ApiError::from(e);
            assert_eq!(error.status, Status::ServiceUnavailable);
            assert!(error.host_fault, "{kind:?}");
        }
        let shutdown = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("terminating connection due to administrator command".to_string()),
        );
        assert_eq!(ApiError::from(shutdown).status, Status::ServiceUnavailable);
        let recovery_conflicts = [
            DieselError::DatabaseError(
                DatabaseErrorKind::SerializationFailure,
                Box::new("canceling statement due to conflict with recovery".to_string()),
            ),
            DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new("canceling statement due to conflict with recovery".to_string()),
            ),
            DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new("deadlock detected".to_string()),
            ),
        ];
        let no_schema = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("relation \"users\" does not exist".to_string()),
        );
        assert_eq!(ApiError::from(no_schema).status, Status::ServiceUnavailable);
        for e in recovery_conflicts {
            let error = ApiError::from(e);
            assert_eq!(error.status, Status::ServiceUnavailable);
            assert!(!error.host_fault, "the replica itself is fine");
        }
        let bug = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("syntax error".to_string()),
        );
        assert_eq!(ApiError::from(bug).status, Status::InternalServerError);
    }
}
