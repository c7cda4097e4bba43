//! Request guards that hand a handler its database connection: `ReadConn` for routes that
//! only read, `WriteConn` for routes that write.

use std::ops::{Deref, DerefMut};

use calendula_core::error::remember_failure;
use calendula_core::{ApiError, ApiResult};
use diesel_async::AsyncPgConnection;
use rocket::request::{FromRequest, Outcome};
use rocket::Request;
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::request::{OpenApiFromRequest, RequestHeaderInput};

use crate::pool::{Conn, Db};

macro_rules! connection_guard {
    ($name:ident, $acquire:ident, $doc:literal) => {
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
                    Ok(conn) => Outcome::Success($name(conn)),
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

connection_guard!(ReadConn, read, "A connection for a read-only route.");
connection_guard!(
    WriteConn,
    write,
    "A connection on the primary, for a route that writes."
);

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
