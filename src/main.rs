//! The `timebank` command: serve the API, migrate, bootstrap, verify.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use timebank::app::bootstrap::bootstrap;
use timebank::app::verification::verify_ledger;
use timebank::config::Config;
use timebank::error::AppError;
use timebank::store::{Store, ledgers, migrations};

#[derive(Parser)]
#[command(
    name = "timebank",
    version,
    about = "Volunteer time bank ledger service"
)]
struct Cli {
    /// Optional TOML configuration file; TIMEBANK_* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the HTTP API.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the first administrator, the root organisation and the default
    /// ledger. The password comes from TIMEBANK_BOOTSTRAP_PASSWORD or a prompt.
    Bootstrap {
        #[arg(long)]
        username: String,
    },
    /// Re-hash every ledger's chain and re-sum every account; exits 1 if anything
    /// is wrong.
    Verify {
        /// Only this ledger (code or id).
        #[arg(long)]
        ledger: Option<String>,
    },
    /// Print the OpenAPI document.
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    timebank::telemetry::init(config.log_format, &config.log_filter);
    let result = match cli.command {
        Command::Serve => actix_web::rt::System::new().block_on(timebank::http::serve(config)),
        Command::Migrate => migrate(&config),
        Command::Bootstrap { username } => run_bootstrap(&config, &username),
        Command::Verify { ledger } => return verify(&config, ledger.as_deref()),
        Command::Openapi => {
            print!("{}", timebank::http::openapi::pretty_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.detail);
            ExitCode::FAILURE
        }
    }
}

fn open_migrated(config: &Config) -> Result<Store, AppError> {
    let store = Store::open(&config.database_url, 2)?;
    store.run_blocking(migrations::run_pending)?;
    Ok(store)
}

fn migrate(config: &Config) -> Result<(), AppError> {
    let store = Store::open(&config.database_url, 2)?;
    let applied = store.run_blocking(migrations::run_pending)?;
    println!(
        "applied {} migration(s) to {}",
        applied.len(),
        config.database_url
    );
    Ok(())
}

fn read_password() -> Result<String, AppError> {
    if let Ok(p) = std::env::var("TIMEBANK_BOOTSTRAP_PASSWORD")
        && !p.is_empty()
    {
        return Ok(p);
    }
    // Read from the terminal without echo; never from the command line.
    let password = rpassword::prompt_password("password for the administrator: ")
        .map_err(|e| AppError::invalid_field("password", format!("cannot read it: {e}")))?;
    if password.is_empty() {
        return Err(AppError::invalid_field(
            "password",
            "set TIMEBANK_BOOTSTRAP_PASSWORD or type one",
        ));
    }
    Ok(password)
}

fn run_bootstrap(config: &Config, username: &str) -> Result<(), AppError> {
    let password = read_password()?;
    let store = open_migrated(config)?;
    let created = store.run_blocking(|conn| bootstrap(conn, username, &password))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&created).map_err(AppError::internal)?
    );
    Ok(())
}

fn verify(config: &Config, only: Option<&str>) -> ExitCode {
    let run = || -> Result<bool, AppError> {
        let store = open_migrated(config)?;
        store.run_blocking(|conn| {
            let rows = ledgers::page(conn, None, None, i64::MAX)?;
            let mut clean = true;
            let mut matched = false;
            for row in rows {
                if only.is_some_and(|o| o != row.code && o != row.id.to_string()) {
                    continue;
                }
                matched = true;
                let report = verify_ledger(conn, &row.id)?;
                clean &= report.ok;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(AppError::internal)?
                );
            }
            if !matched {
                return Err(AppError::not_found("ledger"));
            }
            Ok(clean)
        })
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", e.detail);
            ExitCode::from(2)
        }
    }
}
