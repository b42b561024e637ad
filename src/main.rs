//! The `requestdesk` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use requestdesk::config::{Cli, Command, Settings};
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
    let ctx = startup::build_context(settings).map_err(|e| e.to_string())?;
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
