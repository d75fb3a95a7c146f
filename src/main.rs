//! `passerelle`: the command line of the Passerelle connector.
//!
//! Thin on purpose: parse the command line, load the configuration, call
//! `passerelle-connector`, print results and choose the exit code.

/// mimalloc rather than glibc's malloc: the connector allocates small, short-lived buffers from many threads
/// (JSON, HTTP, SQL rows), where glibc's arenas cost a seventh of a negotiation's CPU (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use passerelle_connector::authority::{self, AuthorityInit, AuthorityService, AuthoritySettings};
use passerelle_connector::catalogue::client::{CatalogueClient, SearchOutcome, query_string};
use passerelle_connector::catalogue::{self, CatalogueInit, CatalogueService, CatalogueSettings};
use passerelle_connector::config::{Config, LogFormat};
use passerelle_connector::identity::{self, SelfDescription};
use passerelle_connector::import::{self, EXIT_FATAL, ImportReport};
use passerelle_connector::server::{self, Connector};
use passerelle_connector::setup::{self, InitOptions};
use passerelle_connector::store::Store;
use passerelle_identity::keys::Algorithm;

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
                      output:\n  protocol listening on http(s)://ADDR:PORT\n  management listening on http://ADDR:PORT\n\
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
    /// The participant's identity: DID, keys, credentials, onboarding, key rotation.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Run a data-space authority: onboarding, membership credentials, revocation.
    #[command(subcommand)]
    Authority(AuthorityCommand),
    /// Agreements (contracts) this connector made or holds, read from its store.
    #[command(subcommand)]
    Contracts(ContractsCommand),
    /// Contract negotiations (both roles) with their state and why a stalled one is stalled.
    Negotiations(ListArgs),
    /// Transfer processes (both roles) with their state and why a stalled one is stalled.
    Transfers(ListArgs),
    /// Run the data space's federated catalogue together with its authority (the operator's service).
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Search the data space's federated catalogue (`[catalogue] url`) for offers to negotiate.
    #[command(
        long_about = "Search the federated catalogue named by [catalogue] url. Every hit shows the provider's DSP \
                      address, the dataset id and the offer ids: start a negotiation from it with POST \
                      /api/v1/negotiations {\"counterPartyAddress\", \"datasetId\", \"offerId\"}.\n\nExit codes: 0 \
                      results printed (possibly none); 2 the catalogue refused the parameters; 1 it could not be asked.",
        after_help = "Examples:\n  passerelle search --config ./canal/passerelle.toml --title \"Le Passage\"\n  \
                      passerelle search --config ./canal/passerelle.toml --eidr 10.5240/7791-8534-2C23-9030-8610-5 --json"
    )]
    Search(SearchArgs),
    /// The audit trail: every negotiation and transfer state change, agreement and policy decision,
    /// hash-chained and sealed with signed checkpoints.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Subtitle orders (distributor and lab): list, show, place, deliver, send the next event. Asks the running
    /// connector's management API.
    #[command(subcommand)]
    Orders(OrdersCommand),
    /// The one-command media data space: an authority with its catalogue, a distributor, a subtitling lab and a
    /// broadcaster on loopback, and the story played end to end (publish, discover, negotiate, order Spanish
    /// subtitles, deliver with hashes, QC, accept, the broadcaster's feed). Leaves them running.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
enum OrdersCommand {
    /// Every order, either side, newest first.
    List(OrdersArgs),
    /// One order: state, SLA alerts, log with the delivery of each event.
    Show {
        /// The order's id on this connector (`passerelle orders list`).
        id: String,
        #[command(flatten)]
        args: OrdersArgs,
    },
    /// Place an order with the lab of a STARTED pull transfer (distributor).
    #[command(
        after_help = "Example:\n  passerelle orders place --config ./acme/passerelle.toml --transfer urn:uuid:… --order @order.json"
    )]
    Place {
        /// Our pid of the transfer under the lab's service agreement.
        #[arg(long, value_name = "PID")]
        transfer: String,
        /// The order as JSON, or @FILE.
        #[arg(long, value_name = "JSON|@FILE")]
        order: String,
        #[command(flatten)]
        args: OrdersArgs,
    },
    /// Deliver a folder on an order (lab): the connector builds its manifest and serves the files to the
    /// distributor, whose connector verifies them, signs a receipt and runs QC.
    #[command(
        after_help = "Example:\n  passerelle orders deliver LAB_ORDER_ID --folder ./acme/deliveries-out/PO-1-v1 --config ./acme/passerelle.toml"
    )]
    Deliver {
        /// The order's id on this connector.
        id: String,
        /// The folder to deliver, inside an outbox root (`[exchange] outbox_roots`).
        #[arg(long, value_name = "PATH")]
        folder: PathBuf,
        /// A manifest of the folder made earlier, as JSON or @FILE (default: built from the folder).
        #[arg(long, value_name = "JSON|@FILE")]
        manifest: Option<String>,
        #[command(flatten)]
        args: OrdersArgs,
    },
    /// Send this side's next event on an order (e.g. {"type": "Quoted"} from the lab).
    Send {
        /// The order's id on this connector.
        id: String,
        /// The event as JSON, or @FILE.
        #[arg(long, value_name = "JSON|@FILE")]
        event: String,
        #[command(flatten)]
        args: OrdersArgs,
    },
}

#[derive(Debug, Args)]
struct OrdersArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Management API URL (default: http:// + management.bind of the configuration).
    #[arg(long, value_name = "URL", env = "PASSERELLE_API_URL")]
    api: Option<String>,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and check every signed checkpoint against the published keys.
    #[command(
        long_about = "Recompute the hash chain over every entry of the audit trail and check each signed checkpoint                       against the keys this connector publishes. The first altered, missing, inserted or reordered                       entry is named.

Exit codes: 0 the trail is intact; 2 it is broken (the entry is named); 1 it                       could not be read.",
        after_help = "Example:
  passerelle audit verify --config ./acme/passerelle.toml"
    )]
    Verify(ListArgs),
    /// Write the trail for an auditor or a counter-party: entries as JSON Lines, checkpoints one JWS per line.
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// Folder to write audit-entries.jsonl and audit-checkpoints.jsonl into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Create a catalogue folder: the authority's files (authority.toml, keys) and catalogue.toml.
    Init {
        /// Folder of the catalogue (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Name of the data space's operator.
        #[arg(long)]
        name: String,
        /// URL under which participants reach the catalogue and authority (its did:web is derived from it).
        #[arg(long, value_name = "URL")]
        public_url: String,
        /// Role of the catalogue's own membership: connectors show its crawler the offers this role may see.
        #[arg(long, default_value = "broadcaster")]
        role: String,
        /// Legal name of its self-issued gx:LegalPerson credential (default: --name).
        #[arg(long)]
        legal_name: Option<String>,
        /// Registration number as KIND:VALUE, KIND one of vatID, local, EORI, EUID, LEI.
        #[arg(long, value_name = "KIND:VALUE")]
        registration_number: String,
        /// Country of registration (ISO 3166-1 alpha-2, e.g. FR).
        #[arg(long, value_name = "CC")]
        country: String,
        /// Signing key algorithm: es256 (default) or eddsa.
        #[arg(long, value_name = "ALG", default_value = "es256")]
        key_algorithm: String,
        /// Replace an existing configuration and its keys (members and the snapshot are kept).
        #[arg(long)]
        force: bool,
    },
    /// Serve the authority and the catalogue until SIGINT or SIGTERM.
    #[command(long_about = "Serve the authority and the federated catalogue. Once both listeners are bound it prints \
                      exactly two lines on standard output:\n  public listening on http://ADDR:PORT\n  management \
                      listening on http://ADDR:PORT\nPublic: the DID document, POST /onboarding, GET \
                      /status/{revocation,suspension}, GET /api/v1/search, GET|POST /sparql, POST \
                      /dsp/2025-1/catalog/request, GET /api/v1/participants, POST /api/v1/notify/{participant}. \
                      Management (X-Api-Key from secrets/admin-api-key): GET /members, POST \
                      /members/{id}/revoke|suspend|reinstate (a revoked or suspended member leaves the catalogue at \
                      once). PASSERELLE_AUTHORITY_BIND and PASSERELLE_AUTHORITY_MANAGEMENT_BIND override the listeners.")]
    Run {
        /// Catalogue configuration file.
        #[arg(long, value_name = "FILE", default_value = "catalogue.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Args)]
struct SearchArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Words of the title or description (each matches as a prefix).
    #[arg(long, value_name = "WORDS")]
    title: Option<String>,
    /// EIDR id (exact; DOI forms accepted).
    #[arg(long)]
    eidr: Option<String>,
    /// Language (BCP 47; `fr` also finds `fr-CA`).
    #[arg(long, value_name = "TAG")]
    language: Option<String>,
    /// Territory (ISO 3166-1 alpha-2) or group (EU, DACH, Nordics…).
    #[arg(long, value_name = "CODE")]
    territory: Option<String>,
    /// Provider's participant id (DID).
    #[arg(long, value_name = "DID")]
    provider: Option<String>,
    /// Most hits shown (1 to 200).
    #[arg(long)]
    limit: Option<u32>,
    /// Print the catalogue's JSON answer instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ContractsCommand {
    /// Every agreement: id, side, dataset, parties, negotiation state, signing time.
    List(ListArgs),
    /// One agreement (by id) or negotiation (by pid): its policy in English (and as ODRL with --json), the other
    /// party and its verified id, the negotiation's history and status, the transfers under the agreement.
    Show {
        /// Agreement id or negotiation pid.
        id: String,
        #[command(flatten)]
        list: ListArgs,
    },
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum IdentityCommand {
    /// Print the DID, the published keys (kid, algorithm) and the held credentials (type, issuer, expiry).
    /// Private keys are never printed.
    Show {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Publish a fresh signing key; the previous key stays in the DID document until retired.
    #[command(long_about = "Generate a new signing key (new kid) and make it the signing key. The previous key stays \
                      published in the DID document so that what it signed still verifies; self-issued credentials \
                      are re-signed with the new key. Restart the connector to use the new key. Later, remove the \
                      old key with `passerelle identity rotate-key --retire=OLD_KID`.")]
    RotateKey {
        #[command(flatten)]
        config: ConfigArg,
        /// Algorithm of the new key (default: that of the current key): es256 or eddsa.
        #[arg(long, value_name = "ALG")]
        key_algorithm: Option<String>,
        /// Instead of rotating, remove this (older) key from the DID document.
        // Key ids are base64url thumbprints and may start with `-`.
        #[arg(long, value_name = "KID", allow_hyphen_values = true)]
        retire: Option<String>,
    },
    /// Ask the data-space authority for a membership credential (the connector must be running).
    Onboard {
        #[command(flatten)]
        config: ConfigArg,
        /// Public URL of the authority, e.g. https://authority.example.
        #[arg(long, value_name = "URL")]
        authority: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuthorityCommand {
    /// Create an authority folder: authority.toml, signing key and admin API key (mode 0600).
    Init {
        /// Folder of the authority (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Name of the data space's authority.
        #[arg(long)]
        name: String,
        /// URL under which participants reach the authority (its did:web is derived from it).
        #[arg(long, value_name = "URL")]
        public_url: String,
        /// Signing key algorithm: es256 (default) or eddsa.
        #[arg(long, value_name = "ALG", default_value = "es256")]
        key_algorithm: String,
        /// Replace an existing configuration and its keys (members are kept).
        #[arg(long)]
        force: bool,
    },
    /// Serve the authority until SIGINT or SIGTERM.
    #[command(
        long_about = "Serve the authority. Once both listeners are bound it prints exactly two lines on standard \
                      output:\n  public listening on http://ADDR:PORT\n  management listening on http://ADDR:PORT\n\
                      Public: the DID document, POST /onboarding, GET /status/{revocation,suspension}. Management \
                      (X-Api-Key from secrets/admin-api-key): GET /members, POST /members/{id}/revoke|suspend|reinstate."
    )]
    Run {
        /// Authority configuration file.
        #[arg(long, value_name = "FILE", default_value = "authority.toml")]
        config: PathBuf,
    },
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
    /// Signing key algorithm: es256 (default) or eddsa.
    #[arg(long, value_name = "ALG", default_value = "es256")]
    key_algorithm: String,
    /// Legal name for the self-issued gx:LegalPerson credential (default: --name).
    #[arg(long)]
    legal_name: Option<String>,
    /// Registration number as KIND:VALUE, KIND one of vatID, local, EORI, EUID, LEI (e.g. vatID:FR40303265045).
    /// With --country, init writes the self-issued LegalPerson, registration-number and gx:Issuer credentials.
    #[arg(long, value_name = "KIND:VALUE", requires = "country")]
    registration_number: Option<String>,
    /// Country of registration (ISO 3166-1 alpha-2, e.g. FR).
    #[arg(long, value_name = "CC", requires = "registration_number")]
    country: Option<String>,
    /// Street address of the legal address.
    #[arg(long)]
    address: Option<String>,
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
            Command::Identity(command) => run_identity(command).await,
            Command::Authority(command) => run_authority(command).await,
            Command::Contracts(ContractsCommand::List(args)) => run_report(args, None, Report::Contracts).await,
            Command::Contracts(ContractsCommand::Show { id, list }) => {
                run_report(list, Some(id), Report::Contracts).await
            }
            Command::Negotiations(args) => run_report(args, None, Report::Negotiations).await,
            Command::Transfers(args) => run_report(args, None, Report::Transfers).await,
            Command::Catalog(command) => run_catalog(command).await,
            Command::Search(args) => run_search(args).await,
            Command::Audit(command) => run_audit(command).await,
            Command::Orders(command) => run_orders(command).await,
            Command::Demo(args) => run_demo(args).await,
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

fn key_algorithm(name: &str) -> anyhow::Result<Algorithm> {
    match name.trim().to_ascii_lowercase().as_str() {
        "es256" => Ok(Algorithm::Es256),
        "eddsa" | "ed25519" => Ok(Algorithm::EdDsa),
        other => Err(anyhow::anyhow!("`{other}` is not a key algorithm; use es256 or eddsa")),
    }
}

async fn run_init(args: InitArgs) -> anyhow::Result<i32> {
    let self_description = match (&args.registration_number, &args.country) {
        (Some(number), Some(country)) => Some(SelfDescription::parse(
            args.legal_name.as_deref().unwrap_or(&args.name),
            number,
            country,
            args.address.as_deref(),
        )?),
        _ => None,
    };
    let options = InitOptions {
        key_algorithm: key_algorithm(&args.key_algorithm)?,
        self_description,
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
        "signing key: {} ({}, kid {})",
        out.signing_key_file.display(),
        options.key_algorithm.name(),
        out.signing_key_id.as_deref().unwrap_or("-")
    );
    println!("DID: {}", out.did);
    if out.credentials.is_empty() {
        println!("credentials: none (pass --registration-number and --country to self-describe)");
    } else {
        println!("credentials: {} (self-issued)", out.credentials.join(", "));
    }
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
        writeln!(out, "protocol listening on {}://{protocol}", bound.protocol_scheme())?;
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

    if report.files.iter().any(|f| f.error.is_none()) {
        notify_catalogue(&config).await;
    }

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

async fn run_identity(command: IdentityCommand) -> anyhow::Result<i32> {
    match command {
        IdentityCommand::Show { config, json } => {
            let config = Config::load(&config.config)?;
            let report = identity::show(&config)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
        }
        IdentityCommand::RotateKey { config, key_algorithm: algorithm, retire } => {
            let config = Config::load(&config.config)?;
            init_logging(&config);
            match retire {
                Some(kid) => {
                    let retired = identity::retire_key(&config, &kid)?;
                    println!("retired key {} ({}); it is no longer in the DID document", retired.kid, retired.alg);
                }
                None => {
                    let algorithm = algorithm.as_deref().map(key_algorithm).transpose()?;
                    let rotation = identity::rotate_key(&config, algorithm)?;
                    println!("new signing key: {} ({})", rotation.new_kid, rotation.algorithm);
                    println!("previous key {} stays published until retired", rotation.previous_kid);
                    if !rotation.resigned.is_empty() {
                        println!("re-signed: {}", rotation.resigned.join(", "));
                    }
                    println!("restart the connector to sign with the new key; later retire the old one with:");
                    println!(
                        "  passerelle identity rotate-key --config {} --retire={}",
                        config.file.display(),
                        rotation.previous_kid
                    );
                }
            }
        }
        IdentityCommand::Onboard { config, authority } => {
            let config = Config::load(&config.config)?;
            init_logging(&config);
            let membership = identity::onboarding::onboard(&config, &authority).await?;
            println!("member of {} as {}", membership.authority, membership.role);
            println!("membership credential: {} ({})", membership.credential_id, membership.file);
        }
    }
    Ok(0)
}

async fn run_authority(command: AuthorityCommand) -> anyhow::Result<i32> {
    match command {
        AuthorityCommand::Init { dir, name, public_url, key_algorithm: algorithm, force } => {
            let out = authority::init(&AuthorityInit {
                dir,
                name,
                public_url,
                algorithm: key_algorithm(&algorithm)?,
                force,
            })?;
            println!("configuration: {}", out.config_file.display());
            println!("DID: {}", out.did);
            println!("signing key kid: {}", out.signing_kid);
            println!("admin API key: {} (send it as X-Api-Key)", out.api_key_file.display());
            println!("participants trust it with: [trust] membership = \"{}\"", out.did);
            println!("next: passerelle authority run --config {}", out.config_file.display());
        }
        AuthorityCommand::Run { config } => {
            let settings = AuthoritySettings::load(&config)?;
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .try_init();
            let bound = AuthorityService::prepare(settings)?.bind().await?;
            let (public, management) = (bound.public_addr()?, bound.management_addr()?);
            {
                let mut out = std::io::stdout().lock();
                writeln!(out, "public listening on http://{public}")?;
                writeln!(out, "management listening on http://{management}")?;
                out.flush()?;
            }
            tracing::info!(%public, %management, "authority started");
            bound.serve(server::shutdown_signal()).await?;
        }
    }
    Ok(0)
}

/// Tells `[catalogue] url` that this connector's offers changed; best effort, never fails the import.
async fn notify_catalogue(config: &Config) {
    let Some(client) = CatalogueClient::from_config(config) else { return };
    match client.notify().await {
        Ok(status) => tracing::info!(
            catalogue = %client.base(),
            datasets = status.get("datasets").and_then(serde_json::Value::as_u64),
            "catalogue notified"
        ),
        Err(error) => tracing::warn!(%error, "the catalogue could not be notified (the import is kept)"),
    }
}

async fn run_catalog(command: CatalogCommand) -> anyhow::Result<i32> {
    match command {
        CatalogCommand::Init {
            dir,
            name,
            public_url,
            role,
            legal_name,
            registration_number,
            country,
            key_algorithm: algorithm,
            force,
        } => {
            let out = catalogue::init(&CatalogueInit {
                dir,
                name,
                public_url,
                algorithm: key_algorithm(&algorithm)?,
                force,
                role,
                legal_name,
                registration_number,
                country,
            })?;
            println!("configuration: {}", out.config_file.display());
            println!("authority: {}", out.authority_file.display());
            println!("DID: {}", out.did);
            println!("admin API key: {} (send it as X-Api-Key)", out.api_key_file.display());
            println!("participants trust it with: [trust] membership = \"{}\"", out.did);
            println!("next: passerelle catalog run --config {}", out.config_file.display());
        }
        CatalogCommand::Run { config } => {
            let settings = CatalogueSettings::load(&config)?;
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .try_init();
            let bound = CatalogueService::prepare(settings).await?.bind().await?;
            let (public, management) = (bound.public_addr()?, bound.management_addr()?);
            {
                let mut out = std::io::stdout().lock();
                writeln!(out, "public listening on http://{public}")?;
                writeln!(out, "management listening on http://{management}")?;
                out.flush()?;
            }
            tracing::info!(%public, %management, "catalogue started");
            bound.serve(server::shutdown_signal()).await?;
        }
    }
    Ok(0)
}

async fn run_search(args: SearchArgs) -> anyhow::Result<i32> {
    let config = Config::load(&args.config.config)?;
    init_logging(&config);
    let client = CatalogueClient::from_config(&config).ok_or_else(|| {
        anyhow::anyhow!("no federated catalogue is configured: set [catalogue] url (or PASSERELLE_CATALOGUE_URL)")
    })?;
    let limit = args.limit.map(|n| n.to_string());
    let pairs: Vec<(&str, &str)> = [
        ("q", args.title.as_deref()),
        ("eidr", args.eidr.as_deref()),
        ("language", args.language.as_deref()),
        ("territory", args.territory.as_deref()),
        ("provider", args.provider.as_deref()),
        ("limit", limit.as_deref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect();
    let results = match client.search(&query_string(&pairs)).await? {
        SearchOutcome::Results(results) => results,
        SearchOutcome::BadParameters { message, .. } => {
            eprintln!("error: {message}");
            return Ok(2);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(0);
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    let hits = results["hits"].as_array().cloned().unwrap_or_default();
    println!("{} match(es), showing {}", results["total"].as_u64().unwrap_or(0), hits.len());
    for hit in &hits {
        let offers: Vec<String> =
            hit["offerIds"].as_array().map(|ids| ids.iter().map(text).collect()).unwrap_or_default();
        let stale = if hit["stale"].as_bool() == Some(true) { " (stale)" } else { "" };
        println!("{}{stale}", text(&hit["title"]));
        println!("  provider: {} at {}", text(&hit["provider"]), text(&hit["providerAddress"]));
        println!("  dataset:  {}", text(&hit["datasetId"]));
        println!("  offers:   {}", offers.join(", "));
    }
    Ok(0)
}

/// Reads the store directly (the connector may be running or not).
async fn run_audit(command: AuditCommand) -> anyhow::Result<i32> {
    match command {
        AuditCommand::Verify(args) => {
            let config = Config::load(&args.config.config)?;
            init_logging(&config);
            let verdict = passerelle_connector::audit::verify(&config).await?;
            print!("{}", verdict.render(args.json));
            if args.json {
                println!();
            }
            Ok(match verdict {
                passerelle_connector::audit::Verdict::Intact(_) => 0,
                passerelle_connector::audit::Verdict::Broken(_) => 2,
            })
        }
        AuditCommand::Export { config, out } => {
            let config = Config::load(&config.config)?;
            init_logging(&config);
            let (entries, checkpoints) = passerelle_connector::audit::export(&config, &out).await?;
            println!("{entries} entries and {checkpoints} checkpoints written to {}", out.display());
            Ok(0)
        }
    }
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Folder for the services' files and logs; empty or new (default: a new folder in the temp dir).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The reference samples (the folder holding `mddf/`); default: `shared/samples` found from the current
    /// folder upwards (the repository's `../shared`).
    #[arg(long, value_name = "DIR")]
    samples: Option<PathBuf>,
    /// Stop every service once the story is played (for scripts and tests).
    #[arg(long)]
    exit_when_done: bool,
}

/// `shared/samples` beside the current folder or one of its parents.
fn find_samples() -> Option<PathBuf> {
    let mut dir = std::env::current_dir().ok()?;
    loop {
        let candidate = dir.join("shared/samples");
        if candidate.join("mddf").is_dir() {
            return Some(candidate);
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// Exit codes: 0 the story was played (and the services stopped on Ctrl-C or --exit-when-done); 1 a step failed.
async fn run_demo(args: DemoArgs) -> anyhow::Result<i32> {
    use passerelle_connector::demo::{self, DemoOptions, Step};
    let samples = match args.samples.or_else(find_samples) {
        Some(samples) => samples,
        None => anyhow::bail!("no `shared/samples` folder found from here upwards: give it with --samples DIR"),
    };
    let dir = args.dir.unwrap_or_else(|| std::env::temp_dir().join(format!("passerelle-demo-{}", std::process::id())));
    let options = DemoOptions { exe: std::env::current_exe()?, dir: dir.clone(), samples };
    println!("Passerelle demo: the media data space in {}", dir.display());
    let mut report = |step: &Step| println!("{step}");
    let space = match demo::play(&options, &mut report).await {
        Ok(space) => space,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("the services' logs are in {}", dir.display());
            return Ok(1);
        }
    };
    print!("{}", space.summary());
    if args.exit_when_done {
        space.stop();
        return Ok(0);
    }
    println!("Press Ctrl-C to stop every service.");
    tokio::signal::ctrl_c().await?;
    space.stop();
    Ok(0)
}

/// Exit codes: 0 done; 2 the connector refused (the reason is printed); 1 it could not be asked.
async fn run_orders(command: OrdersCommand) -> anyhow::Result<i32> {
    use passerelle_connector::exchange::client::{self, ManagementClient};
    let json_of = |argument: &str| client::read_json_argument(argument).map_err(|e| anyhow::anyhow!(e));
    let (args, method, path, body) = match command {
        OrdersCommand::List(args) => (args, "GET", "/api/v1/orders".to_string(), None),
        OrdersCommand::Show { id, args } => (args, "GET", client::order_path(&id), None),
        OrdersCommand::Place { transfer, order, args } => {
            let body = serde_json::json!({"transferPid": transfer, "order": json_of(&order)?});
            (args, "POST", "/api/v1/orders".to_string(), Some(body))
        }
        OrdersCommand::Deliver { id, folder, manifest, args } => {
            // The connector takes absolute paths only; the operator may give one relative to where they stand.
            let folder = std::path::absolute(&folder)?;
            let mut body = serde_json::json!({"folder": folder});
            if let Some(manifest) = manifest {
                body["manifest"] = json_of(&manifest)?;
            }
            (args, "POST", format!("{}/deliveries", client::order_path(&id)), Some(body))
        }
        OrdersCommand::Send { id, event, args } => {
            let body = serde_json::json!({"event": json_of(&event)?});
            (args, "POST", format!("{}/events", client::order_path(&id)), Some(body))
        }
    };
    let config = Config::load(&args.config.config)?;
    init_logging(&config);
    let api = ManagementClient::new(&config, args.api.as_deref())?;
    let (status, answer) = api.call(method, &path, body.as_ref()).await?;
    if !(200..300).contains(&status) {
        let message = answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string());
        eprintln!("error: {message}");
        return Ok(if status < 500 { 2 } else { 1 });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else if answer["items"].is_array() {
        print!("{}", client::render_list(&answer));
    } else {
        print!("{}", client::render_order(&answer));
    }
    Ok(0)
}

enum Report {
    Contracts,
    Negotiations,
    Transfers,
}

/// Reads the store directly (the connector may be running or not) and prints a report.
async fn run_report(args: ListArgs, id: Option<String>, report: Report) -> anyhow::Result<i32> {
    let config = Config::load(&args.config.config)?;
    init_logging(&config);
    let store = Store::open(&config.store).await?;
    let processes = passerelle_connector::contracts::Processes::new(
        store.clone(),
        &config.participant.id,
        &config.participant.protocol_base_url(),
    );
    let text = match (report, id) {
        (Report::Contracts, Some(id)) => processes.contract_report(&id, args.json).await,
        (Report::Contracts, None) => processes.contracts_report(args.json).await,
        (Report::Negotiations, _) => processes.negotiations_report(args.json).await,
        (Report::Transfers, _) => processes.transfers_report(args.json).await,
    };
    store.close().await;
    print!("{}", text?);
    if args.json {
        println!();
    }
    Ok(0)
}
