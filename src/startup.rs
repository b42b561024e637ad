//! Start-up: open and migrate the database, load the secrets, make sure an administrator exists,
//! bind the listener (port 0 in tests) and build the HTTP server.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::api::docs::{self, OpenApiJson};
use crate::api::fallback::{RouteTable, unmatched};
use crate::api::{self, AppState, caching, metrics};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, Backend, PoolOptions};
use crate::domain::user::Password;
use crate::error::{AppError, ErrorCode};
use crate::openapi::{self, OPENAPI_PATH};
use crate::pki::{self, CaPolicy, CertificateAuthority};
use crate::secrets::{self, KeyRing, MasterKey};
use crate::service::auth::TokenService;
use crate::service::bootstrap::{self, AdminPassword};
use crate::service::passwords::PasswordHasher;
use crate::service::{Context, RequestSettings};

/// Why the service could not start. Every message names the setting or the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting's value is refused.
    #[error("{setting}: {message}")]
    Setting {
        setting: &'static str,
        message: String,
    },
    /// A file or directory the service needs cannot be read or written.
    #[error("{}: {source} (from {setting})", path.display())]
    File {
        setting: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The database cannot be opened or migrated.
    #[error("the database {target} (from {setting}): {source}")]
    Database {
        setting: &'static str,
        target: String,
        #[source]
        source: db::SetupError,
    },
    /// The certificate authority cannot be loaded or created.
    #[error("the certificate authority (from {setting}): {source}")]
    Ca {
        setting: &'static str,
        #[source]
        source: pki::PkiError,
    },
    #[error("TLS (REQUESTDESK_TLS_CERT, REQUESTDESK_TLS_KEY): {0}")]
    Tls(String),
    /// The first administrator cannot be created.
    #[error("creating the first administrator: {0}")]
    Admin(#[source] AppError),
}

impl StartupError {
    fn setting(setting: &'static str, message: impl fmt::Display) -> Self {
        Self::Setting {
            setting,
            message: message.to_string(),
        }
    }

    fn file(setting: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::File {
            setting,
            path,
            source,
        }
    }
}

/// A built, bound, not yet running service.
pub struct Application {
    port: u16,
    server: Server,
    /// The `/metrics` listener, when `metrics_bind` gives it one of its own.
    metrics: Option<(u16, Server)>,
    ctx: Arc<Context>,
}

impl Application {
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let admin_password = admin_password(settings)?;
        let ctx = Arc::new(build_context(settings)?);
        announce_admin(ensure_admin(&ctx, admin_password)?);
        let bind = |setting, address: SocketAddr| {
            move |e: io::Error| StartupError::setting(setting, format!("{address}: {e}"))
        };
        let listener =
            TcpListener::bind(settings.bind).map_err(bind("REQUESTDESK_BIND", settings.bind))?;
        let port = listener
            .local_addr()
            .map_err(bind("REQUESTDESK_BIND", settings.bind))?
            .port();
        let metrics_listener = settings
            .metrics_bind
            .map(|address| {
                TcpListener::bind(address).map_err(bind("REQUESTDESK_METRICS_BIND", address))
            })
            .transpose()?;
        let (server, metrics) =
            build_server(settings, Arc::clone(&ctx), listener, metrics_listener)?;
        let scheme = if settings.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let base = format!("{scheme}://{}:{port}", settings.bind.ip());
        let metrics_url = match (&metrics, settings.metrics_bind) {
            (Some((port, _)), Some(bind)) => format!("http://{}:{port}{METRICS_PATH}", bind.ip()),
            _ => format!("{base}{METRICS_PATH}"),
        };
        tracing::info!(
            "requestdesk listening on {base} — API {base}/api/v3, Swagger UI {base}/swagger-ui/, \
             OpenAPI {base}{OPENAPI_PATH}, metrics {metrics_url}"
        );
        Ok(Self {
            port,
            server,
            metrics,
            ctx,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `/metrics` listener, when it has its own.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// The clock the service reads; tests move it forward.
    pub fn clock(&self) -> Clock {
        self.ctx.clock.clone()
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; with a metrics listener, stopping either stops both.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        let Some((_, metrics)) = self.metrics else {
            return self.server.await;
        };
        let (main_handle, metrics_handle) = (self.server.handle(), metrics.handle());
        let main = async {
            let result = self.server.await;
            metrics_handle.stop(true).await;
            result
        };
        let metrics = async {
            let result = metrics.await;
            main_handle.stop(true).await;
            result
        };
        let (main, metrics) = futures_util::future::join(main, metrics).await;
        main.and(metrics)
    }
}

/// The database pool, secrets and password hasher, with the schema migrated.
pub fn build_context(settings: &Settings) -> Result<Context, StartupError> {
    let url = settings.database_url();
    let backend = Backend::from_url(&url).map_err(|e| StartupError::setting("DATABASE_URL", e))?;
    create_private_dir(&settings.data_dir).map_err(StartupError::file(
        "REQUESTDESK_DATA_DIR",
        &settings.data_dir,
    ))?;
    let pool = connect_with_retries(settings, backend)?;
    let secret = match &settings.jwt_secret {
        Some(secret) if secret.expose().len() >= 32 => secret.expose().to_owned(),
        Some(_) => {
            return Err(StartupError::setting(
                "REQUESTDESK_JWT_SECRET",
                "must be at least 32 bytes long",
            ));
        }
        None => load_or_create_jwt_secret(&settings.data_dir, backend)?,
    };
    let secrets = load_secrets_keys(settings, backend)?;
    warn_of_unknown_secrets_keys(&pool, &secrets);
    if settings.bcrypt_cost < 10 {
        tracing::warn!(
            cost = settings.bcrypt_cost,
            "bcrypt cost below 10: for tests only"
        );
    }
    Ok(Context {
        pool,
        clock: Clock::default(),
        tokens: TokenService::new(secret.as_bytes(), settings.token_ttl())
            .map_err(|e| StartupError::setting("REQUESTDESK_JWT_SECRET", e))?,
        passwords: PasswordHasher::new(settings.bcrypt_cost)
            .map_err(|e| StartupError::setting("REQUESTDESK_BCRYPT_COST", e))?,
        ca: load_ca(settings, backend)?,
        requests: RequestSettings {
            ttl: chrono::Duration::days(i64::from(settings.request_ttl_days)),
            certificate_confirmations: i32::try_from(settings.certificate_confirmations)
                .unwrap_or(1),
        },
        secrets,
    })
}

/// One database connection (no pool: the command exits right after) and the secrets key ring,
/// without the rest of the context: what `rotate-secrets-key` needs.
pub fn secrets_store(settings: &Settings) -> Result<(db::DbConnection, KeyRing), StartupError> {
    let url = settings.database_url();
    let backend = Backend::from_url(&url).map_err(|e| StartupError::setting("DATABASE_URL", e))?;
    create_private_dir(&settings.data_dir).map_err(StartupError::file(
        "REQUESTDESK_DATA_DIR",
        &settings.data_dir,
    ))?;
    let conn = db::connect_one(&url, settings.db_timeout())
        .map_err(|source| database_error(settings, backend, source))?;
    let secrets = load_secrets_keys(settings, backend)?;
    Ok((conn, secrets))
}

/// The master key from REQUESTDESK_SECRETS_KEY or its file, with REQUESTDESK_SECRETS_OLD_KEYS.
/// On PostgreSQL the key is required: instances sharing the database must share it, and one
/// generated into a data directory would seal secrets no other instance can open. On the
/// embedded database it is generated once into the data directory, like the JWT secret.
fn load_secrets_keys(settings: &Settings, backend: Backend) -> Result<KeyRing, StartupError> {
    let current = match (&settings.secrets_key, &settings.secrets_key_file) {
        (Some(key), _) => MasterKey::parse(key.expose())
            .map_err(|e| StartupError::setting("REQUESTDESK_SECRETS_KEY", e))?,
        (None, Some(path)) => read_master_key("REQUESTDESK_SECRETS_KEY_FILE", path)?,
        (None, None) if backend == Backend::Postgres => {
            return Err(StartupError::setting(
                "REQUESTDESK_SECRETS_KEY",
                "required on PostgreSQL (or REQUESTDESK_SECRETS_KEY_FILE): the master key that \
                 seals account secrets, 64 hexadecimal digits such as `openssl rand -hex 32` \
                 prints, the same for every instance",
            ));
        }
        (None, None) => load_or_create_secrets_key(&settings.data_dir)?,
    };
    let old = settings
        .secrets_old_keys
        .iter()
        .filter(|key| !key.expose().trim().is_empty())
        .enumerate()
        .map(|(position, key)| {
            MasterKey::parse(key.expose()).map_err(|e| {
                StartupError::setting(
                    "REQUESTDESK_SECRETS_OLD_KEYS",
                    format!("key {}: {e}", position + 1),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ring = KeyRing::new(current, old);
    tracing::info!(
        key.id = %ring.current().id(),
        old_keys = ring.ids().len() - 1,
        "secrets key loaded"
    );
    Ok(ring)
}

/// A master key kept in a file (its text, surrounding whitespace ignored).
pub fn read_master_key(setting: &'static str, path: &Path) -> Result<MasterKey, StartupError> {
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path).map_err(StartupError::file(setting, path))?,
    );
    MasterKey::parse(&text)
        .map_err(|e| StartupError::setting(setting, format!("{}: {e}", path.display())))
}

/// The master key kept in the data directory, created once (mode 0600).
fn load_or_create_secrets_key(dir: &Path) -> Result<MasterKey, StartupError> {
    let path = dir.join(secrets::SECRETS_KEY_FILE);
    const SETTING: &str = "REQUESTDESK_SECRETS_KEY unset, REQUESTDESK_DATA_DIR";
    if path.exists() {
        return read_master_key(SETTING, &path);
    }
    let (key, text) =
        MasterKey::generate().map_err(|e| StartupError::setting("REQUESTDESK_SECRETS_KEY", e))?;
    create_private_file(&path, text.as_bytes()).map_err(StartupError::file(SETTING, &path))?;
    tracing::info!(
        key.id = %key.id(),
        "generated the secrets key {}: back it up apart from the database",
        path.display()
    );
    Ok(key)
}

/// Says which stored secrets no configured key opens: a lost or wrong key shows at start-up
/// rather than on the first retrieval.
fn warn_of_unknown_secrets_keys(pool: &db::DbPool, ring: &KeyRing) {
    let Ok(mut conn) = pool.get() else {
        return;
    };
    let held: Vec<String> = ring.ids().iter().map(ToString::to_string).collect();
    match db::account_secrets::count_by_key(&mut conn) {
        Ok(counts) => {
            for (key_id, n) in counts.into_iter().filter(|(id, _)| !held.contains(id)) {
                tracing::warn!(
                    key.id = %key_id,
                    secrets = n,
                    "secrets wrapped by a master key that is neither REQUESTDESK_SECRETS_KEY nor \
                     in REQUESTDESK_SECRETS_OLD_KEYS: they cannot be opened"
                );
            }
        }
        Err(error) => tracing::warn!(%error, "could not check the stored secrets' key ids"),
    }
}

/// The configured password of the first administrator, checked before anything starts so a bad
/// one is refused naming its setting.
pub fn admin_password(settings: &Settings) -> Result<Option<&str>, StartupError> {
    let Some(password) = &settings.admin_password else {
        return Ok(None);
    };
    Password::parse("REQUESTDESK_ADMIN_PASSWORD", password.expose())
        .map_err(|e| StartupError::setting("REQUESTDESK_ADMIN_PASSWORD", e.message))?;
    Ok(Some(password.expose()))
}

/// Creates the first administrator if there is none. Replicas starting together on a new
/// database race to create it: the loser's insert fails on the unique username, and a second
/// look finds the winner's administrator.
fn ensure_admin(
    ctx: &Context,
    password: Option<&str>,
) -> Result<Option<AdminPassword>, StartupError> {
    bootstrap::ensure_admin(ctx, password)
        .or_else(|_| bootstrap::ensure_admin(ctx, password))
        .map_err(StartupError::Admin)
}

/// Opens the pool, retrying an unreachable PostgreSQL server (it may still be starting, as in a
/// compose file) until `--db-startup-timeout-secs` has passed. SQLite is a local file: a failure
/// to open it will not heal by waiting.
fn connect_with_retries(settings: &Settings, backend: Backend) -> Result<db::DbPool, StartupError> {
    let url = settings.database_url();
    let options = PoolOptions {
        max_size: settings.pool_size,
        connection_timeout: settings.db_timeout(),
        database_timeout: settings.db_timeout(),
    };
    let deadline = Instant::now() + settings.db_startup_timeout();
    let mut pause = Duration::from_millis(250);
    let mut attempt = 1_u32;
    loop {
        match db::connect(&url, options) {
            Ok(pool) => return Ok(pool),
            Err(error) if worth_retrying(backend, &error) && Instant::now() < deadline => {
                let wait = pause.min(deadline.saturating_duration_since(Instant::now()));
                tracing::warn!(
                    attempt,
                    retry_in_ms = wait.as_millis(),
                    "the database is not reachable yet: {error}"
                );
                std::thread::sleep(wait);
                pause = (pause * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(source) => return Err(database_error(settings, backend, source)),
        }
    }
}

fn worth_retrying(backend: Backend, error: &db::SetupError) -> bool {
    backend == Backend::Postgres
        && matches!(error, db::SetupError::Connect(_) | db::SetupError::Pool(_))
}

fn database_error(settings: &Settings, backend: Backend, source: db::SetupError) -> StartupError {
    let setting = if settings.database_url.is_some() {
        "DATABASE_URL"
    } else {
        "REQUESTDESK_DATA_DIR"
    };
    StartupError::Database {
        setting,
        target: describe_database(&settings.database_url(), backend),
        source,
    }
}

/// The database a URL names, without its credentials: what a log line may show.
fn describe_database(url: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => format!("SQLite file {}", url.trim_start_matches("sqlite://")),
        Backend::Postgres => {
            let without_query = url.split_once('?').map_or(url, |(base, _)| base);
            match without_query.split_once("://") {
                Some((scheme, rest)) => {
                    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                    format!("{scheme}://{host}")
                }
                None => "PostgreSQL".to_owned(),
            }
        }
    }
}

/// The CA named by configuration, or the one kept in the data directory (generated on first
/// start), with the configured policy.
fn load_ca(settings: &Settings, backend: Backend) -> Result<CertificateAuthority, StartupError> {
    let ca = match (&settings.ca_cert, &settings.ca_key) {
        (Some(cert), Some(key)) => {
            let cert_pem = fs::read_to_string(cert)
                .map_err(StartupError::file("REQUESTDESK_CA_CERT", cert))?;
            let key_pem =
                fs::read_to_string(key).map_err(StartupError::file("REQUESTDESK_CA_KEY", key))?;
            CertificateAuthority::from_pem(&cert_pem, &key_pem).map_err(|source| {
                StartupError::Ca {
                    setting: "REQUESTDESK_CA_CERT, REQUESTDESK_CA_KEY",
                    source,
                }
            })?
        }
        _ => {
            if backend == Backend::Postgres && !settings.data_dir.join(pki::CA_KEY_FILE).exists() {
                tracing::warn!(
                    "no REQUESTDESK_CA_CERT/REQUESTDESK_CA_KEY: generating a CA in {}; instances \
                     sharing this database must share one CA",
                    settings.data_dir.display()
                );
            }
            CertificateAuthority::load_or_generate(&settings.data_dir).map_err(|source| {
                StartupError::Ca {
                    setting: "REQUESTDESK_DATA_DIR",
                    source,
                }
            })?
        }
    };
    let policy = CaPolicy {
        allow_rsa_min_bits: settings.ca_min_rsa_bits,
        allow_ip_sans: settings.ca_allow_ip_sans,
        allow_wildcards: settings.ca_allow_wildcards,
        allowed_dns_suffixes: settings
            .ca_allowed_dns_suffixes
            .iter()
            .map(|s| s.trim().trim_start_matches('.').to_lowercase())
            .filter(|s| !s.is_empty())
            .collect(),
        default_validity_days: settings
            .ca_default_validity_days
            .min(settings.ca_max_validity_days),
        max_validity_days: settings.ca_max_validity_days,
        ..CaPolicy::default()
    };
    Ok(ca.with_policy(policy))
}

/// Blocking threads per HTTP worker: the connection pool shared out, plus one for a log-in's
/// hashing, so a bcrypt verification does not hold back a connection's worth of queries.
fn blocking_threads(pool_size: u32, workers: usize) -> usize {
    let pool = usize::try_from(pool_size).unwrap_or(usize::MAX);
    pool.div_ceil(workers.max(1)) + 1
}

fn build_server(
    settings: &Settings,
    ctx: Arc<Context>,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
) -> Result<(Server, Option<(u16, Server)>), StartupError> {
    let doc = openapi::document();
    let routes = web::Data::new(RouteTable::from_openapi(&doc));
    let doc_json = web::Data::new(OpenApiJson::new(&doc));
    let metrics_here = metrics_listener.is_none();
    let workers = settings
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let state = web::Data::new(AppState::new(ctx, workers));
    let cors_origins = settings.cors_origins.clone();
    let metrics_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            // Before the API: the /api/v3 scope would otherwise claim the document's path.
            .route(OPENAPI_PATH, web::get().to(docs::get_openapi_json))
            .app_data(doc_json.clone())
            .service(
                SwaggerUi::new("/swagger-ui/{_:.*}").config(SwaggerConfig::new([OPENAPI_PATH])),
            )
            .configure(|app| {
                if metrics_here {
                    app.route(METRICS_PATH, web::get().to(metrics::get_metrics));
                }
            })
            .into_utoipa_app()
            .configure(api::configure)
            .into_app()
            .app_data(state.clone())
            .app_data(routes.clone())
            .app_data(web::PathConfig::default().error_handler(|_, req| {
                AppError::new(
                    ErrorCode::NotFound,
                    format!("no resource at {}", req.path()),
                )
                .into()
            }))
            .default_service(web::to(unmatched))
            // Innermost: it sees the handler's own answer (an extractor's refusal included), and
            // its 401 reaches PVWA's middleware as an AppError.
            .wrap(from_fn(api::middleware::dead_session_first))
            // Inside PVWA's middleware, so what it refuses reaches it as an AppError.
            .wrap(from_fn(api::middleware::refuse_nul_in_url))
            // Rewrites /PasswordVault paths before routing, and its error bodies are written
            // before compression.
            .wrap(from_fn(api::pvwa::normalize))
            .wrap(from_fn(caching::default_cache_control))
            .wrap(cors(&cors_origins))
            .wrap(from_fn(api::middleware::problem_for_cors_refusals))
            .wrap(Compress::default())
            .wrap(from_fn(caching::tag_compressed))
            .wrap(from_fn(metrics::record_requests))
            .wrap(from_fn(api::middleware::request_id))
    })
    .workers(workers)
    // Every service call runs on a blocking thread and holds a pooled connection: more threads
    // than connections only wait for one, each with its stack and malloc arena (under an
    // open-loop burst actix's default, 512 threads, took the resident memory from 34 to 116 MiB).
    // Calls beyond this wait as queued tasks instead.
    .worker_max_blocking_threads(blocking_threads(settings.pool_size, workers));
    let listening = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => server.listen_rustls_0_23(listener, tls_config(cert, key)?),
        _ => server.listen(listener),
    };
    let server = listening.map_err(|e| {
        StartupError::setting("REQUESTDESK_BIND", format!("{}: {e}", settings.bind))
    })?;
    let metrics = metrics_listener
        .map(|listener| {
            metrics_server(metrics_state, listener)
                .map_err(|e| StartupError::setting("REQUESTDESK_METRICS_BIND", e))
        })
        .transpose()?;
    Ok((server.run(), metrics))
}

/// The `/metrics` listener of its own: plain HTTP, one worker, nothing else on it.
fn metrics_server(state: web::Data<AppState>, listener: TcpListener) -> io::Result<(u16, Server)> {
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route(METRICS_PATH, web::get().to(metrics::get_metrics))
    })
    .workers(1)
    .listen(listener)?
    .run();
    Ok((port, server))
}

const METRICS_PATH: &str = "/metrics";

fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .filter(|origin| !origin.trim().is_empty())
        .fold(Cors::default(), |cors, origin| {
            cors.allowed_origin(origin.trim())
        })
        .allowed_methods(["GET", "POST", "PATCH", "PUT", "DELETE"])
        .allowed_headers(["authorization", "content-type", "x-request-id"])
        .expose_headers(["x-request-id", "retry-after", "www-authenticate"])
        .max_age(3600)
}

fn tls_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, StartupError> {
    let tls = |e: &dyn fmt::Display| {
        StartupError::Tls(format!("{}, {}: {e}", cert.display(), key.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls(&e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| tls(&e))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| tls(&e))
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The signing secret kept in the data directory, created once (mode 0600) so tokens survive
/// restarts.
fn load_or_create_jwt_secret(dir: &Path, backend: Backend) -> Result<String, StartupError> {
    let path = dir.join("jwt-secret");
    let file_error =
        StartupError::file("REQUESTDESK_JWT_SECRET unset, REQUESTDESK_DATA_DIR", &path);
    match fs::read_to_string(&path) {
        Ok(secret) => {
            let secret = secret.trim().to_owned();
            if secret.len() < 32 {
                return Err(StartupError::setting(
                    "REQUESTDESK_DATA_DIR",
                    format!(
                        "{} holds a JWT secret shorter than 32 bytes",
                        path.display()
                    ),
                ));
            }
            return Ok(secret);
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(file_error(e)),
        Err(_) => {}
    }
    if backend == Backend::Postgres {
        tracing::warn!(
            "no REQUESTDESK_JWT_SECRET: generating one in {}; instances sharing this database \
             must share one secret",
            path.display()
        );
    }
    let secret = bootstrap::random_password() + &bootstrap::random_password();
    create_private_file(&path, secret.as_bytes()).map_err(file_error)?;
    Ok(secret)
}

/// Writes a new file only its owner may read (mode 0600); an existing one is never overwritten.
fn create_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(contents))
}

fn announce_admin(password: Option<AdminPassword>) {
    match password {
        Some(AdminPassword::Generated(password)) => tracing::warn!(
            "created the administrator `admin` with the password {password} — it is shown only \
             this once: log in and change it"
        ),
        Some(AdminPassword::Given) => {
            tracing::info!("created the administrator `admin` with the configured password");
        }
        None => {}
    }
}
