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
