//! The stop signals, heard from the first moment. Rocket listens for them only once it
//! launches; before that a SIGTERM would end the process at once, with the embedded
//! PostgreSQL it was starting left running. Listening here also closes the gap between
//! start-up and Rocket's own listeners: a signal that arrives then is passed on to Rocket.

use std::sync::Arc;

use rocket::config::{Shutdown, Sig};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Tells when one of the stop signals has arrived.
#[derive(Clone)]
pub struct StopSignals(watch::Receiver<bool>);

impl StopSignals {
    /// Listens for the signals Rocket.toml's `shutdown` stops on (`signals`, and SIGINT
    /// with `ctrlc`). Must be called within the Tokio runtime.
    pub fn listen(shutdown: &Shutdown) -> std::io::Result<Self> {
        let mut kinds: Vec<SignalKind> = shutdown.signals.iter().map(|s| kind(*s)).collect();
        if shutdown.ctrlc {
            kinds.push(SignalKind::interrupt());
        }
        let (sender, receiver) = watch::channel(false);
        let sender = Arc::new(sender);
        for kind in kinds {
            let mut stream = signal(kind)?;
            let sender = sender.clone();
            tokio::spawn(async move {
                if stream.recv().await.is_some() {
                    sender.send_replace(true);
                }
            });
        }
        Ok(Self(receiver))
    }

    /// Completes once a stop signal has arrived (at once if one already has).
    pub async fn wait(&mut self) {
        // An error means every listener is gone: no signal can come any more.
        if self.0.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn kind(sig: Sig) -> SignalKind {
    match sig {
        Sig::Alrm => SignalKind::alarm(),
        Sig::Chld => SignalKind::child(),
        Sig::Hup => SignalKind::hangup(),
        Sig::Int => SignalKind::interrupt(),
        Sig::Io => SignalKind::io(),
        Sig::Pipe => SignalKind::pipe(),
        Sig::Quit => SignalKind::quit(),
        Sig::Term => SignalKind::terminate(),
        Sig::Usr1 => SignalKind::user_defined1(),
        Sig::Usr2 => SignalKind::user_defined2(),
    }
}
