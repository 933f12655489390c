# weir for pods (Argo Workflows): `weir argo render` writes workflows that
# run this image. The connectors are compiled into the binary (host/build.rs
# builds them for wasm32-wasip2), so the image holds one file.
#
#   docker build -t registry.example/weir:0.1.0 .
#
# Not built on the machine weir is developed on (it has no container
# runtime): see the README, "Run on Argo Workflows".

FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-wasip2
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p weir \
 && strip target/release/weir

FROM debian:bookworm-slim
# CA certificates for TLS to databases, OpenMetadata and Looker.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /home/weir --create-home weir
COPY --from=build /src/target/release/weir /usr/local/bin/weir
USER 10001:10001
WORKDIR /home/weir
# The compile cache: the first run compiles a connector once per pod.
ENV WEIR_CACHE_DIR=/home/weir/.cache/weir WEIR_LOG_FORMAT=json
ENTRYPOINT ["weir"]
