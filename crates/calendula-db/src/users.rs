//! The `users` table: rows and queries.

use calendula_core::models::{Contacts, EDay, Name, NewUser, Time, User, UserFull, WorkDays};
use calendula_core::{ApiError, ApiResult};
use chrono::Weekday;
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::users;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub timezone: String,
    pub work_day_from: Option<i16>,
    pub work_day_to: Option<i16>,
    pub work_time_from: Option<i16>,
    pub work_time_to: Option<i16>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub telegram_chat_id: Option<String>,
    pub slack: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
struct InsertUser<'a> {
    login: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    timezone: &'a str,
    work_day_from: Option<i16>,
    work_day_to: Option<i16>,
    work_time_from: Option<i16>,
    work_time_to: Option<i16>,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    telegram_chat_id: Option<&'a str>,
    slack: Option<&'a str>,
    password_hash: Option<&'a str>,
}

fn day_index(day: EDay) -> i16 {
    Weekday::from(day).num_days_from_monday() as i16
}

fn day_from_index(index: i16) -> EDay {
    EDay::from(Weekday::try_from(index.clamp(0, 6) as u8).unwrap_or(Weekday::Mon))
}

impl UserRow {
    /// The user's zone; rows only ever hold validated names, UTC is a safe net.
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }

    pub fn work_days(&self) -> Option<WorkDays> {
        Some(WorkDays {
            day_from: day_from_index(self.work_day_from?),
            day_to: day_from_index(self.work_day_to?),
            time_from: Time::from_minutes(self.work_time_from? as u32),
            time_to: Time::from_minutes(self.work_time_to? as u32),
        })
    }

    pub fn brief(&self) -> User {
        User {
            login: self.login.clone(),
            name: Name {
                first: self.first_name.clone(),
                last: self.last_name.clone(),
            },
        }
    }

    pub fn full(&self) -> UserFull {
        UserFull {
            login: self.login.clone(),
            name: Name {
                first: self.first_name.clone(),
                last: self.last_name.clone(),
            },
            work_days: self.work_days(),
            timezone: self.timezone.clone(),
            contacts: Contacts {
                email: self.email.clone(),
                phone: self.phone.clone(),
                telegram_chat_id: self.telegram_chat_id.clone(),
                slack: self.slack.clone(),
            },
        }
    }
}

/// Inserts a validated user; a taken login is a 409.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    user: &NewUser,
    timezone: &str,
    password_hash: Option<&str>,
) -> ApiResult<UserRow> {
    let work = user.work_days.as_ref();
    let row = InsertUser {
        login: &user.login,
        first_name: &user.name.first,
        last_name: &user.name.last,
        timezone,
        work_day_from: work.map(|w| day_index(w.day_from)),
        work_day_to: work.map(|w| day_index(w.day_to)),
        work_time_from: work.map(|w| w.time_from.minutes() as i16),
        work_time_to: work.map(|w| w.time_to.minutes() as i16),
        email: user.contacts.email.as_deref(),
        phone: user.contacts.phone.as_deref(),
        telegram_chat_id: user.contacts.telegram_chat_id.as_deref(),
        slack: user.contacts.slack.as_deref(),
        password_hash,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::conflict("login", format!("login {:?} is taken", user.login))
            }
            other => other.into(),
        })
}

pub async fn find_by_login(
    conn: &mut AsyncPgConnection,
    login: &str,
) -> ApiResult<Option<UserRow>> {
    // Anything that is not a login names nobody, and must not reach PostgreSQL (NUL bytes).
    if !calendula_core::validate::is_login(login) {
        return Ok(None);
    }
    Ok(users::table
        .filter(users::login.eq(login))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The user named in a path, or 404.
pub async fn get_by_login(conn: &mut AsyncPgConnection, login: &str) -> ApiResult<UserRow> {
    find_by_login(conn, login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))
}

pub async fn find_by_logins(
    conn: &mut AsyncPgConnection,
    logins: &[String],
) -> ApiResult<Vec<UserRow>> {
    Ok(users::table
        .filter(users::login.eq_any(logins))
        .select(UserRow::as_select())
        .load(conn)
        .await?)
}

/// Users by id, in no order. Takes a shared connection, so that it can be pipelined with
/// other queries.
pub async fn find_by_ids(mut conn: &AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(&mut conn)
        .await
}

/// All of `logins` as rows in the same order, or a 422 listing those that name no user.
pub async fn resolve_logins(
    conn: &mut AsyncPgConnection,
    field: &str,
    logins: &[String],
) -> ApiResult<Vec<UserRow>> {
    let rows = find_by_logins(conn, logins).await?;
    let mut unknown = Vec::new();
    let mut ordered = Vec::with_capacity(logins.len());
    for login in logins {
        match rows.iter().find(|r| &r.login == login) {
            Some(row) => ordered.push(row.clone()),
            None => unknown.push(login.clone()),
        }
    }
    if unknown.is_empty() {
        Ok(ordered)
    } else {
        Err(ApiError::unknown_logins(field, unknown))
    }
}
