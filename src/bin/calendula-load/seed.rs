//! Deterministic test data: users in three zones (two thirds with working hours), events
//! (70 % one-off spread over ten years, 30 % series of every type lasting one to twelve
//! months, with participants),
//! and one heavy user.

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::Args;

/// What the scenarios pick from.
pub struct World {
    pub logins: Vec<String>,
    pub event_ids: Vec<i64>,
    pub heavy_login: Option<String>,
    /// Two users busy for the next day, and two busy for the next 300 days, from
    /// `BLOCKED_FROM`: where the first common slot is near or far.
    pub near_pair: [String; 2],
    pub far_pair: [String; 2],
}

/// Where the near/far blocks start (the free-slot searches start here too).
pub const BLOCKED_FROM: &str = "2027-01-04T00:00:00Z";

/// xorshift64: deterministic and dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ZONES: [&str; 3] = ["Europe/Berlin", "America/New_York", "Asia/Tokyo"];
/// Repeat types with the weights a real calendar has: mostly weekly and monthly meetings,
/// some daily stand-ups and workday blocks, a few yearly ones.
const REPEATS: [&str; 10] = [
    "weekly",
    "weekly",
    "weekly",
    "weekly",
    "monthly_number",
    "monthly_day_weekno",
    "monthly_number",
    "workday",
    "daily",
    "yearly",
];

fn user_body(i: usize, login: &str) -> Value {
    let mut body = json!({"login": login, "name": {"first": "Load", "last": format!("User {i}")}, "timezone": ZONES[i % 3]});
    if i % 3 != 2 {
        body["work_days"] =
            json!({"day_from": "mon", "day_to": "fri", "time_from": "08:00", "time_to": "18:00"});
    }
    body
}

/// An event body for `author` in 2021–2030: one-off (70 %) or a series (30 %) that ends
/// one to twelve months after it starts.
pub fn event_body(rng: &mut Rng, author: &str, logins: &[String]) -> Value {
    let recurring = rng.below(10) < 3;
    let year = 2021 + rng.below(10);
    let start = format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:00",
        1 + rng.below(12),
        1 + rng.below(28),
        7 + rng.below(11),
        15 * rng.below(4)
    );
    let minutes = 30 * (1 + rng.below(4));
    let participants: Vec<Value> = (0..rng.below(4))
        .map(|_| json!({"user": {"login": logins[rng.below(logins.len())]}}))
        .collect();
    let mut body = json!({
        "author_login": author,
        "start_time": start,
        "end_time": end_after(&start, minutes),
        "name": "load test meeting",
        "participants": participants,
    });
    if recurring {
        let kind = REPEATS[rng.below(REPEATS.len())];
        let due = end_after(&start, 30 * 24 * 60 * (1 + rng.below(12)));
        body["repetition"] = json!({
            "type": kind,
            "weekly_days": if kind == "weekly" { json!(["mon", "thu"]) } else { json!([]) },
            "due_date": due,
        });
    }
    body
}

fn end_after(start: &str, minutes: usize) -> String {
    let t =
        chrono::NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M:%S").expect("generated start");
    (t + chrono::Duration::minutes(minutes as i64))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Result<Value, String> {
    let response = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("POST {url}: {status} {value}"))
    }
}

pub async fn seed(client: &reqwest::Client, base: &str, args: &Args) -> Result<World, String> {
    let run = std::process::id();
    let logins: Vec<String> = (0..args.users).map(|i| format!("load{run}-{i}")).collect();
    let heavy_login = (args.heavy_events > 0).then(|| format!("load{run}-heavy"));
    let mut user_bodies: Vec<Value> = logins
        .iter()
        .enumerate()
        .map(|(i, l)| user_body(i, l))
        .collect();
    if let Some(heavy) = &heavy_login {
        user_bodies.push(user_body(0, heavy));
    }
    let near_pair = [format!("load{run}-near-a"), format!("load{run}-near-b")];
    let far_pair = [format!("load{run}-far-a"), format!("load{run}-far-b")];
    let pair_users = near_pair.iter().chain(&far_pair).enumerate();
    user_bodies.extend(pair_users.map(|(i, l)| user_body(i, l)));
    run_all(client, format!("{base}/users"), user_bodies, args.clients).await?;
    let mut rng = Rng::new(0x5eed);
    let mut event_bodies = Vec::new();
    for author in &logins {
        for _ in 0..args.events_per_user {
            event_bodies.push(event_body(&mut rng, author, &logins));
        }
    }
    if let Some(heavy) = &heavy_login {
        event_bodies.extend((0..args.heavy_events).map(|_| event_body(&mut rng, heavy, &logins)));
    }
    for (pair, days) in [(&near_pair, 1), (&far_pair, 300)] {
        event_bodies.extend(pair.iter().map(|author| blocking_event(author, days)));
    }
    let created = run_all(client, format!("{base}/event"), event_bodies, args.clients).await?;
    let event_ids = created.iter().filter_map(|e| e["id"].as_i64()).collect();
    Ok(World {
        logins,
        event_ids,
        heavy_login,
        near_pair,
        far_pair,
    })
}

/// One event occupying `author` for `days` days from [`BLOCKED_FROM`].
fn blocking_event(author: &str, days: i64) -> Value {
    let start = chrono::DateTime::parse_from_rfc3339(BLOCKED_FROM).expect("constant");
    json!({
        "author_login": author,
        "start_time": BLOCKED_FROM,
        "end_time": (start + chrono::Duration::days(days)).to_rfc3339(),
        "name": "blocked",
    })
}

async fn run_all(
    client: &reqwest::Client,
    url: String,
    bodies: Vec<Value>,
    concurrency: usize,
) -> Result<Vec<Value>, String> {
    let total = bodies.len();
    let results: Vec<Result<Value, String>> = stream::iter(bodies)
        .map(|body| post(client, url.clone(), body))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let created: Vec<Value> = results.into_iter().collect::<Result<_, _>>()?;
    eprintln!("  {url}: {total} created");
    Ok(created)
}
