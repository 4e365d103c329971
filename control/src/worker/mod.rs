//! Workers consuming executions: leases, their extension, completion, and a stream
//! that leases executions as they are committed.
//!
//! The queue is the `executions` table itself. A lease is one `UPDATE` over rows
//! picked with `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait for each
//! other and never receive the same execution. An expired lease needs no sweeper: the
//! lease query treats it as queued, and counts another attempt.

mod limits;
mod queue;
mod service;
mod subscribe;

pub use service::WorkerService;
