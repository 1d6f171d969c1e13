//! msnd-load: measures an MSNP2–MSNP12 server under a community's load, over real TCP on
//! this machine's loopback. Each scenario prints one JSON line on stdout (machine-readable,
//! collected into files for `plot`) and a summary for a person on stderr. See
//! BENCHMARKS.md at the repository's root for the commands behind every published figure.
//!
//! - `accounts`: writes an accounts file for `msnd user import`.
//! - `sessions`, `logins`, `presence`, `chat`: the scenarios against a running server.
//! - `relay-baseline`: the chat scenario against a minimal relay inside the tool.
//! - `plot`: SVG charts from result lines.

mod accounts;
mod chat;
mod client;
mod clock;
mod common;
mod logins;
mod passport;
mod plot;
mod presence;
mod procfs;
mod relay;
mod rx;
mod session;
mod sessions;
mod stats;
mod workers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Load generator and benchmarks for MSNP2–MSNP12 servers (msnd and others), on loopback.
#[derive(Debug, Parser)]
#[command(name = "msnd-load", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write an accounts file (`email<TAB>password<TAB>name`) for `msnd user import`.
    Accounts {
        /// How many accounts.
        #[arg(long)]
        count: usize,
        #[arg(long, default_value = "load")]
        prefix: String,
        #[arg(long, default_value = "load.example")]
        domain: String,
        #[arg(long, default_value = "load-password")]
        password: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Ramp to as many concurrent sessions as possible; server memory per session.
    Sessions(sessions::SessionsArgs),
    /// Complete logins per second and their latency.
    Logins(logins::LoginsArgs),
    /// Status changes and the time until every watcher sees them.
    Presence(presence::PresenceArgs),
    /// Two-party switchboard chats: messages per second and round trips.
    Chat(chat::ChatArgs),
    /// The chat scenario against a minimal relay inside the tool: what the machine can do.
    RelayBaseline(chat::RelayArgs),
    /// Draw one SVG chart per scenario from result lines.
    Plot {
        /// Files of JSON result lines (the scenarios' standard output).
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Directory for sessions.svg, logins.svg, presence.svg, chat.svg.
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// (internal) A worker process of a scenario.
    #[command(hide = true)]
    Worker { scenario: String },
    /// (internal) The relay of relay-baseline.
    #[command(hide = true)]
    RelayServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // The relay stands in for a server: as many threads as msnd's runtime.
        Command::RelayServer { listen } => runtime(true).and_then(|rt| rt.block_on(relay::serve(listen))),
        // Workers are single-threaded: the load spreads over processes instead.
        Command::Worker { scenario } => runtime(false).and_then(|rt| rt.block_on(worker(&scenario))),
        command => runtime(true).and_then(|rt| rt.block_on(coordinate(command))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msnd-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime(multi_thread: bool) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    Ok(builder.enable_all().build()?)
}

async fn coordinate(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Accounts { count, prefix, domain, password, output } => {
            let text = accounts::generate(count, &prefix, &domain, &password);
            match output {
                Some(path) => std::fs::write(&path, text)?,
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Sessions(args) => sessions::run(args).await,
        Command::Logins(args) => logins::run(args).await,
        Command::Presence(args) => presence::run(args).await,
        Command::Chat(args) => chat::run(args).await,
        Command::RelayBaseline(args) => chat::run_relay(args).await,
        Command::Plot { results, out_dir } => {
            for path in plot::plot_files(&results, &out_dir)? {
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Worker { .. } | Command::RelayServer { .. } => unreachable!("handled in main"),
    }
}

async fn worker(scenario: &str) -> anyhow::Result<()> {
    let (job, link) = workers::Link::open().await?;
    match scenario {
        "sessions" => sessions::work(job, link).await,
        "logins" => logins::work(job, link).await,
        "presence" => presence::work(job, link).await,
        "chat" => chat::work(job, link).await,
        other => anyhow::bail!("no scenario {other:?}"),
    }
}
