//! Settings from the command line and the environment. Every setting has a flag and an environment
//! variable (`DATABASE_URL`, otherwise `REQUESTDESK_*`); `requestdesk --help` lists them all.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// requestdesk: a self-service request portal for security teams.
#[derive(Debug, Parser)]
#[command(name = "requestdesk", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator, or reset an existing user to an active administrator.
    CreateAdmin {
        /// The administrator's username.
        #[arg(long, default_value = "admin")]
        username: String,
        /// The administrator's e-mail address (default: `<username>@requestdesk.local`).
        #[arg(long)]
        email: Option<String>,
    },
    /// Print the OpenAPI document and exit.
    Openapi,
    /// Re-wrap every account secret's data key under one master key, in small transactions,
    /// while the service keeps serving. The target is REQUESTDESK_NEW_SECRETS_KEY (or its file);
    /// without one, the current REQUESTDESK_SECRETS_KEY (finishing a switch to it). Old data keys
    /// are opened with REQUESTDESK_SECRETS_KEY and REQUESTDESK_SECRETS_OLD_KEYS.
    RotateSecretsKey {
        /// The master key to re-wrap under: 64 hexadecimal digits.
        #[arg(
            long,
            env = "REQUESTDESK_NEW_SECRETS_KEY",
            hide_env_values = true,
            conflicts_with = "new_key_file"
        )]
        new_key: Option<Secret>,
        /// A file holding the master key to re-wrap under.
        #[arg(long, env = "REQUESTDESK_NEW_SECRETS_KEY_FILE")]
        new_key_file: Option<PathBuf>,
        /// Secrets re-wrapped per transaction.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch_size: i64,
    },
    /// Ask the running service whether it is ready (`/readyz` over loopback, on the port of
    /// --bind); exit 0 if so. The container image's HEALTHCHECK, which needs no curl.
    Healthcheck,
}

impl Cli {
    /// Parses the command line and the environment. A variable set to the empty string counts as
    /// unset, so the default applies: `docker compose` passes `${VAR:-}` as an empty value, and
    /// an operator who blanks a variable means "not set", not "set to nothing".
    pub fn parse_args() -> Self {
        Self::parse_args_from(std::env::args_os())
    }

    /// [`Self::parse_args`] with the given arguments (the first is the program name).
    pub fn parse_args_from<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = Self::command().mut_args(ignore_empty_environment_value);
        command
            .try_get_matches_from_mut(args)
            .and_then(|matches| Self::from_arg_matches(&matches))
            .unwrap_or_else(|e| e.format(&mut command).exit())
    }
}

/// Forgets an argument's environment variable when it is set but empty.
fn ignore_empty_environment_value(arg: Arg) -> Arg {
    let empty = arg
        .get_env()
        .and_then(std::env::var_os)
        .is_some_and(|value| value.is_empty());
    if empty { arg.env(None) } else { arg }
}

/// A secret value that never appears in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(value))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything the service can be told.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "REQUESTDESK_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Serve `GET /metrics` on this address only (e.g. `127.0.0.1:9090`), rather than on the main
    /// listener, so the scrape endpoint need not be reachable by the API's clients.
    #[arg(long, env = "REQUESTDESK_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,

    /// Directory for the embedded database, the generated JWT secret and the CA.
    #[arg(
        long,
        env = "REQUESTDESK_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Database URL: postgres://... for PostgreSQL; sqlite://PATH or a file path for SQLite
    /// (default: the SQLite file requestdesk.db in the data directory).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,

    /// Most database connections held by this instance.
    #[arg(long, env = "REQUESTDESK_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=256), global = true)]
    pub pool_size: u32,

    /// Seconds to wait for a database connection before answering 503.
    #[arg(long, env = "REQUESTDESK_DB_TIMEOUT_SECS", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60), global = true)]
    pub db_timeout_secs: u64,

    /// Seconds to keep retrying an unreachable PostgreSQL server at start-up before giving up
    /// (0: try once). Each failed attempt is logged with its cause.
    #[arg(long, env = "REQUESTDESK_DB_STARTUP_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=3600), global = true)]
    pub db_startup_timeout_secs: u64,

    /// HS256 signing secret for access tokens, at least 32 bytes. When missing, one is generated
    /// once into the data directory (mode 0600). Instances sharing a database must share it.
    #[arg(
        long,
        env = "REQUESTDESK_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<Secret>,

    /// Master key that seals account secrets: 64 hexadecimal digits (`openssl rand -hex 32`).
    /// Required on PostgreSQL, the same for every instance; on the embedded database one is
    /// generated once into the data directory (mode 0600) when neither this nor its file is set.
    #[arg(
        long,
        env = "REQUESTDESK_SECRETS_KEY",
        hide_env_values = true,
        conflicts_with = "secrets_key_file",
        global = true
    )]
    pub secrets_key: Option<Secret>,

    /// A file holding the master key, instead of REQUESTDESK_SECRETS_KEY.
    #[arg(long, env = "REQUESTDESK_SECRETS_KEY_FILE", global = true)]
    pub secrets_key_file: Option<PathBuf>,

    /// Earlier master keys, comma-separated: they still open data keys that
    /// `requestdesk rotate-secrets-key` has not re-wrapped yet, and wrap nothing new.
    #[arg(
        long,
        env = "REQUESTDESK_SECRETS_OLD_KEYS",
        value_delimiter = ',',
        hide_env_values = true,
        global = true
    )]
    pub secrets_old_keys: Vec<Secret>,

    /// Lifetime of an access token and its session, in seconds.
    #[arg(long, env = "REQUESTDESK_TOKEN_TTL_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..=2_592_000), global = true)]
    pub token_ttl_secs: u64,

    /// bcrypt cost for password hashes. Below 10 is for tests only and is logged as a warning.
    #[arg(long, env = "REQUESTDESK_BCRYPT_COST", default_value_t = 12, value_parser = clap::value_parser!(u32).range(4..=31), global = true)]
    pub bcrypt_cost: u32,

    /// Log filter, e.g. `info` or `requestdesk=debug,actix_web=info`.
    #[arg(
        long,
        env = "REQUESTDESK_LOG_LEVEL",
        default_value = "info",
        global = true
    )]
    pub log_level: String,

    /// Log format.
    #[arg(long, env = "REQUESTDESK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// PEM certificate chain: with --tls-key, the service serves HTTPS itself.
    #[arg(
        long,
        env = "REQUESTDESK_TLS_CERT",
        requires = "tls_key",
        global = true
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(
        long,
        env = "REQUESTDESK_TLS_KEY",
        requires = "tls_cert",
        global = true
    )]
    pub tls_key: Option<PathBuf>,

    /// Origins allowed to call the API from a browser, comma-separated (none by default).
    #[arg(
        long,
        env = "REQUESTDESK_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// Password for the `admin` user created on first start (default: random, printed once).
    #[arg(
        long,
        env = "REQUESTDESK_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub admin_password: Option<Secret>,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "REQUESTDESK_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Days a pending request waits for its decision before it expires.
    #[arg(long, env = "REQUESTDESK_REQUEST_TTL_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650), global = true)]
    pub request_ttl_days: u32,

    /// Confirmations a certificate request needs before it is approved and issued.
    #[arg(long, env = "REQUESTDESK_CERTIFICATE_CONFIRMATIONS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10), global = true)]
    pub certificate_confirmations: u32,

    /// PEM certificate of the CA (with --ca-key). Default: ca.pem in the data directory,
    /// generated on first start (ECDSA P-256).
    #[arg(long, env = "REQUESTDESK_CA_CERT", requires = "ca_key", global = true)]
    pub ca_cert: Option<PathBuf>,

    /// PEM private key of the CA (with --ca-cert).
    #[arg(long, env = "REQUESTDESK_CA_KEY", requires = "ca_cert", global = true)]
    pub ca_key: Option<PathBuf>,

    /// Smallest RSA key the CA accepts, in bits.
    #[arg(long, env = "REQUESTDESK_CA_MIN_RSA_BITS", default_value_t = 2048, value_parser = clap::value_parser!(u32).range(2048..=16384), global = true)]
    pub ca_min_rsa_bits: u32,

    /// Accept IP addresses as subject alternative names.
    #[arg(
        long,
        env = "REQUESTDESK_CA_ALLOW_IP_SANS",
        default_value_t = false,
        global = true
    )]
    pub ca_allow_ip_sans: bool,

    /// Accept wildcard DNS names (`*.example.com`).
    #[arg(
        long,
        env = "REQUESTDESK_CA_ALLOW_WILDCARDS",
        default_value_t = false,
        global = true
    )]
    pub ca_allow_wildcards: bool,

    /// DNS suffixes names must end with, comma-separated (none: any name).
    #[arg(
        long,
        env = "REQUESTDESK_CA_ALLOWED_DNS_SUFFIXES",
        value_delimiter = ',',
        global = true
    )]
    pub ca_allowed_dns_suffixes: Vec<String>,

    /// Validity of an issued certificate when the request names none, in days.
    #[arg(long, env = "REQUESTDESK_CA_DEFAULT_VALIDITY_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=397), global = true)]
    pub ca_default_validity_days: u32,

    /// Longest validity a request may ask for, in days (at most 397).
    #[arg(long, env = "REQUESTDESK_CA_MAX_VALIDITY_DAYS", default_value_t = 397, value_parser = clap::value_parser!(u32).range(1..=397), global = true)]
    pub ca_max_validity_days: u32,
}

impl Settings {
    /// The database URL to use: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => self
                .data_dir
                .join("requestdesk.db")
                .to_string_lossy()
                .into_owned(),
        }
    }

    pub fn db_timeout(&self) -> Duration {
        Duration::from_secs(self.db_timeout_secs)
    }

    pub fn db_startup_timeout(&self) -> Duration {
        Duration::from_secs(self.db_startup_timeout_secs)
    }

    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs)
    }

    /// Settings with every default, as `requestdesk` with no flags and no environment would use.
    pub fn defaults() -> Self {
        Cli::parse_args_from(["requestdesk"]).settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut settings = Settings::defaults();
        settings.jwt_secret = Some(Secret::new("super-secret-signing-key"));
        settings.secrets_key = Some(Secret::new("super-secret-master-key"));
        settings.secrets_old_keys = vec![Secret::new("super-secret-old-key")];
        assert!(!format!("{settings:?}").contains("super-secret"));
    }

    #[test]
    fn the_embedded_database_lives_in_the_data_directory() {
        let mut settings = Settings::defaults();
        settings.database_url = None;
        settings.data_dir = PathBuf::from("/tmp/rd");
        assert_eq!(settings.database_url(), "/tmp/rd/requestdesk.db");
    }
}
