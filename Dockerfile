# Multi-stage build: compile with the full toolchain, run on a slim image as a non-root user.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/requestdesk --create-home requestdesk
COPY --from=build /src/target/release/requestdesk /usr/local/bin/requestdesk
USER requestdesk
WORKDIR /var/lib/requestdesk
ENV REQUESTDESK_BIND=0.0.0.0:8080 \
    REQUESTDESK_DATA_DIR=/var/lib/requestdesk/data \
    REQUESTDESK_LOG_FORMAT=json
VOLUME ["/var/lib/requestdesk/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["requestdesk"]
CMD ["serve"]
