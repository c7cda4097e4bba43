//! Query parameters as the client sent them, so that a missing, empty or repeated one is a
//! 400 naming it (Rocket's own guards would answer a 422 that does not name it).

use std::marker::PhantomData;

use rocket::form::{DataField, FromForm, Options, ValueField};
use rocket_okapi::gen::OpenApiGenerator;
use rocket_okapi::okapi::openapi3::{Object, Parameter, ParameterValue};
use rocket_okapi::request::OpenApiFromForm;
use schemars::JsonSchema;

use crate::{ApiError, ApiResult};

/// A query parameter: every value given under its name. The handler reads it with `get`,
/// which names the parameter in its 400. `Doc` is the type the OpenAPI document shows for
/// it (the handler parses the text itself); `REQUIRED` is whether it must be given.
pub struct Query<'r, Doc, const REQUIRED: bool = true> {
    values: Vec<&'r str>,
    doc: PhantomData<fn() -> Doc>,
}

/// A query parameter that may be left out.
pub type OptionalQuery<'r, Doc> = Query<'r, Doc, false>;

impl<'r, Doc> Query<'r, Doc> {
    /// The one non-empty value, or a 400 naming the parameter.
    pub fn get(&self, name: &str) -> ApiResult<&'r str> {
        required(name, &self.values)
    }
}

impl<'r, Doc> OptionalQuery<'r, Doc> {
    /// The value if one is given (empty counts as none); a 400 naming the parameter if it
    /// is given more than once.
    pub fn get(&self, name: &str) -> ApiResult<Option<&'r str>> {
        match self.values[..] {
            [] | [""] => Ok(None),
            _ => required(name, &self.values).map(Some),
        }
    }
}

#[rocket::async_trait]
impl<'r, Doc, const REQUIRED: bool> FromForm<'r> for Query<'r, Doc, REQUIRED> {
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

impl<'r, Doc: JsonSchema, const REQUIRED: bool> OpenApiFromForm<'r> for Query<'r, Doc, REQUIRED> {
    fn form_multi_parameter(
        gen: &mut OpenApiGenerator,
        name: String,
        required: bool,
    ) -> rocket_okapi::Result<Vec<Parameter>> {
        Ok(vec![Parameter {
            name,
            location: "query".to_owned(),
            description: None,
            required: required && REQUIRED,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn given<const REQUIRED: bool>(values: &[&'static str]) -> Query<'static, String, REQUIRED> {
        Query {
            values: values.to_vec(),
            doc: PhantomData,
        }
    }

    fn problem(error: ApiError) -> String {
        assert_eq!(error.status.code, 400);
        assert_eq!(error.body.field.as_deref(), Some("p"));
        error.body.detail.as_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn a_required_parameter_is_given_once_and_not_empty() {
        assert_eq!(given::<true>(&["x"]).get("p").unwrap(), "x");
        for (values, expected) in [
            (&[][..], "query parameter p is required"),
            (&[""][..], "query parameter p must not be empty"),
            (&["x", "x"][..], "query parameter p is given more than once"),
        ] {
            let error = given::<true>(values).get("p").unwrap_err();
            assert_eq!(problem(error), expected);
        }
    }

    #[test]
    fn an_optional_parameter_is_given_at_most_once() {
        assert_eq!(given::<false>(&["x"]).get("p").unwrap(), Some("x"));
        assert_eq!(given::<false>(&[]).get("p").unwrap(), None);
        assert_eq!(given::<false>(&[""]).get("p").unwrap(), None);
        let error = given::<false>(&["x", "y"]).get("p").unwrap_err();
        assert_eq!(problem(error), "query parameter p is given more than once");
    }
}
