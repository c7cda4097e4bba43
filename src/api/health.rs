//! Liveness, readiness and metrics.

use calendula_core::metrics::MetricsRegistry;
use calendula_core::{ApiError, ApiResult};
use calendula_db::Db;
use rocket::serde::json::Json;
use rocket::{get, State};
use rocket_okapi::openapi;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthStatus {
    /// `ok` (process alive) or `ready` (database reachable).
    pub status: &'static str,
}

/// The process is alive.
#[openapi(tag = "Health")]
#[get("/health")]
pub fn health() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// The database answers; 503 otherwise.
#[openapi(tag = "Health")]
#[get("/ready")]
pub async fn ready(db: &State<Db>) -> ApiResult<Json<HealthStatus>> {
    if db.is_reachable().await {
        Ok(Json(HealthStatus { status: "ready" }))
    } else {
        Err(ApiError::unavailable("the database is not reachable"))
    }
}

/// Prometheus text exposition of the server's gauges and counters.
#[openapi(tag = "Health")]
#[get("/metrics")]
pub fn metrics(db: &State<Db>, registry: &State<MetricsRegistry>) -> String {
    db.metrics() + &registry.render()
}
