# syntax=docker/dockerfile:1
# cachefront container image.
#
#   docker build -t cachefront .
#   docker run --rm -p 8080:8080 cachefront        # serves the bundled example bucket
#   docker run --rm -p 8080:8080 -v $PWD/my.toml:/etc/cachefront/cachefront.toml:ro cachefront
#
# Two stages: a Rust 1.95 builder whose dependency layer is cached until
# Cargo.toml/Cargo.lock change, and a distroless runtime (glibc, CA
# certificates, no shell, no package manager) running as a non-root user.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /build

# 1. Dependencies only: a stub crate with the real manifest and lock file.
#    This layer is rebuilt only when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/it \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs tests/it/main.rs \
    && cargo build --release --locked \
    && rm -rf src tests target/release/.fingerprint/cachefront-* target/release/deps/cachefront-* target/release/deps/libcachefront-*

# 2. The crate itself.
COPY src ./src
COPY config ./config
RUN cargo build --release --locked --bin cachefront \
    && install -D -m 0755 target/release/cachefront /out/cachefront

FROM gcr.io/distroless/cc-debian12:nonroot

# The binary, a container config (listens on all interfaces, admin on 9091)
# and the example bucket that config serves until you mount your own.
COPY --from=builder /out/cachefront /usr/local/bin/cachefront
COPY deploy/docker/cachefront.toml /etc/cachefront/cachefront.toml
COPY examples/s3 /usr/share/cachefront/examples/s3

# The `nonroot` user of the distroless image (uid 65532); no file in the
# image is writable by it, so the root filesystem may be mounted read-only.
USER 65532:65532
ENV CACHEFRONT_CONFIG=/etc/cachefront/cachefront.toml \
    RUST_LOG=info

# 8080: HTTP (h1 + h2c); 8443: TLS when tls_listen is configured;
# 9091: admin (/healthz, /readyz) — publish it only to the orchestrator.
EXPOSE 8080 8443 9091

# No shell in the image: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/cachefront", "probe", "--timeout", "2s", "http://127.0.0.1:9091/healthz"]

# Exec form: cachefront is PID 1 and receives SIGTERM itself. It installs
# a handler (the kernel's default for PID 1 would ignore the signal), marks
# /readyz unready, stops accepting and drains in-flight requests for up to
# server.shutdown_timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/cachefront"]
CMD ["serve"]
