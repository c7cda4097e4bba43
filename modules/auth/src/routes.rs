//! `POST /auth/`, `GET /auth/me`, `DELETE /auth/`.

use std::fmt;

use calendula_core::body::{parse_json, read_limited};
use calendula_core::error::{remember_failure, with_documented_errors};
use calendula_core::models::UserFull;
use calendula_core::{password, ApiError, ApiResult, OptionalQuery};
use calendula_db::sessions::{self, SessionId};
use calendula_db::{Db, Session, WriteConn};
use rocket::data::{Data, FromData, Outcome};
use rocket::http::Header;
use rocket::response::status::NoContent;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{delete, get, post, Request, Route, State};
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::okapi::openapi3::{MediaType, OpenApi, RequestBody, Responses};
use rocket_okapi::request::OpenApiFromData;
use rocket_okapi::response::OpenApiResponderInner;
use rocket_okapi::settings::OpenApiSettings;
use rocket_okapi::{openapi, openapi_get_routes_spec};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Auth;

const LOG: &str = "calendula::auth";

/// The error statuses each operation answers besides 500 (see the root's `api::ERRORS`).
const ERRORS: &[(&str, &[u16])] = &[
    ("open_session", &[400, 401, 408, 422, 503]),
    ("me", &[401, 503]),
    ("close_session", &[401, 503]),
];

pub fn routes(settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
    with_documented_errors(openapi_routes(settings), ERRORS)
}

fn openapi_routes(settings: &OpenApiSettings) -> (Vec<Route>, OpenApi) {
    openapi_get_routes_spec![settings: open_session, me, close_session]
}

/// `POST /auth/` body.
#[derive(Deserialize, JsonSchema)]
pub struct Credentials {
    /// May be omitted when the query gives it (`?login=`).
    #[serde(default)]
    pub login: Option<String>,
    /// Needed when the user has a password (always, with `require_passwords`).
    #[serde(default)]
    pub password: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// An optional JSON body: none (or only whitespace) is `None`, anything else must be
/// [`Credentials`] (400 malformed, 422 wrong shape, like every other body).
pub struct OptionalCredentials(Option<Credentials>);

#[rocket::async_trait]
impl<'r> FromData<'r> for OptionalCredentials {
    type Error = ApiError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        let bytes = match read_limited(req, data).await {
            Ok(bytes) => bytes,
            Err(e) => return Outcome::Error(remember_failure(req, e)),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Outcome::Success(OptionalCredentials(None));
        }
        match parse_json(&bytes) {
            Ok(credentials) => Outcome::Success(OptionalCredentials(Some(credentials))),
            Err(e) => Outcome::Error(remember_failure(req, e)),
        }
    }
}

impl<'r> OpenApiFromData<'r> for OptionalCredentials {
    fn request_body(gen: &mut OpenApiGenerator) -> rocket_okapi::Result<RequestBody> {
        let mut body = RequestBody {
            description: Some(
                "Optional: without a body the login comes from `?login=` (then only a user \
                 without a password can open a session). With `?login=`, the body may hold \
                 the password alone."
                    .to_owned(),
            ),
            required: false,
            ..Default::default()
        };
        body.content.insert(
            "application/json".into(),
            MediaType {
                schema: Some(gen.json_schema::<Credentials>()),
                ..Default::default()
            },
        );
        Ok(body)
    }
}

/// A response that must not be cached (it carries a secret).
pub struct NoStore<R>(R);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for NoStore<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = self.0.respond_to(req)?;
        response.set_header(Header::new("Cache-Control", "no-store"));
        Ok(response)
    }
}

impl<R: OpenApiResponderInner> OpenApiResponderInner for NoStore<R> {
    fn responses(gen: &mut OpenApiGenerator) -> rocket_okapi::Result<Responses> {
        R::responses(gen)
    }
}

/// The one refusal for an unknown login, a wrong or missing password.
fn refused() -> ApiError {
    ApiError::unauthorized("unknown login or wrong password")
}

/// Open a session. The login comes from `?login=` (the original form) or from a JSON body
/// `{"login", "password"}`; a user with a password must give it. Answers the session id
/// (64 hex digits, shown only this once), to send as `Authorization: Bearer <id>` or
/// `X-Session-Id: <id>`. An unknown login and a wrong password get the same 401.
#[openapi(tag = "Auth")]
#[post("/?<login>", data = "<body>")]
pub async fn open_session(
    auth: &State<Auth>,
    db: &State<Db>,
    login: OptionalQuery<'_, String>,
    body: OptionalCredentials,
) -> ApiResult<NoStore<Json<String>>> {
    let (login, given) = credentials(login.get("login")?, body.0)?;
    let require_passwords = auth.config().require_passwords;
    // Exactly one argon2id verification per refusal, whether the login exists or not. No
    // database connection is held while it runs.
    let found = sessions::find_credentials(&mut *db.write().await?, &login).await?;
    let (user, hash) = match found {
        Some((user, Some(hash))) => (Some(user), Some(hash)),
        Some((user, None)) if !require_passwords && given.is_none() => (Some(user), None),
        _ => (None, Some(auth.dummy_hash().await)),
    };
    let verified = match hash {
        None => true,
        Some(hash) => {
            let given = given.unwrap_or_default();
            rocket::tokio::task::spawn_blocking(move || password::verify(&given, &hash))
                .await
                .map_err(ApiError::internal)?
        }
    };
    let user = match user {
        Some(user) if verified => user,
        Some(user) => {
            log::info!(target: LOG, "log-in refused for {:?}", user.login);
            return Err(refused());
        }
        None => {
            log::info!(target: LOG, "log-in refused (unknown login or no password)");
            return Err(refused());
        }
    };
    let id = SessionId::generate();
    sessions::create(&mut *db.write().await?, user.id, &id.hash()).await?;
    log::info!(target: LOG, "session opened for {:?}", user.login);
    Ok(NoStore(Json(id.expose().to_owned())))
}

/// The login (from the query, the body or both, which must agree) and the password given.
fn credentials(
    query: Option<&str>,
    body: Option<Credentials>,
) -> ApiResult<(String, Option<String>)> {
    let Some(Credentials { login, password }) = body else {
        return match query {
            Some(query) => Ok((query.to_owned(), None)),
            None => Err(ApiError::bad_request(
                Some("login"),
                "query parameter login is required (or a JSON body {\"login\", \"password\"})",
            )),
        };
    };
    match (query, login) {
        (Some(query), Some(body)) if query != body => Err(ApiError::invalid(
            "login",
            "the login in the query and in the body differ",
        )),
        (_, Some(login)) => Ok((login, password)),
        (Some(query), None) => Ok((query.to_owned(), password)),
        (None, None) => Err(ApiError::invalid(
            "login",
            "login is required, in the body or as ?login=",
        )),
    }
}

/// The user whose session this is.
#[openapi(tag = "Auth")]
#[get("/me")]
pub async fn me(session: Session) -> ApiResult<Json<UserFull>> {
    Ok(Json(session.0.user.full()))
}

/// Log out: revoke the presented session.
#[openapi(tag = "Auth")]
#[delete("/")]
pub async fn close_session(session: Session, mut conn: WriteConn) -> ApiResult<NoContent> {
    sessions::revoke(&mut conn, &session.0.hash).await?;
    log::info!(target: LOG, "session closed for {:?}", session.0.user.login);
    Ok(NoContent)
}
