//! What the clients do, and the loop that drives them for a fixed time.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use crate::seed::{event_body, Rng, World};
use crate::server::ManagedServer;
use crate::stats::ScenarioResult;
use crate::Args;

#[derive(Debug, Clone, Copy)]
enum Kind {
    GetEvent,
    ListMonth,
    ListMonthHeavy,
    CreateEvent,
    FreeSlot(usize),
    FreeSlotNear,
    FreeSlotFar,
    FreeBusy,
}

pub struct Scenario {
    pub name: &'static str,
    kind: Kind,
}

pub fn all(world: &World, args: &Args) -> Vec<Scenario> {
    let mut list = vec![
        Scenario {
            name: "get_event",
            kind: Kind::GetEvent,
        },
        Scenario {
            name: "list_month",
            kind: Kind::ListMonth,
        },
    ];
    if world.heavy_login.is_some() {
        list.push(Scenario {
            name: "list_month_heavy",
            kind: Kind::ListMonthHeavy,
        });
    }
    list.push(Scenario {
        name: "create_event",
        kind: Kind::CreateEvent,
    });
    const FREE_SLOT_USERS: [(usize, &str); 5] = [
        (1, "free_slot_1"),
        (3, "free_slot_3"),
        (10, "free_slot_10"),
        (50, "free_slot_50"),
        (100, "free_slot_100"),
    ];
    for (users, name) in FREE_SLOT_USERS
        .into_iter()
        .filter(|(users, _)| *users <= args.users)
    {
        list.push(Scenario {
            name,
            kind: Kind::FreeSlot(users),
        });
    }
    list.push(Scenario {
        name: "free_slot_1_day",
        kind: Kind::FreeSlotNear,
    });
    list.push(Scenario {
        name: "free_slot_300_days",
        kind: Kind::FreeSlotFar,
    });
    list.push(Scenario {
        name: "free_busy",
        kind: Kind::FreeBusy,
    });
    list
}

/// A month in 2021–2030, as a listing window.
fn month(rng: &mut Rng) -> (String, String) {
    let (year, month) = (2021 + rng.below(10), 1 + rng.below(12));
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    (
        format!("{year}-{month:02}-01T00:00:00Z"),
        format!("{next_year}-{next_month:02}-01T00:00:00Z"),
    )
}

fn some_logins(world: &World, rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| world.logins[rng.below(world.logins.len())].clone())
        .collect()
}

fn request(
    client: &reqwest::Client,
    base: &str,
    world: &World,
    kind: Kind,
    rng: &mut Rng,
) -> reqwest::RequestBuilder {
    match kind {
        Kind::GetEvent => client.get(format!(
            "{base}/event/{}",
            world.event_ids[rng.below(world.event_ids.len())]
        )),
        Kind::ListMonth | Kind::ListMonthHeavy => {
            let login = match (kind, &world.heavy_login) {
                (Kind::ListMonthHeavy, Some(heavy)) => heavy.clone(),
                _ => world.logins[rng.below(world.logins.len())].clone(),
            };
            let (from, to) = month(rng);
            client
                .get(format!("{base}/users/{login}/events"))
                .query(&[("time_from", from), ("time_to", to)])
        }
        Kind::CreateEvent => {
            let author = world.logins[rng.below(world.logins.len())].clone();
            client
                .post(format!("{base}/event"))
                .json(&event_body(rng, &author, &world.logins))
        }
        Kind::FreeSlot(n) => client
            .post(format!("{base}/funcs/calc_free_slot"))
            .json(&json!({
                "event_duration": "01:00",
                "start_calc_from": month(rng).0,
                "user_logins": some_logins(world, rng, n),
            })),
        Kind::FreeSlotNear => blocked_pair_slot(client, base, &world.near_pair),
        Kind::FreeSlotFar => blocked_pair_slot(client, base, &world.far_pair),
        Kind::FreeBusy => {
            let (from, _) = month(rng);
            let to = chrono::DateTime::parse_from_rfc3339(&from)
                .map(|t| (t + chrono::Duration::days(7)).to_rfc3339())
                .unwrap_or_default();
            client.post(format!("{base}/funcs/free_busy")).json(&json!({"user_logins": some_logins(world, rng, 3), "time_from": from, "time_to": to}))
        }
    }
}

/// The first hour `pair` (blocked from `BLOCKED_FROM` on) is free together.
fn blocked_pair_slot(
    client: &reqwest::Client,
    base: &str,
    pair: &[String; 2],
) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}/funcs/calc_free_slot"))
        .json(&json!({
            "event_duration": "01:00",
            "start_calc_from": crate::seed::BLOCKED_FROM,
            "user_logins": pair,
        }))
}

/// Prints the first few failures of a run, so that errors in the summary have a cause.
fn report_error(what: &str) {
    static SHOWN: AtomicUsize = AtomicUsize::new(0);
    if SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("\nrequest failed: {what}");
    }
}

/// Prints `\r<name> <elapsed>s <n> ok <e> errors` every second until told to stop.
fn progress(
    name: &'static str,
    ok: Arc<AtomicUsize>,
    errors: Arc<AtomicUsize>,
    started: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            eprint!(
                "\r{name:<18} {:>4.0}s {:>8} ok {:>5} errors",
                started.elapsed().as_secs_f64(),
                ok.load(Ordering::Relaxed),
                errors.load(Ordering::Relaxed)
            );
            let _ = std::io::stderr().flush();
        }
    })
}

/// Runs `clients` loops of `one` until the deadline and collects the latencies of successes.
async fn drive_loops<F, Fut>(name: &'static str, args: &Args, one: F) -> ScenarioResult
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let (ok, errors) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let deadline = started + args.per_scenario();
    let ticker = progress(name, ok.clone(), errors.clone(), started);
    let tasks: Vec<_> = (0..args.clients)
        .map(|client| {
            let (one, ok, errors) = (one.clone(), ok.clone(), errors.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut round = 0u64;
                while Instant::now() < deadline {
                    round += 1;
                    let sent = Instant::now();
                    if one(client, round).await {
                        latencies.push(sent.elapsed());
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    ticker.abort();
    eprintln!();
    ScenarioResult::from_samples(
        name,
        latencies,
        errors.load(Ordering::Relaxed),
        started.elapsed(),
    )
}

pub async fn drive(
    client: &reqwest::Client,
    base: &str,
    scenario: &Scenario,
    world: &Arc<World>,
    args: &Args,
) -> ScenarioResult {
    let (client, base, world, kind) = (
        client.clone(),
        base.to_owned(),
        world.clone(),
        scenario.kind,
    );
    drive_loops(scenario.name, args, move |c, round| {
        let (client, base, world) = (client.clone(), base.clone(), world.clone());
        async move {
            let mut rng = Rng::new((c as u64) << 32 | round);
            let response = request(&client, &base, &world, kind, &mut rng).send().await;
            match response {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                Ok(r) => {
                    let status = r.status();
                    let body = r.text().await.unwrap_or_default();
                    report_error(&format!(
                        "{status} {}",
                        body.chars().take(300).collect::<String>()
                    ));
                    false
                }
                Err(e) => {
                    report_error(&e.to_string());
                    false
                }
            }
        }
    })
    .await
}

/// The get-by-id queries of `GET /event/{id}` issued straight through diesel-async, one
/// connection per client: the ceiling the API is compared against.
pub async fn drive_database(
    server: &ManagedServer,
    world: &Arc<World>,
    args: &Args,
) -> Result<ScenarioResult, String> {
    let mut connections = Vec::new();
    for _ in 0..args.clients {
        let conn = AsyncPgConnection::establish(&server.database_url)
            .await
            .map_err(|e| format!("database baseline: {e}"))?;
        connections.push(Arc::new(tokio::sync::Mutex::new(conn)));
    }
    let world = world.clone();
    Ok(drive_loops("db_get_event", args, move |c, round| {
        let (conn, world) = (connections[c].clone(), world.clone());
        async move {
            let mut rng = Rng::new((c as u64) << 32 | round);
            let id = world.event_ids[rng.below(world.event_ids.len())];
            let mut conn = conn.lock().await;
            calendula_db::events::get_details(&mut conn, id)
                .await
                .map(|e| serde_json::to_vec(&e.to_model()))
                .is_ok()
        }
    })
    .await)
}
