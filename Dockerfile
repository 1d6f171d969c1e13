# msnd in a container: `docker build -t msnd .`, or see compose.yaml and the README's
# "Docker" section. Data (msnd.db, the generated certificate and key, admin-token) lives in the /data volume.

# Build stage. perl and make build the vendored OpenSSL (openssl-src); they are in the
# rust image already, installed here to say so.
FROM rust:1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends perl make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked \
    && install -m 0755 target/release/msnd /usr/local/bin/msnd

# Runtime stage: the binary (OpenSSL and SQLite are linked in) on a slim Debian.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin msnd \
    && install -d -o msnd -g msnd -m 0750 /data
COPY --from=build /usr/local/bin/msnd /usr/local/bin/msnd
USER msnd
WORKDIR /data
VOLUME ["/data"]
ENV RUST_LOG=info MSND_DATA_DIR=/data
# Dispatch, notification, switchboard, Passport HTTP, Passport HTTPS (publish it as 443),
# the web pages (sign-up, account). The admin interface (1868) stays on loopback.
EXPOSE 1863 1864 1865 1866 1867 1880
# The database, the certificate and the admin token live in the data directory, /data (MSND_DATA_DIR). Set
# MSND_CONFIG to a TOML file (e.g. mounted at /etc/msnd/msnd.toml) to change anything.
CMD ["msnd"]
