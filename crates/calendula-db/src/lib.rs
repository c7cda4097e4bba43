//! Calendula's PostgreSQL side: the `database` config section, the multi-host connection
//! pool (crate `pg-multihost`) and the request guards handlers use to get a connection, the
//! migrations, and the queries grouped by table next to their row types.

pub mod config;
pub mod current_user;
pub mod events;
pub mod guards;
pub mod migrations;
pub mod notifications;
pub mod pool;
pub mod schema;
pub mod sessions;
pub mod users;

pub use config::{DatabaseConfig, EmbeddedConfig};
pub use current_user::{CurrentUser, Session, SessionKeepAlive, SessionUser, Writer};
pub use guards::{ReadConn, ReadYourWrites, WriteConn};
pub use pool::{Conn, Db, HostAddr};
