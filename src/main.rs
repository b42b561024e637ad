//! The `requestdesk` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use requestdesk::config::{Cli, Command, Secret, Settings};
use requestdesk::secrets::MasterKey;
use requestdesk::service::bootstrap::{self, AdminPassword};
use requestdesk::startup::{self, Application};
use requestdesk::{db, healthcheck, openapi, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    telemetry::init(&cli.settings.log_level, cli.settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.settings),
        Command::Migrate => migrate(&cli.settings),
        Command::CreateAdmin { username, email } => {
            create_admin(&cli.settings, &username, email.as_deref())
        }
        Command::Healthcheck => healthcheck::probe(&cli.settings),
        Command::RotateSecretsKey {
            new_key,
            new_key_file,
            batch_size,
        } => rotate_secrets_key(
            &cli.settings,
            new_key.as_ref(),
            new_key_file.as_deref(),
            batch_size,
        ),
        Command::Openapi => {
            print!("{}", openapi::to_pretty_json(&openapi::document()));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("requestdesk: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: &Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn migrate(settings: &Settings) -> Result<(), String> {
    if db::Backend::from_url(&settings.database_url())? == db::Backend::Sqlite {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| e.to_string())?;
    }
    let url = db::with_network_timeouts(&settings.database_url(), settings.db_timeout());
    let applied = db::run_migrations(&url).map_err(|e| e.to_string())?;
    println!(
        "applied {} migration(s){}",
        applied.len(),
        if applied.is_empty() {
            String::new()
        } else {
            format!(": {}", applied.join(", "))
        }
    );
    Ok(())
}

fn create_admin(settings: &Settings, username: &str, email: Option<&str>) -> Result<(), String> {
    // A pool of one: with more, r2d2 opens a replacement in the background while the command
    // holds its connection, and exiting while that thread is inside libpq's connect crashes
    // the process (as it did rotate-secrets-key's).
    let settings = Settings {
        pool_size: 1,
        ..settings.clone()
    };
    let ctx = startup::build_context(&settings).map_err(|e| e.to_string())?;
    let password = settings.admin_password.as_ref().map(|p| p.expose());
    match bootstrap::create_or_reset_admin(&ctx, username, email, password)
        .map_err(|e| e.to_string())?
    {
        AdminPassword::Generated(password) => {
            println!("administrator {username} is ready; password: {password}")
        }
        AdminPassword::Given => {
            println!("administrator {username} is ready with the configured password")
        }
    }
    Ok(())
}

/// Re-wraps every data key under the new master key (or the current one), then says what the
/// operator does next. Exits non-zero if any secret could not be opened.
fn rotate_secrets_key(
    settings: &Settings,
    new_key: Option<&Secret>,
    new_key_file: Option<&std::path::Path>,
    batch_size: i64,
) -> Result<(), String> {
    let (mut conn, ring) = startup::secrets_store(settings).map_err(|e| e.to_string())?;
    let target = match (new_key, new_key_file) {
        (Some(key), _) => MasterKey::parse(key.expose())
            .map_err(|e| format!("REQUESTDESK_NEW_SECRETS_KEY: {e}"))?,
        (None, Some(path)) => startup::read_master_key("REQUESTDESK_NEW_SECRETS_KEY_FILE", path)
            .map_err(|e| e.to_string())?,
        (None, None) => ring.current().clone(),
    };
    let switching = target.id() != ring.current().id();
    let rotation = requestdesk::service::secrets::rotate(&mut conn, &ring, &target, batch_size)
        .map_err(|e| e.to_string())?;
    println!(
        "re-wrapped {} data key(s) under master key {}; {} secret(s) still under another key",
        rotation.rewrapped,
        target.id(),
        rotation.remaining
    );
    for (account_id, error) in &rotation.failed {
        eprintln!("account {account_id}: {error}");
    }
    if rotation.remaining > 0 {
        return Err(format!(
            "{} secret(s) are not under master key {}: give every key they are under in \
             REQUESTDESK_SECRETS_OLD_KEYS and run rotate-secrets-key again",
            rotation.remaining,
            target.id()
        ));
    }
    if switching {
        println!(
            "next: set REQUESTDESK_SECRETS_KEY to the new key (id {}) on every instance, and keep \
             the old key (id {}) in REQUESTDESK_SECRETS_OLD_KEYS until every instance runs with \
             the new one; then drop the old key. Back up the new key first.",
            target.id(),
            ring.current().id()
        );
    } else {
        println!(
            "every secret is under the current REQUESTDESK_SECRETS_KEY (id {}): \
             REQUESTDESK_SECRETS_OLD_KEYS may now be emptied on every instance",
            target.id()
        );
    }
    Ok(())
}
