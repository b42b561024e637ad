#!/usr/bin/env bash
# Makes this machine able to build and run the project's Dockerfile and docker-compose.yml with
# podman, as root: installs podman, configures it for this kind of machine, and makes the base
# images the files name (debian:bookworm-slim, rust:1-bookworm, postgres:15) locally, since no
# container registry can be reached. Each image is made once per machine and reused while its
# recipe (this file and the host's Rust toolchain) is unchanged. Called by .ci/container.sh.
set -euo pipefail

cache=${REQUESTDESK_CI_CACHE:-/var/cache/requestdesk-ci}
log() { printf '    %s\n' "$*"; }

# netavark, podman's network backend, runs iptables for every container network; without it
# every RUN step fails with "netavark: No such file or directory".
install_podman() {
  local missing=()
  for package in podman runc debootstrap netavark aardvark-dns iptables python3-venv openssl curl; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# crun refuses this machine's hybrid cgroups, and setrlimit is not permitted here, so containers
# get runc, no default ulimits and no pids limit. A drop-in leaves the machine's own file alone.
configure_podman() {
  local conf=/etc/containers/containers.conf.d/50-requestdesk-ci.conf
  mkdir -p "$(dirname "$conf")"
  cat >"$conf.new" <<'EOF'
[containers]
default_ulimits = []
pids_limit = 0

[engine]
runtime = "runc"
EOF
  mv "$conf.new" "$conf"
  [ "$(podman info --format '{{.Host.OCIRuntime.Name}}')" = runc ] ||
    { echo "podman does not use runc despite $conf" >&2; exit 1; }
}

# The Debian mirror this machine's apt is set up with (the first one serving bookworm).
debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u; exit}' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' \
    /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "no Debian bookworm mirror in this machine's apt sources" >&2; exit 1; }
  printf '%s\n' "$uri"
}

image_is_current() { # name, recipe
  [ "$(podman image inspect --format '{{index .Labels "requestdesk.ci.recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}

# A debootstrap minbase, trimmed as the official slim image is (no documentation, manual pages or
# translations, now or from later installs), with this machine's apt sources.
make_debian() {
  local rootfs=$cache/bookworm-rootfs
  rm -rf "$rootfs"
  mkdir -p "$cache"
  log "debootstrap bookworm (minbase)"
  quietly "$cache/debootstrap.log" debootstrap --variant=minbase bookworm "$rootfs" "$(debian_mirror)"
  rm -f "$rootfs/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null ||
    cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  printf 'Acquire::Languages "none";\n' >"$rootfs/etc/apt/apt.conf.d/slim-no-languages"
  # As in the official images: no downloaded package or package cache is left in a layer.
  cat >"$rootfs/etc/apt/apt.conf.d/slim-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{man,groff,info,lintian}/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/var/cache/debconf/*-old
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar -C "$rootfs" --numeric-owner -c . |
    podman import --quiet --change 'CMD ["bash"]' --change "LABEL requestdesk.ci.recipe=$recipe" \
      - docker.io/library/debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
}

# The official rust image's layout (RUSTUP_HOME, CARGO_HOME, PATH) with this machine's toolchain,
# which cannot be downloaded here. This machine's TLS-intercepting proxy's CA is added so cargo
# inside a build reaches crates.io; a real Docker user has no such proxy, so the committed
# Dockerfile does not do this.
make_rust() {
  local toolchain name context
  toolchain=$(rustc --print sysroot)
  name=$(basename "$toolchain")
  context=$(mktemp -d)
  cp /usr/local/share/ca-certificates/*.crt "$context/" 2>/dev/null || true
  cat >"$context/Containerfile" <<EOF
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential pkg-config libpq-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY *.crt /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p \$RUSTUP_HOME/toolchains \$CARGO_HOME/bin \
 && cp -a /mnt/toolchain \$RUSTUP_HOME/toolchains/$name \
 && rm -rf \$RUSTUP_HOME/toolchains/$name/share/doc \
 && printf 'version = "12"\ndefault_toolchain = "$name"\nprofile = "minimal"\nauto_self_update = "disable"\n' \
    > \$RUSTUP_HOME/settings.toml \
 && cp /mnt/rustup \$CARGO_HOME/bin/rustup \
 && for tool in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt; do \
      ln -s rustup \$CARGO_HOME/bin/\$tool; done \
 && chmod -R a+w \$RUSTUP_HOME \$CARGO_HOME \
 && cargo --version && rustc --version
LABEL requestdesk.ci.recipe=$2
EOF
  [ -n "$(ls "$context"/*.crt 2>/dev/null)" ] || touch "$context/none.crt"
  log "rust:1-bookworm with $(rustc --version)"
  quietly "$cache/rust-image.log" podman build --pull=never -t docker.io/library/rust:1-bookworm \
    -v "$toolchain:/mnt/toolchain:ro" -v "$(command -v rustup):/mnt/rustup:ro" "$context"
  rm -rf "$context"
}

# Debian's PostgreSQL 15 behind an entrypoint that honours POSTGRES_USER, POSTGRES_PASSWORD and
# POSTGRES_DB on first start, as the official image does.
make_postgres() {
  local context
  context=$(mktemp -d)
  cat >"$context/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "POSTGRES_PASSWORD must be set" >&2; exit 1; }
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    postgres --single -D "$PGDATA" postgres >/dev/null <<SQL
CREATE DATABASE "$POSTGRES_DB" OWNER "$POSTGRES_USER";
SQL
  fi
fi
if [ "${1:-}" = postgres ]; then
  shift
  set -- postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
EOF
  cat >"$context/Containerfile" <<EOF
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 && rm -rf /var/lib/apt/lists/*
COPY docker-entrypoint.sh /usr/local/bin/
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
LABEL requestdesk.ci.recipe=$recipe
EOF
  log "postgres:15 (Debian's postgresql-15)"
  quietly "$cache/postgres-image.log" podman build --pull=never --format docker \
    -t docker.io/library/postgres:15 "$context"
  rm -rf "$context"
}

# Builds output to a log, shown when they fail.
quietly() { # LOG COMMAND...
  local log=$1
  shift
  "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; exit 1; }
}

install_podman
configure_podman
mkdir -p "$cache"
# What the images are made of: the functions that make them, without their comments (declare -f
# drops them), so editing a comment does not remake them.
recipe=$(declare -f debian_mirror make_debian make_rust make_postgres | sha256sum | cut -c1-16)
# A new debian base makes the two built on it stale, whatever their own labels say.
if ! image_is_current docker.io/library/debian:bookworm-slim "$recipe"; then
  make_debian
  podman rmi -f docker.io/library/rust:1-bookworm docker.io/library/postgres:15 >/dev/null 2>&1 || true
fi
rust_recipe="$recipe-$(rustc --version | cut -d' ' -f2)"
image_is_current docker.io/library/rust:1-bookworm "$rust_recipe" || make_rust "$recipe" "$rust_recipe"
image_is_current docker.io/library/postgres:15 "$recipe" || make_postgres
podman images --format '    {{.Repository}}:{{.Tag}} {{.Size}}' |
  grep -E 'library/(debian:bookworm-slim|rust:1-bookworm|postgres:15) '
