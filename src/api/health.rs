//! Liveness, readiness and metrics.

use calendula_core::metrics::MetricsRegistry;
use calendula_core::{ApiError, ApiResult};
use calendula_db::Db;
use rocket::http::ContentType;
use rocket::serde::json::Json;
use rocket::{get, State};
use rocket_okapi::openapi;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthStatus {
    /// `ok` (process alive) or `ready` (a database master known and migrated).
    pub status: &'static str,
}

/// The process is alive.
#[openapi(tag = "Health")]
#[get("/health")]
pub fn health() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// Ready to serve: a database master is known and the migrations have run; 503 otherwise.
#[openapi(tag = "Health")]
#[get("/ready")]
pub fn ready(db: &State<Db>) -> ApiResult<Json<HealthStatus>> {
    match db.readiness() {
        Ok(()) => Ok(Json(HealthStatus { status: "ready" })),
        Err(why) => Err(ApiError::unavailable(why)),
    }
}

/// Prometheus text exposition (format 0.0.4) of the server's gauges and counters.
#[openapi(tag = "Health")]
#[get("/metrics")]
pub fn metrics(db: &State<Db>, registry: &State<MetricsRegistry>) -> (ContentType, String) {
    let prometheus_text =
        ContentType::new("text", "plain").with_params([("version", "0.0.4"), ("charset", "utf-8")]);
    (prometheus_text, db.metrics() + &registry.render())
}
