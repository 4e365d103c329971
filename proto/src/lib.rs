//! The one protobuf definition of Sluice (package `sluice.v1`), compiled for the
//! ingress, the control plane and the command line, and the identifier formats they
//! share: identifier spellings and the hashing of URL secrets and API keys.

pub mod ids;
pub mod secrets;

/// Generated messages, clients and servers of package `sluice.v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("sluice.v1");
}

/// The encoded file descriptor set, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/sluice_descriptor.bin"));

/// The largest `CreateExecution` message either side handles. One request's triggers can
/// be much larger than its body: with `include_headers`, every NDJSON line carries its
/// own copy of the headers. The ingress refuses a request whose message would be larger
/// (413) instead of letting the control plane reject it as a fault.
pub const MAX_CREATE_EXECUTION_BYTES: usize = 256 * 1024 * 1024;
