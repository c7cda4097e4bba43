//! Loading config.yaml: core sections typed with `deny_unknown_fields`, every module's
//! section validated by the module, and every problem reported together, one line each
//! (`config.yaml: modules.notificator.poll_interval: ...`), before the port is bound.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use calendula_core::body::BodyTimeout;
use calendula_core::config_section::read_section;
use calendula_core::config_types::{HumanDuration, Secret};
use calendula_core::{ConfigProblem, LoadedModule, ModuleDescriptor};
use calendula_db::DatabaseConfig;
use schemars::gen::{SchemaGenerator, SchemaSettings};
use schemars::schema::{
    InstanceType, ObjectValidation, RootSchema, Schema, SchemaObject, SubschemaValidation,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml::Value;

use crate::logging::LoggingConfig;

/// The `limits` section.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Most occurrences one listing may return; a larger result is a 422 asking for a smaller window.
    #[schemars(range(min = 1))]
    pub max_occurrences: u32,
    /// How long a request body may take to arrive; a slower one is answered 408.
    pub body_timeout: HumanDuration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_occurrences: 10_000,
            body_timeout: HumanDuration(BodyTimeout::default().0),
        }
    }
}

impl LimitsConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.max_occurrences == 0 {
            problems.push(ConfigProblem::new(
                "max_occurrences",
                "expected an integer >= 1",
            ));
        }
        let body_timeout = self.body_timeout.get();
        if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&body_timeout) {
            problems.push(ConfigProblem::new(
                "body_timeout",
                "expected a duration between 100ms and 1h",
            ));
        }
        problems
    }
}

/// The whole application configuration, validated.
pub struct Config {
    pub file: PathBuf,
    pub database: DatabaseConfig,
    pub logging: LoggingConfig,
    pub limits: LimitsConfig,
    pub modules: Vec<Box<dyn LoadedModule>>,
}

/// Environment the configuration reads besides the file.
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub db_password: Option<String>,
    pub dev_mode: bool,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            db_password: std::env::var("DB_PASSWORD").ok().filter(|p| !p.is_empty()),
            dev_mode: std::env::var("DEV_MODE")
                .is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes")),
        }
    }
}

const CORE_SECTIONS: [&str; 4] = ["database", "logging", "limits", "modules"];

impl Config {
    /// Reads and validates `path`; on failure returns one line per problem.
    pub fn load(path: &Path, env: &Env) -> Result<Config, Vec<String>> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| vec![format!("{file}: cannot read: {e}")])?;
        Self::parse(&text, path, env)
            .map_err(|problems| problems.iter().map(|p| format!("{file}: {p}")).collect())
    }

    pub fn parse(text: &str, path: &Path, env: &Env) -> Result<Config, Vec<ConfigProblem>> {
        let invalid =
            |e: serde_yaml::Error| vec![ConfigProblem::new("(file)", format!("invalid YAML: {e}"))];
        let mut root: Value = serde_yaml::from_str(text).map_err(invalid)?;
        // `<<: *anchor` merge keys, which YAML 1.1 files use to share settings.
        root.apply_merge().map_err(invalid)?;
        let sections = match root {
            Value::Null => serde_yaml::Mapping::new(),
            Value::Mapping(map) => map,
            _ => {
                return Err(vec![ConfigProblem::new(
                    "(file)",
                    "expected a mapping of sections",
                )])
            }
        };
        let mut problems = Vec::new();
        let section = |key: &str| sections.get(key).cloned().unwrap_or(Value::Null);
        for key in sections.keys() {
            let name = key.as_str().unwrap_or("?");
            if !CORE_SECTIONS.contains(&name) {
                problems.push(ConfigProblem::new(
                    name,
                    format!("unknown key; expected one of {}", CORE_SECTIONS.join(", ")),
                ));
            }
        }
        let database = typed(
            "database",
            section("database"),
            DatabaseConfig::validate,
            &mut problems,
        );
        let logging = typed(
            "logging",
            section("logging"),
            LoggingConfig::validate,
            &mut problems,
        );
        let limits = typed(
            "limits",
            section("limits"),
            LimitsConfig::validate,
            &mut problems,
        );
        let modules = load_modules(section("modules"), &mut problems);
        match (database, logging, limits) {
            (Some(database), Some(logging), Some(limits)) if problems.is_empty() => {
                let mut config = Config {
                    file: path.to_owned(),
                    database,
                    logging,
                    limits,
                    modules,
                };
                config.apply_env(env);
                config.check_env_password(env)?;
                Ok(config)
            }
            _ => Err(problems),
        }
    }

    /// `DB_PASSWORD` replaced `database.password` after the sections were checked.
    fn check_env_password(&self, env: &Env) -> Result<(), Vec<ConfigProblem>> {
        let unusable = env
            .db_password
            .as_deref()
            .and_then(|password| self.database.unusable_credential(password));
        match unusable {
            Some(message) => Err(vec![ConfigProblem::new(
                "DB_PASSWORD (environment)",
                message,
            )]),
            None => Ok(()),
        }
    }

    fn apply_env(&mut self, env: &Env) {
        if let Some(password) = &env.db_password {
            self.database.password = Some(Secret(password.clone()));
        }
        if env.dev_mode {
            self.logging.stdout = true;
            self.logging.stdout_text = true;
        }
    }
}

/// Deserializes and validates one section (null = all defaults), recording every problem
/// in it.
fn typed<T: DeserializeOwned>(
    key: &str,
    value: Value,
    validate: impl FnOnce(&T) -> Vec<ConfigProblem>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<T> {
    let value = match section_json(key, value) {
        Ok(json) => json,
        Err(problem) => {
            problems.push(problem);
            return None;
        }
    };
    read_section(value, validate)
        .map_err(|found| problems.extend(found.into_iter().map(|p| p.under(key))))
        .ok()
}

/// The section at `key` as JSON, for serde (null: an empty mapping, all defaults). YAML's
/// `.nan` and `.inf` have no JSON form, and serde_json would turn them into `null` ("invalid
/// type: null, expected f64"); they become the text they were written as, so that a
/// problem quotes them.
fn section_json(key: &str, mut section: Value) -> Result<serde_json::Value, ConfigProblem> {
    if section.is_null() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    spell_non_finite(&mut section);
    serde_json::to_value(section)
        .map_err(|e| ConfigProblem::new(key, format!("not representable as JSON: {e}")))
}

fn spell_non_finite(value: &mut Value) {
    match value {
        Value::Number(n) => {
            let text = match n.as_f64() {
                Some(f) if f.is_nan() => ".nan",
                Some(f) if f == f64::INFINITY => ".inf",
                Some(f) if f == f64::NEG_INFINITY => "-.inf",
                _ => return,
            };
            *value = Value::String(text.to_owned());
        }
        Value::Sequence(items) => items.iter_mut().for_each(spell_non_finite),
        Value::Mapping(map) => map.values_mut().for_each(spell_non_finite),
        Value::Tagged(tagged) => spell_non_finite(&mut tagged.value),
        _ => {}
    }
}

fn load_modules(value: Value, problems: &mut Vec<ConfigProblem>) -> Vec<Box<dyn LoadedModule>> {
    let mut sections: BTreeMap<String, Value> = match value {
        Value::Null => BTreeMap::new(),
        Value::Mapping(map) => map
            .into_iter()
            .map(|(k, v)| (k.as_str().unwrap_or("?").to_owned(), v))
            .collect(),
        _ => {
            problems.push(ConfigProblem::new(
                "modules",
                "expected a mapping of module sections",
            ));
            return Vec::new();
        }
    };
    let registered = ModuleDescriptor::all();
    for pair in registered
        .windows(2)
        .filter(|pair| pair[0].key == pair[1].key)
    {
        problems.push(ConfigProblem::new(
            format!("modules.{}", pair[0].key),
            "registered by two modules; module keys must be unique",
        ));
    }
    let mut loaded = Vec::new();
    for descriptor in &registered {
        let path = format!("modules.{}", descriptor.key);
        let section = sections.remove(descriptor.key).unwrap_or(Value::Null);
        let section = match section_json(&path, section) {
            Ok(json) => json,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        match (descriptor.load)(section) {
            Ok(module) => loaded.push(module),
            Err(errors) => problems.extend(errors.into_iter().map(|p| p.under(&path))),
        }
    }
    let known: Vec<_> = registered.iter().map(|d| d.key).collect();
    for key in sections.keys() {
        problems.push(ConfigProblem::new(
            format!("modules.{key}"),
            format!("unknown module; expected one of {}", known.join(", ")),
        ));
    }
    loaded
}

/// JSON Schema of the whole config file, every registered module's section included.
pub fn schema() -> RootSchema {
    let mut gen = SchemaGenerator::new(SchemaSettings::draft07());
    let mut modules = ObjectValidation {
        additional_properties: Some(Box::new(Schema::Bool(false))),
        ..Default::default()
    };
    for descriptor in ModuleDescriptor::all() {
        modules.properties.insert(
            descriptor.key.to_owned(),
            or_null((descriptor.config_schema)(&mut gen)),
        );
    }
    let mut root = ObjectValidation {
        additional_properties: Some(Box::new(Schema::Bool(false))),
        ..Default::default()
    };
    let sections = [
        ("database", gen.subschema_for::<DatabaseConfig>()),
        ("logging", gen.subschema_for::<LoggingConfig>()),
        ("limits", gen.subschema_for::<LimitsConfig>()),
        ("modules", object_schema(modules)),
    ];
    for (key, section) in sections {
        root.properties.insert(key.into(), or_null(section));
    }
    let mut schema = object_schema(root).into_object();
    schema.metadata().title = Some("Calendula config.yaml".into());
    RootSchema {
        meta_schema: gen.settings().meta_schema.clone(),
        schema,
        definitions: gen.take_definitions(),
    }
}

/// A section may be left empty (`database:` with every key commented out): all defaults.
fn or_null(schema: Schema) -> Schema {
    let null = SchemaObject {
        instance_type: Some(InstanceType::Null.into()),
        ..Default::default()
    };
    SchemaObject {
        subschemas: Some(Box::new(SubschemaValidation {
            any_of: Some(vec![schema, null.into()]),
            ..Default::default()
        })),
        ..Default::default()
    }
    .into()
}

fn object_schema(object: ObjectValidation) -> Schema {
    SchemaObject {
        instance_type: Some(InstanceType::Object.into()),
        object: Some(Box::new(object)),
        ..Default::default()
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::LogFormat;

    #[test]
    fn dev_mode_writes_text_to_stdout_and_leaves_the_file_format() {
        let env = Env {
            db_password: None,
            dev_mode: true,
        };
        let yaml = "logging:\n  format: json\n  stdout: false\n  file: calendula.log\n";
        let config = Config::parse(yaml, Path::new("config.yaml"), &env).unwrap();
        assert!(config.logging.stdout && config.logging.stdout_text);
        assert!(matches!(config.logging.format, LogFormat::Json));
    }
}
