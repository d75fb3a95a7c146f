//! `passerelle`: the command line of the Passerelle connector.
//!
//! Thin on purpose: parse the command line, load the configuration, call
//! `passerelle-connector`, print results and choose the exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use passerelle_connector::config::{Config, LogFormat};
use passerelle_connector::import::{self, EXIT_FATAL, ImportReport};
use passerelle_connector::server::{self, Connector};
use passerelle_connector::setup::{self, InitOptions};
use passerelle_connector::store::Store;

const ABOUT: &str = "Data-space connector for film and TV metadata";

const LONG_ABOUT: &str = "Passerelle connects a distributor's, lab's, broadcaster's or producer's media asset \
management system to a media data space. It imports MAM exports (MovieLabs MEC, Avails XML and xlsx, Media \
Manifest, EBUCore, CSV, JSON), keeps them in its store, and publishes them as Dataspace Protocol 2025-1 \
datasets with ODRL offers: one dataset per work, one per collection (offer definition), with rights windows \
turned into policy constraints.\n\nA connector lives in one folder created by `passerelle init`. `passerelle \
run` serves two listeners: the public protocol listener (DSP) and the private management listener (REST API \
with OpenAPI at /api/v1/openapi.json, /health).";

const AFTER_HELP: &str = "Examples:
  passerelle init --dir ./acme --name \"Acme Films\" --role distributor --public-url https://dsp.acme.example
  passerelle import --config ./acme/passerelle.toml exports/*.xml exports/avails.xlsx
  passerelle run --config ./acme/passerelle.toml
  PASSERELLE_PROTOCOL_BIND=127.0.0.1:9000 passerelle run --config ./acme/passerelle.toml

Every configuration key can be overridden by an environment variable PASSERELLE_<SECTION>_<KEY>;
`passerelle run --help` lists them all.";

#[derive(Debug, Parser)]
#[command(name = "passerelle", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a connector folder: configuration, keys, database.
    #[command(
        long_about = "Create a connector folder: DIR/passerelle.toml (commented), a random management API key and an \
                      ES256 signing key (JWK) under DIR/secrets/ (mode 0600), and the SQLite database under DIR/data/. \
                      An existing configuration is never replaced unless --force is given (then the configuration and \
                      both keys are replaced; the database is kept).\n\nThe database is seeded with a default offer so \
                      that imported works are published at once: the offer definition `catalogue` (every work) under \
                      the policy `urn:passerelle:policy:data-space-members` (use, for participants holding one of the \
                      roles distributor, lab, broadcaster, producer). Change or delete them through the management \
                      API, or pass --no-default-offer.",
        after_help = "Example:\n  passerelle init --dir ./acme --name \"Acme Films\" --role distributor --public-url https://dsp.acme.example"
    )]
    Init(InitArgs),
    /// Start the connector (protocol and management listeners) until SIGINT or SIGTERM.
    #[command(
        long_about = "Start the connector. Once both listeners are bound it prints exactly two lines on standard \
                      output:\n  protocol listening on http://ADDR:PORT\n  management listening on http://ADDR:PORT\n\
                      Logs go to standard error. SIGINT or SIGTERM stop it gracefully (in-flight requests finish).",
        after_long_help = config_help()
    )]
    Run(ConfigArg),
    /// Import MAM export files into the store (format detected from content).
    #[command(
        long_about = "Import MAM export files: MovieLabs MEC, Avails XML and xlsx, Media Manifest, EBUCore \
                      (including MediaInfo's output), Passerelle CSV and JSON, AOD files. Each file is imported in one \
                      transaction: its good records are stored (re-importing updates, never duplicates), its bad \
                      records are reported with file, location and reason. A file that cannot be read or recognised \
                      changes nothing.\n\nExit codes: 0 every record imported; 2 some records or files rejected \
                      (the rest is stored); 1 fatal error (configuration, database).",
        after_help = "Examples:\n  passerelle import --config ./acme/passerelle.toml exports/*.xml\n  \
                      passerelle import --config ./acme/passerelle.toml --json avails.xlsx > report.json"
    )]
    Import(ImportArgs),
}

#[derive(Debug, Args)]
struct InitArgs {
    /// Folder of the connector (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Display name of the participant (company).
    #[arg(long)]
    name: String,
    /// Role in the data space: distributor, lab, broadcaster or producer.
    #[arg(long)]
    role: String,
    /// URL under which other participants reach the protocol listener.
    #[arg(long, value_name = "URL")]
    public_url: String,
    /// Replace an existing configuration and its keys (the database is kept).
    #[arg(long)]
    force: bool,
    /// Do not seed the default offer (every work, for members of the data space): nothing is
    /// published until you define offers through the management API.
    #[arg(long)]
    no_default_offer: bool,
}

#[derive(Debug, Args)]
struct ConfigArg {
    /// Configuration file.
    #[arg(long, value_name = "FILE", env = "PASSERELLE_CONFIG", default_value = "passerelle.toml")]
    config: PathBuf,
}

#[derive(Debug, Args)]
struct ImportArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Print a machine-readable JSON report on standard output instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Files to import.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

fn config_help() -> String {
    format!("{}\nRelative paths are relative to the configuration file's folder.", Config::reference())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FATAL as u8);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Init(args) => run_init(args).await,
            Command::Run(args) => run_connector(args).await,
            Command::Import(args) => run_import(args).await,
        }
    });
    match code {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FATAL as u8)
        }
    }
}

fn init_logging(config: &Config) {
    // RUST_LOG, the convention of Rust tools, wins over log.filter when set.
    let wanted = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty()).unwrap_or(config.log_filter.clone());
    let filter = tracing_subscriber::EnvFilter::try_new(&wanted).unwrap_or_else(|e| {
        eprintln!("warning: log filter `{wanted}` is not valid ({e}); using `info`");
        tracing_subscriber::EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
}

async fn run_init(args: InitArgs) -> anyhow::Result<i32> {
    let options = InitOptions {
        dir: args.dir,
        name: args.name,
        role: args.role,
        public_url: args.public_url,
        force: args.force,
        default_offer: !args.no_default_offer,
    };
    let out = setup::init(&options).await?;
    println!("configuration: {}", out.config_file.display());
    println!("management API key: {} (send it as X-Api-Key)", out.api_key_file.display());
    println!(
        "signing key: {} (ES256, kid {})",
        out.signing_key_file.display(),
        out.signing_key_id.as_deref().unwrap_or("-")
    );
    match &out.store {
        passerelle_connector::config::StoreLocation::SqliteFile(p) => println!("database: {}", p.display()),
        passerelle_connector::config::StoreLocation::SqliteMemory => println!("database: in memory"),
    }
    if out.seeded_default_offer {
        println!("default offer: every work, for data-space members (offer definition `catalogue`)");
    }
    println!("next: passerelle run --config {}", out.config_file.display());
    Ok(0)
}

async fn run_connector(args: ConfigArg) -> anyhow::Result<i32> {
    let config = Config::load(&args.config)?;
    init_logging(&config);
    let connector = Connector::prepare(config).await?;
    let bound = connector.bind().await?;
    let (protocol, management) = (bound.protocol_addr()?, bound.management_addr()?);
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "protocol listening on http://{protocol}")?;
        writeln!(out, "management listening on http://{management}")?;
        out.flush()?;
    }
    tracing::info!(%protocol, %management, "connector started");
    bound.serve(server::shutdown_signal()).await?;
    Ok(0)
}

async fn run_import(args: ImportArgs) -> anyhow::Result<i32> {
    let config = Config::load(&args.config.config)?;
    init_logging(&config);
    let store = Store::open(&config.store).await?;

    let show_progress = !args.json && std::io::stdout().is_terminal();
    let bar = show_progress.then(|| {
        let bar = indicatif::ProgressBar::new(args.files.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {wide_msg}") {
            bar.set_style(style);
        }
        bar
    });

    let mut report = ImportReport::default();
    for path in &args.files {
        if let Some(bar) = &bar {
            bar.set_message(path.display().to_string());
        }
        let file = import::import_file(&store, path).await;
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                store.close().await;
                return Err(anyhow::anyhow!("import of {} stopped: {e}", path.display()));
            }
        };
        if !args.json {
            match &bar {
                Some(bar) => bar.println(file.summary()),
                None => println!("{}", file.summary()),
            }
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        report.files.push(file);
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    store.close().await;

    if args.json {
        let json = serde_json::json!({
            "files": report.files,
            "totals": report.totals(),
            "exit_code": report.exit_code(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{}", report.summary());
    }
    Ok(report.exit_code())
}
