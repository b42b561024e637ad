# Multi-stage build: compile with the full toolchain, run on a slim image as a non-root user.
# Build with `docker build .` (podman: `podman build --format docker .`, or the HEALTHCHECK is lost).
FROM rust:1-bookworm AS build
WORKDIR /src
# The dependencies first, in a layer of their own: built against placeholder sources, so a change
# under src/ recompiles only this crate. rust:1-bookworm already has libpq-dev.
COPY Cargo.toml Cargo.lock ./
# The build settings (the bundled SQLite's compile options among them).
COPY .cargo ./.cargo
# The patched diesel derive (vendor/diesel_derives/PATCH.md) is a dependency like the others.
COPY vendor ./vendor
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --bin requestdesk \
 && rm -rf src
COPY migrations ./migrations
COPY src ./src
# COPY keeps the sources' modification times, which may be older than the placeholders' build.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin requestdesk \
 && strip target/release/requestdesk

FROM debian:bookworm-slim
# libpq5 is the one library the binary links beyond glibc (SQLite is compiled in). No curl: the
# HEALTHCHECK is the binary's own `healthcheck` subcommand.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 requestdesk \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/requestdesk \
      --no-create-home --shell /usr/sbin/nologin requestdesk \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/requestdesk /var/lib/requestdesk/data
COPY --from=build /src/target/release/requestdesk /usr/local/bin/requestdesk
USER 10001:10001
WORKDIR /var/lib/requestdesk
ENV REQUESTDESK_BIND=0.0.0.0:8080 \
    REQUESTDESK_DATA_DIR=/var/lib/requestdesk/data \
    REQUESTDESK_LOG_FORMAT=json
# The directory exists, owned by the service, before it becomes a volume: Docker gives a new
# volume the ownership and mode of the directory it is mounted on.
VOLUME ["/var/lib/requestdesk/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["requestdesk", "healthcheck"]
ENTRYPOINT ["requestdesk"]
CMD ["serve"]
