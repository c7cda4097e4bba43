//! Requests being answered, so that shutdown stops the modules only after them (SPEC §1:
//! stop accepting, finish in-flight requests, stop modules). Rocket runs its shutdown
//! fairings as soon as shutdown is requested, while the requests it still serves go on in
//! their connections' tasks; a module's stop waits for [`InFlightRequests::drained`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::tokio::sync::Notify;
use rocket::{Build, Data, Request, Response, Rocket};

/// The number of requests between their arrival and their response (managed state).
#[derive(Default)]
pub struct InFlightRequests {
    count: AtomicUsize,
    none_left: Notify,
}

impl InFlightRequests {
    fn enter(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    fn leave(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.none_left.notify_waiters();
        }
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Returns once no request is in flight, or after `within` at the latest.
    pub async fn drained(&self, within: Duration) {
        let wait = async {
            loop {
                let none_left = self.none_left.notified();
                rocket::tokio::pin!(none_left);
                // Registered before the count is read, so a last leave in between wakes it.
                none_left.as_mut().enable();
                if self.count() == 0 {
                    return;
                }
                none_left.await;
            }
        };
        let _ = rocket::tokio::time::timeout(within, wait).await;
    }
}

/// Counts requests in [`InFlightRequests`], which it puts in the managed state.
pub struct CountInFlight;

#[rocket::async_trait]
impl Fairing for CountInFlight {
    fn info(&self) -> Info {
        Info {
            name: "requests in flight",
            kind: Kind::Ignite | Kind::Request | Kind::Response,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        Ok(rocket.manage(InFlightRequests::default()))
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        if let Some(in_flight) = req.rocket().state::<InFlightRequests>() {
            in_flight.enter();
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, _: &mut Response<'r>) {
        if let Some(in_flight) = req.rocket().state::<InFlightRequests>() {
            in_flight.leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[rocket::async_test]
    async fn drained_waits_for_the_last_request_and_no_longer() {
        let in_flight = Arc::new(InFlightRequests::default());
        in_flight.enter();
        in_flight.enter();
        let leaving = Arc::clone(&in_flight);
        rocket::tokio::spawn(async move {
            for _ in 0..2 {
                rocket::tokio::time::sleep(Duration::from_millis(50)).await;
                leaving.leave();
            }
        });
        let started = std::time::Instant::now();
        in_flight.drained(Duration::from_secs(10)).await;
        assert_eq!(in_flight.count(), 0);
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[rocket::async_test]
    async fn drained_gives_up_after_its_deadline() {
        let in_flight = InFlightRequests::default();
        in_flight.enter();
        in_flight.drained(Duration::from_millis(50)).await;
        assert_eq!(in_flight.count(), 1);
    }
}
