//! What Calendula's composition root and its modules share: the module contract, the one
//! API error type, configuration value types and the JSON models of the HTTP API.
//! No HTTP handlers live here.

pub mod auth;
pub mod body;
pub mod config_section;
pub mod config_types;
pub mod error;
pub mod in_flight;
pub mod metrics;
pub mod models;
pub mod module;
pub mod password;
pub mod query;
pub mod strict_structs;
pub mod validate;

pub use auth::AuthPolicy;
pub use body::JsonBody;
pub use error::{ApiError, ApiResult};
pub use module::{ConfigProblem, LoadedModule, Module, ModuleDescriptor};
pub use query::{OptionalQuery, Query};

/// Re-exported so modules register with the same `inventory` the root collects from.
pub use inventory;
