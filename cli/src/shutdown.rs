//! Shutdown: the signals that ask for it and the fan-out that tells every server.

use std::future::Future;

use anyhow::Context;
use tokio::{
    signal::unix::{Signal, SignalKind, signal},
    sync::watch,
};

/// SIGINT (Ctrl-C) and SIGTERM. Installed once, early: until a handler is installed
/// either signal would end the process at once, without any cleanup.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    pub fn install() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("install the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("install the SIGTERM handler")?,
        })
    }

    /// Waits for the next signal and names it.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// One shutdown that several servers wait for.
pub struct Trigger(watch::Sender<bool>);

impl Trigger {
    pub fn new() -> Self {
        Self(watch::channel(false).0)
    }

    pub fn fire(&self) {
        self.0.send_replace(true);
    }

    /// Completes once [`Trigger::fire`] was called (or the trigger is gone).
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut fired = self.0.subscribe();
        async move {
            // An error means the trigger was dropped, which also means: stop.
            let _ = fired.wait_for(|fired| *fired).await;
        }
    }
}
