//! Query parameters, parsed by hand so that a missing or malformed one is a 400 naming it.

use calendula_core::models::InputDateTime;
use calendula_core::{ApiError, ApiResult};

pub fn required<'a>(name: &str, value: Option<&'a str>) -> ApiResult<&'a str> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| {
        ApiError::bad_request(Some(name), format!("query parameter {name} is required"))
    })
}

pub fn datetime(name: &str, value: Option<&str>) -> ApiResult<InputDateTime> {
    InputDateTime::parse(required(name, value)?).map_err(|e| ApiError::bad_request(Some(name), e))
}

/// A numeric id from the path; anything else names no resource.
pub fn id(kind: &str, text: &str) -> ApiResult<i64> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("no {kind} {text:?}")))
}
