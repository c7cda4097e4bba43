//! Request guards that hand a handler its database connection: `ReadConn` for routes that
//! only read, `WriteConn` for routes that write.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use calendula_core::error::remember_failure;
use calendula_core::{ApiError, ApiResult};
use diesel_async::AsyncPgConnection;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::request::{FromRequest, Outcome};
use rocket::{Request, Response};
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::request::{OpenApiFromRequest, RequestHeaderInput};

use crate::pool::{Conn, Db};

macro_rules! connection_guard {
    ($name:ident, $acquire:ident, $on_acquired:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(Conn);

        impl Deref for $name {
            type Target = AsyncPgConnection;
            fn deref(&self) -> &AsyncPgConnection {
                &self.0
            }
        }

        impl DerefMut for $name {
            fn deref_mut(&mut self) -> &mut AsyncPgConnection {
                &mut self.0
            }
        }

        #[rocket::async_trait]
        impl<'r> FromRequest<'r> for $name {
            type Error = ApiError;

            async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
                match acquire(req, |db| Box::pin(db.$acquire())).await {
                    Ok(conn) => {
                        ($on_acquired)(req);
                        Outcome::Success($name(conn))
                    }
                    Err(e) => Outcome::Error(remember_failure(req, e)),
                }
            }
        }

        impl<'r> OpenApiFromRequest<'r> for $name {
            fn from_request_input(
                _: &mut OpenApiGenerator,
                _: String,
                _: bool,
            ) -> rocket_okapi::Result<RequestHeaderInput> {
                Ok(RequestHeaderInput::None)
            }
        }
    };
}

connection_guard!(
    ReadConn,
    read,
    |_: &Request<'_>| {},
    "A connection for a read-only route."
);
connection_guard!(
    WriteConn,
    write,
    |req: &Request<'_>| wrote(req).store(true, Ordering::Relaxed),
    "A connection on the primary, for a route that writes."
);

/// Whether the request took a [`WriteConn`].
fn wrote<'r>(req: &'r Request<'_>) -> &'r AtomicBool {
    &req.local_cache(|| TookWriteConn(AtomicBool::new(false))).0
}

struct TookWriteConn(AtomicBool);

/// Records the master's WAL position after each request that wrote successfully, so that
/// reads right after it see the write even when a replica serves them
/// ([`pg_multihost::MultiHostPool::record_write`]): a client that creates a user and then
/// asks for it is not told 404 by a replica a millisecond behind.
pub struct ReadYourWrites;

#[rocket::async_trait]
impl Fairing for ReadYourWrites {
    fn info(&self) -> Info {
        Info {
            name: "read your writes",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if !wrote(req).load(Ordering::Relaxed) || !res.status().class().is_success() {
            return;
        }
        if let Some(db) = req.rocket().state::<Db>() {
            if let Err(e) = db.pool().record_write().await {
                log::debug!(target: "calendula::db", "recording the write position: {e}");
            }
        }
    }
}

type Acquire<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<Conn>> + Send + 'a>>;

async fn acquire<'r>(
    req: &'r Request<'_>,
    how: impl FnOnce(&'r Db) -> Acquire<'r>,
) -> ApiResult<Conn> {
    let db = req
        .rocket()
        .state::<Db>()
        .ok_or_else(|| ApiError::internal("database pool is not managed"))?;
    how(db).await
}
