//! End-to-end tests: the control plane and the ingress run on loopback sockets against a
//! real PostgreSQL (see `scripts/test`), and every test drives them over HTTP and gRPC.

// A test's helpers may unwrap like the tests themselves: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod harness;

mod admin;
mod allowlist;
mod api_keys;
mod audit;
mod bodies;
mod dedup;
mod durability;
mod encodings;
mod envelope;
mod flood;
mod handshakes;
mod limits;
mod operations;
mod responses;
mod rotation;
mod routing;
mod service_auth;
mod tls;
mod workers;
