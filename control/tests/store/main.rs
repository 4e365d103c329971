//! The control plane against a real PostgreSQL, driven through its gRPC services.
//!
//! Needs `SLUICE_TEST_DATABASE_URL` (a role that may create databases); each test makes
//! and drops its own database. `SLUICE_SKIP_DB_TESTS=1` skips them instead.

mod api_keys;
mod arrivals;
mod availability;
mod batched_calls;
mod calls;
mod executions;
mod group_commit;
mod retention;
mod support;
mod watch;
mod webhook_lock;
mod webhooks;
mod workflows;
