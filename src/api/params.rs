//! Query parameters, parsed by hand so that a missing or malformed one is a 400 naming it.

use std::marker::PhantomData;

use calendula_core::models::InputDateTime;
use calendula_core::{ApiError, ApiResult};
use rocket::form::{DataField, FromForm, Options, ValueField};
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::okapi::openapi3::{Object, Parameter, ParameterValue};
use rocket_okapi::request::OpenApiFromForm;
use schemars::JsonSchema;

/// A required query parameter as the client sent it: every value given under its name.
/// Rocket's own guards would answer a missing or repeated parameter with a 422 that does
/// not name it; the handler reads this with [`Query::required`] instead. `Doc` is the
/// type the OpenAPI document shows for it (the handler parses the text itself).
pub struct Query<'r, Doc> {
    values: Vec<&'r str>,
    doc: PhantomData<fn() -> Doc>,
}

impl<'r, Doc> Query<'r, Doc> {
    /// The one non-empty value, or a 400 naming the parameter.
    pub fn required(&self, name: &str) -> ApiResult<&'r str> {
        required(name, &self.values)
    }
}

#[rocket::async_trait]
impl<'r, Doc> FromForm<'r> for Query<'r, Doc> {
    type Context = Vec<&'r str>;

    fn init(_: Options) -> Self::Context {
        Vec::new()
    }

    fn push_value(values: &mut Self::Context, field: ValueField<'r>) {
        values.push(field.value);
    }

    async fn push_data(_: &mut Self::Context, _: DataField<'r, '_>) {}

    fn finalize(values: Self::Context) -> rocket::form::Result<'r, Self> {
        Ok(Self {
            values,
            doc: PhantomData,
        })
    }
}

impl<'r, Doc: JsonSchema> OpenApiFromForm<'r> for Query<'r, Doc> {
    fn form_multi_parameter(
        gen: &mut OpenApiGenerator,
        name: String,
        required: bool,
    ) -> rocket_okapi::Result<Vec<Parameter>> {
        Ok(vec![Parameter {
            name,
            location: "query".to_owned(),
            description: None,
            required,
            deprecated: false,
            allow_empty_value: false,
            value: ParameterValue::Schema {
                style: None,
                explode: None,
                allow_reserved: false,
                schema: gen.json_schema::<Doc>(),
                example: None,
                examples: None,
            },
            extensions: Object::default(),
        }])
    }
}

/// The one non-empty value of parameter `name` among those given, or a 400 naming it.
pub fn required<'a>(name: &str, values: &[&'a str]) -> ApiResult<&'a str> {
    let problem = match values {
        [""] => "must not be empty",
        [value] => return Ok(value),
        [] => "is required",
        _ => "is given more than once",
    };
    Err(ApiError::bad_request(
        Some(name),
        format!("query parameter {name} {problem}"),
    ))
}

impl Query<'_, InputDateTime> {
    /// The one value, read as a datetime; a 400 naming the parameter otherwise.
    pub fn datetime(&self, name: &str) -> ApiResult<InputDateTime> {
        datetime(name, self.required(name)?)
    }
}

/// A datetime. An offset written `+01:00` without percent-encoding arrives as ` 01:00`
/// (a query string decodes `+` as a space); it is read as the `+` the client meant.
fn datetime(name: &str, text: &str) -> ApiResult<InputDateTime> {
    InputDateTime::parse(text)
        .or_else(|e| restore_plus(text).map_or(Err(e), |t| InputDateTime::parse(&t)))
        .map_err(|e| ApiError::bad_request(Some(name), e))
}

/// `2026-03-01T00:00:00 01:00` → `2026-03-01T00:00:00+01:00`; `None` if the text does not
/// end in a space and an `HH:MM` offset.
fn restore_plus(text: &str) -> Option<String> {
    let (datetime, offset) = text.trim_end().rsplit_once(' ')?;
    let (hours, minutes) = offset.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    (two_digits(hours) && two_digits(minutes) && datetime.contains('T'))
        .then(|| format!("{datetime}+{offset}"))
}

/// A numeric id from the path; anything else names no resource.
pub fn id(kind: &str, text: &str) -> ApiResult<i64> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("no {kind} {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unencoded_plus_offset_is_read_as_plus() {
        let parsed = datetime("time_from", "2026-03-01T00:00:00 01:00").unwrap();
        let expected = InputDateTime::parse("2026-03-01T00:00:00+01:00").unwrap();
        assert_eq!(parsed, expected);
        assert_eq!(
            datetime("t", "2026-03-01T10:30:00.5 05:30").unwrap(),
            InputDateTime::parse("2026-03-01T10:30:00.5+05:30").unwrap()
        );
    }

    #[test]
    fn a_space_separated_wall_time_is_not_taken_for_an_offset() {
        let parsed = datetime("t", "2026-03-01 10:30").unwrap();
        assert_eq!(parsed, InputDateTime::parse("2026-03-01T10:30").unwrap());
        assert!(datetime("t", "2026-03-01T10:30 1:00").is_err());
    }

    #[test]
    fn a_required_parameter_is_given_once_and_not_empty() {
        assert_eq!(required("p", &["x"]).unwrap(), "x");
        for (values, problem) in [
            (&[][..], "query parameter p is required"),
            (&[""][..], "query parameter p must not be empty"),
            (&["x", "x"][..], "query parameter p is given more than once"),
        ] {
            let error = required("p", values).unwrap_err();
            assert_eq!(error.status.code, 400);
            assert_eq!(error.body.field.as_deref(), Some("p"));
            assert_eq!(error.body.detail, serde_json::json!(problem));
        }
    }
}
