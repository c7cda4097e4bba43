//! The `sessions` table and session ids. A session id is 256 bits from the OS RNG, given to
//! the client once as 64 hex digits; the table holds only its SHA-256. Expiry is sliding:
//! a session is valid while it was last used less than `session_ttl` ago.

use std::fmt;
use std::time::Duration;

use calendula_core::ApiResult;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Double, Int8};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::schema::users;
use crate::users::UserRow;

/// Random bytes in a session id.
const ID_BYTES: usize = 32;

/// A session id as the client holds it. Its `Debug` prints `***`: it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

/// The SHA-256 of a session id: what the table stores and is looked up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionHash([u8; 32]);

impl SessionId {
    /// A new id: 256 bits from the operating system's RNG.
    pub fn generate() -> SessionId {
        let mut bytes = [0u8; ID_BYTES];
        OsRng.fill_bytes(&mut bytes);
        SessionId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// An id as presented by a client: exactly 64 lowercase hex digits, or `None` (then it
    /// cannot name a session and no query is made).
    pub fn parse(text: &str) -> Option<SessionId> {
        let well_formed = text.len() == ID_BYTES * 2
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| SessionId(text.to_owned()))
    }

    /// The id itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SessionHash {
        SessionHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(***)")
    }
}

impl fmt::Debug for SessionHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionHash(***)")
    }
}

impl SessionHash {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

fn seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64()
}

/// Stores a new session of `user_id`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    hash: &SessionHash,
) -> ApiResult<()> {
    diesel::sql_query("INSERT INTO sessions (token_hash, user_id) VALUES ($1, $2)")
        .bind::<Bytea, _>(hash.bytes())
        .bind::<Int8, _>(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The user named `login` with their password hash (argon2id PHC string; `None` = no
/// password), for opening a session. Nothing else ever loads the hash.
pub async fn find_credentials(
    conn: &mut AsyncPgConnection,
    login: &str,
) -> ApiResult<Option<(UserRow, Option<String>)>> {
    // Anything that is not a login names nobody, and must not reach PostgreSQL (NUL bytes).
    if !calendula_core::validate::is_login(login) {
        return Ok(None);
    }
    Ok(users::table
        .filter(users::login.eq(login))
        .select((UserRow::as_select(), users::password_hash))
        .first(conn)
        .await
        .optional()?)
}

#[derive(diesel::QueryableByName)]
struct SessionOwner {
    #[diesel(sql_type = Int8)]
    user_id: i64,
}

/// How stale `last_used_at` may get before a use writes it again: 1% of the TTL, at most a
/// minute. A session in constant use then costs a write per minute, not one per request, and
/// expires at most that much earlier than an exact sliding TTL would make it.
pub fn touch_granularity(ttl: Duration) -> Duration {
    (ttl / 100).min(Duration::from_secs(60))
}

/// The user of the session with `hash` if it is still valid under `ttl`, extending it
/// (sliding expiry) in the same statement.
pub async fn touch(
    conn: &mut AsyncPgConnection,
    hash: &SessionHash,
    ttl: Duration,
) -> ApiResult<Option<i64>> {
    // A data-modifying CTE runs whether or not its result is read.
    let owner: Option<SessionOwner> = diesel::sql_query(
        "WITH valid AS ( \
             SELECT user_id, last_used_at FROM sessions \
             WHERE token_hash = $1 AND last_used_at > now() - make_interval(secs => $2) \
         ), extended AS ( \
             UPDATE sessions SET last_used_at = now() \
             WHERE token_hash = $1 AND last_used_at > now() - make_interval(secs => $2) \
               AND last_used_at < now() - make_interval(secs => $3) \
         ) SELECT user_id FROM valid",
    )
    .bind::<Bytea, _>(hash.bytes())
    .bind::<Double, _>(seconds(ttl))
    .bind::<Double, _>(seconds(touch_granularity(ttl)))
    .get_result(conn)
    .await
    .optional()?;
    Ok(owner.map(|o| o.user_id))
}

/// The user of the session with `hash` if it is still valid under `ttl`, without extending
/// it: for a replica while no primary is reachable.
pub async fn find_valid(
    conn: &mut AsyncPgConnection,
    hash: &SessionHash,
    ttl: Duration,
) -> ApiResult<Option<i64>> {
    let owner: Option<SessionOwner> = diesel::sql_query(
        "SELECT user_id FROM sessions \
         WHERE token_hash = $1 AND last_used_at > now() - make_interval(secs => $2)",
    )
    .bind::<Bytea, _>(hash.bytes())
    .bind::<Double, _>(seconds(ttl))
    .get_result(conn)
    .await
    .optional()?;
    Ok(owner.map(|o| o.user_id))
}

/// Deletes the session with `hash`; whether there was one.
pub async fn revoke(conn: &mut AsyncPgConnection, hash: &SessionHash) -> ApiResult<bool> {
    let deleted = diesel::sql_query("DELETE FROM sessions WHERE token_hash = $1")
        .bind::<Bytea, _>(hash.bytes())
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// Deletes every session idle for `ttl` or longer; how many.
pub async fn purge_expired(conn: &mut AsyncPgConnection, ttl: Duration) -> ApiResult<usize> {
    Ok(diesel::sql_query(
        "DELETE FROM sessions WHERE last_used_at <= now() - make_interval(secs => $1)",
    )
    .bind::<Double, _>(seconds(ttl))
    .execute(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_digits_and_distinct() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.expose()), Some(a.clone()));
        assert!(a.hash() != b.hash());
        assert_eq!(format!("{a:?}"), "SessionId(***)");
        assert!(!format!("{:?}", a.hash()).contains(&a.expose()[..8]));
    }

    #[test]
    fn malformed_ids_are_rejected() {
        let good = SessionId::generate().expose().to_owned();
        for bad in [
            String::new(),
            good[..63].to_owned(),
            format!("{good}0"),
            good.to_uppercase(),
            format!("{}g", &good[..63]),
            format!("{} ", &good[..63]),
        ] {
            assert!(SessionId::parse(&bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn uses_rewrite_the_last_use_at_most_once_a_minute() {
        assert_eq!(
            touch_granularity(Duration::from_secs(2)),
            Duration::from_millis(20)
        );
        assert_eq!(
            touch_granularity(Duration::from_secs(30 * 86_400)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn hash_is_sha256_of_the_id_text() {
        let id = SessionId::parse(&"ab".repeat(32)).unwrap();
        let expected: [u8; 32] = Sha256::digest("ab".repeat(32).as_bytes()).into();
        assert_eq!(id.hash().0, expected);
    }
}
