# syntax=docker/dockerfile:1
# One image for every jifen component: `jifen run --target <component>` (see charts/jifen).
#   docker build -t jifen/jifen:dev .

FROM rust:1.95-bookworm AS builder
WORKDIR /src
# The whole workspace (.dockerignore keeps target/ and local data out); the cargo registry and
# target dir are BuildKit caches, so rebuilds only compile what changed.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin jifen \
 && install -D -m 0755 target/release/jifen /out/jifen

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 jifen \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin jifen \
 && install -d -o 10001 -g 10001 /data /etc/jifen
COPY --from=builder /out/jifen /usr/local/bin/jifen
ENV JIFEN_DATA_DIR=/data \
    TZ=Asia/Shanghai
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 50051 8080
ENTRYPOINT ["jifen"]
CMD ["run", "--target", "all"]
