//! The schema migrations, embedded in the binary and run at start-up (and by
//! `calendula migrate`).

use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::pool::{ConnectOptions, HostAddr};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Serializes migrations across server instances starting at the same time.
const MIGRATION_LOCK_KEY: i64 = 0x6361_6c65_6e64;

/// What [`run_pending`] did.
pub struct Migrated {
    /// The versions applied (none when the schema was up to date).
    pub applied: Vec<String>,
    /// The master's WAL position afterwards (bytes since `0/0`): a replica that has
    /// replayed this far has the schema.
    pub wal_position: u64,
}

/// Applies pending migrations on `master` (over a connection of its own, outside the pool).
pub async fn run_pending(options: &ConnectOptions, master: &HostAddr) -> Result<Migrated, String> {
    let conn = options
        .connect(master)
        .await
        .map_err(|e| format!("cannot connect to {master}: {e}"))?;
    let mut conn: AsyncConnectionWrapper<AsyncPgConnection> = AsyncConnectionWrapper::from(conn);
    // diesel's migration harness is synchronous; the wrapper drives the async connection
    // from a blocking thread.
    tokio::task::spawn_blocking(move || {
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .map_err(|e| e.to_string())?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect());
        let unlocked =
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
        let applied = applied.map_err(|e| format!("migration failed: {e}"))?;
        unlocked.map_err(|e| e.to_string())?;
        let wal_position = diesel::select(sql::<BigInt>(
            "(pg_current_wal_lsn() - '0/0'::pg_lsn)::int8",
        ))
        .get_result::<i64>(&mut conn)
        .map_err(|e| format!("reading the WAL position: {e}"))?;
        Ok(Migrated {
            applied,
            wal_position: u64::try_from(wal_position).unwrap_or(0),
        })
    })
    .await
    .map_err(|e| format!("migration task failed: {e}"))?
}
