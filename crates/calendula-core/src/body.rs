//! `JsonBody<T>`: the JSON request body guard. Unlike Rocket's `Json`, it tells the client
//! which field is wrong: malformed JSON is a 400, a well-formed body of the wrong shape a
//! 422 naming the JSON path (`participants[2].user.login`).

use std::time::Duration;

use rocket::data::{Data, FromData, Outcome, ToByteUnit};
use rocket::Request;
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::okapi::openapi3::{MediaType, RequestBody};
use rocket_okapi::request::OpenApiFromData;
use schemars::JsonSchema;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::remember_failure;
use crate::strict_structs::StrictStructs;
use crate::ApiError;

/// Body size limit when Rocket.toml sets none for `json` (SPEC: JSON body ≤ 1 MiB).
const DEFAULT_JSON_LIMIT_BYTES: u64 = 1 << 20;

/// How long a request body may take to arrive (managed state; `limits.body_timeout`).
/// Without a deadline a client that stops sending holds its request open forever.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl Default for BodyTimeout {
    fn default() -> Self {
        Self(Duration::from_secs(30))
    }
}

pub struct JsonBody<T>(pub T);

/// Parses `bytes` as JSON into `T`, classifying failures the way the API reports them.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let malformed =
        |e: serde_json::Error| ApiError::bad_request(Some("body"), format!("malformed JSON: {e}"));
    // JSON text is UTF-8 (RFC 8259), but serde_json checks only the strings it keeps:
    // invalid bytes in an ignored field, or a skim for well-formedness, would pass. Checked
    // once here; both parses below read the checked text.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::bad_request(
            Some("body"),
            format!("malformed JSON: not UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize(StrictStructs(&mut deserializer)) {
        Ok(value) => {
            deserializer.end().map_err(malformed)?;
            Ok(value)
        }
        // Whether the JSON is well-formed is asked of the whole body, not of the error: a
        // wrong type can come before a syntax error further on, and serde_json reports
        // some wrong types (`null` or a number for an enum) as syntax errors.
        Err(e) => Err(match serde_json::from_str::<IgnoredAny>(text) {
            Err(syntax) => malformed(syntax),
            Ok(_) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let detail = match inner.classify() {
                    serde_json::error::Category::Data => inner.to_string(),
                    _ => "a value of the wrong type".to_owned(),
                };
                ApiError::invalid(&field_of(&path, &inner), detail)
            }
        }),
    }
}

/// The JSON path to blame: serde reports a missing or repeated field at its parent, so the
/// field's name is taken from the message (`missing field `login``, `duplicate field
/// `login``).
fn field_of(path: &str, error: &serde_json::Error) -> String {
    let message = error.to_string();
    let named = missing_field(&message)
        .or_else(|| message.strip_prefix("duplicate field `")?.split('`').next());
    match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// The request body, up to Rocket.toml's `json` limit (SPEC: 1 MiB); a larger body is a
/// 422 like every other limit of SPEC §3, one that has not arrived by the [`BodyTimeout`]
/// a 408.
pub async fn read_limited(req: &Request<'_>, data: Data<'_>) -> Result<Vec<u8>, ApiError> {
    let limit = req
        .limits()
        .get("json")
        .unwrap_or_else(|| DEFAULT_JSON_LIMIT_BYTES.bytes());
    let BodyTimeout(timeout) = req.rocket().state().copied().unwrap_or_default();
    let Ok(read) = rocket::tokio::time::timeout(timeout, data.open(limit).into_bytes()).await
    else {
        return Err(ApiError::body_timeout(format!(
            "the JSON body did not arrive within {timeout:?}"
        )));
    };
    match read {
        Ok(bytes) if bytes.is_complete() => Ok(bytes.into_inner()),
        Ok(_) => Err(ApiError::invalid(
            "body",
            format!("the JSON body is larger than {limit}"),
        )),
        Err(e) => Err(ApiError::bad_request(Some("body"), e.to_string())),
    }
}

/// The field serde's "missing field `x`" message names (serde reports it at the parent).
pub(crate) fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned + Send> FromData<'r> for JsonBody<T> {
    type Error = ApiError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        match read_limited(req, data)
            .await
            .and_then(|bytes| parse_json(&bytes))
        {
            Ok(value) => Outcome::Success(JsonBody(value)),
            Err(e) => Outcome::Error(remember_failure(req, e)),
        }
    }
}

impl<'r, T: DeserializeOwned + JsonSchema + Send> OpenApiFromData<'r> for JsonBody<T> {
    fn request_body(gen: &mut OpenApiGenerator) -> rocket_okapi::Result<RequestBody> {
        let mut body = RequestBody {
            required: true,
            ..Default::default()
        };
        body.content.insert(
            "application/json".into(),
            MediaType {
                schema: Some(gen.json_schema::<T>()),
                ..Default::default()
            },
        );
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::http::Status;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        n: u8,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Kinds {
        kinds: Vec<Kind>,
    }

    #[derive(Debug, serde::Deserialize)]
    enum Kind {
        A,
    }

    #[test]
    fn syntax_errors_are_400() {
        let e = parse_json::<Sample>(br#"{"items": [}"#).unwrap_err();
        assert_eq!(e.status, Status::BadRequest);
        let e = parse_json::<Sample>(br#"{"items": []} trailing"#).unwrap_err();
        assert_eq!(e.status, Status::BadRequest);
        // A wrong type first, then the body breaks off: still malformed.
        let e = parse_json::<Sample>(br#"{"items": [{"n": "x"}"#).unwrap_err();
        assert_eq!(e.status, Status::BadRequest);
        let e = parse_json::<Sample>("[".repeat(100_000).as_bytes()).unwrap_err();
        assert_eq!(e.status, Status::BadRequest);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_400_wherever_they_are() {
        for body in [
            &b"{\"items\": [], \"note\": \"a\xFFb\"}"[..],
            &b"{\"items\": [{\"n\": \"\xFF\"}]}"[..],
        ] {
            let e = parse_json::<Sample>(body).unwrap_err();
            assert_eq!(e.status, Status::BadRequest, "{body:?}");
            assert!(
                e.body.detail.to_string().contains("not UTF-8"),
                "{}",
                e.body.detail
            );
        }
    }

    #[test]
    fn shape_errors_are_422_with_the_path() {
        let e = parse_json::<Sample>(br#"{"items": [{"n": 1}, {"n": 300}]}"#).unwrap_err();
        assert_eq!(e.status, Status::UnprocessableEntity);
        assert_eq!(e.body.field.as_deref(), Some("items[1].n"));
        let e = parse_json::<Sample>(br#"{}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("items"));
        let e = parse_json::<Sample>(br#"{"items": [{}]}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("items[0].n"));
        let e = parse_json::<Sample>(br#"[]"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("body"));
        // The array form of a struct, which serde would take, is a wrong type.
        let e = parse_json::<Sample>(br#"[[{"n": 1}]]"#).unwrap_err();
        assert_eq!(e.status, Status::UnprocessableEntity);
        assert_eq!(e.body.field.as_deref(), Some("body"));
        let e = parse_json::<Sample>(br#"{"items": [[1]]}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("items[0]"));
        let e = parse_json::<Sample>(br#"{"items": [{"n": 1, "n": 2}]}"#).unwrap_err();
        assert_eq!(e.status, Status::UnprocessableEntity);
        assert_eq!(e.body.field.as_deref(), Some("items[0].n"));
        let e = parse_json::<Sample>(br#"{"items": [], "items": []}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("items"));
    }

    /// serde_json calls these syntax errors, though the JSON is well-formed.
    #[test]
    fn an_enum_given_null_or_a_number_is_422_with_the_path() {
        for kind in ["null", "5", "[]"] {
            let body = format!(r#"{{"kinds": ["A", {kind}]}}"#);
            let e = parse_json::<Kinds>(body.as_bytes()).unwrap_err();
            assert_eq!(e.status, Status::UnprocessableEntity, "{kind}");
            assert_eq!(e.body.field.as_deref(), Some("kinds[1]"), "{kind}");
        }
        assert!(parse_json::<Kinds>(br#"{"kinds": ["A"]}"#).is_ok());
    }
}
