# The sluice binary in a small image without a shell or package manager, run as an
# unprivileged user. Build: docker build -t sluice:dev .
#
# The builder compiles the workspace as it is (protobuf definitions are compiled in
# Rust, so no protoc is needed).
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sluice \
    && install -D target/release/sluice /out/sluice

# Debian's C runtime, CA certificates and a nonroot user (65532), nothing else.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/sluice /usr/local/bin/sluice
USER 65532:65532
# The ingress's HTTP, the control plane's gRPC, and the metrics ports.
EXPOSE 8080 50051 9090 9091
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["--help"]
