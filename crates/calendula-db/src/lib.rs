//! Calendula's PostgreSQL side: the `database` config section, the connection pool and the
//! request guards handlers use to get a connection, the migrations, and the queries grouped
//! by table next to their row types.

pub mod config;
pub mod events;
pub mod guards;
pub mod migrations;
pub mod pool;
pub mod schema;
pub mod users;

pub use config::{DatabaseConfig, EmbeddedConfig};
pub use guards::{ReadConn, WriteConn};
pub use pool::{Db, HostAddr};
