//! The ingress over real sockets against a scripted control plane.

#![allow(clippy::unwrap_used, reason = "the harness helpers are test code too")]

mod cache;
mod checks;
mod commit;
mod harness;
mod shutdown;
