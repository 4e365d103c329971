//! Compiles `sluice/v1/*.proto` with protox (a pure-Rust compiler), so building needs no
//! `protoc` on the machine.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "sluice/v1/ingress.proto",
    "sluice/v1/admin.proto",
    "sluice/v1/worker.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }

    let descriptors = protox::compile(PROTOS, ["."])?;

    // Kept for gRPC server reflection, so `grpcurl` works without the .proto files.
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("sluice_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        // Reference-counted, so that a retried or batched call does not copy bodies.
        .bytes(".sluice.v1.CreateExecutionRequest.triggers")
        .compile_fds(descriptors)?;
    Ok(())
}
