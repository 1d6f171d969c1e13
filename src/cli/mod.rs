//! The `msnd` command line: the server itself, the account administration that works on
//! the database (and, while the server runs, through its admin interface, so that changes
//! reach live sessions), and `msnd admin`, which only talks to the running server.

mod admin;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::Config;
use crate::credentials::Credentials;
use crate::protocol::lists::{is_valid_friendly_name, MAX_FRIENDLY_NAME_CHARS};
use crate::protocol::Email;
use crate::store::{Store, StoreError};

/// msnd: a self-hosted MSN Messenger server (protocol versions MSNP2 to MSNP9).
#[derive(Debug, Parser)]
#[command(name = "msnd", version)]
pub struct Cli {
    /// Configuration file (TOML); every key is optional. Without one, built-in defaults.
    #[arg(long, env = "MSND_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Where msnd keeps the database, the generated certificate and key and the admin
    /// token, in place of the configuration's `data_dir`.
    #[arg(long, env = "MSND_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Write a consistent copy of the database to FILE, safe while the server runs. The
    /// Passport certificate and key are files of their own: keep copies of them too.
    Backup {
        /// Where the copy goes; must not exist yet.
        file: PathBuf,
    },
    /// Ask the running server (through its admin interface, on loopback).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Make an invitation code for the sign-up page (web.registration = "invite").
    Invite,
    /// Print the Passport HTTPS certificate (PEM), creating the self-signed one if needed.
    Cert {
        /// Write it to FILE in DER form instead: the .cer file Windows' import wizard takes.
        #[arg(long, value_name = "FILE")]
        der: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Who is online: handle, version, client, address, online since, status, chats.
    Sessions,
    /// Accounts, sessions and chats, and whether a maintenance shutdown is under way.
    Stats,
    /// End an account's live sessions (it may log in again; see `user disable`).
    Kick { email: String },
    /// Send a one-line notice to everyone online.
    Broadcast { text: String },
    /// Warn everyone online that the server goes down in MINUTES, refuse logins from now
    /// on, then stop the server (clients get `OUT SSD`).
    Maintenance {
        minutes: u32,
        /// Stop after this many seconds instead of MINUTES.
        #[arg(long)]
        secs: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Add {
        /// The account's e-mail address (its handle; case-insensitive).
        email: String,
        /// Friendly name shown to contacts (default: the e-mail address).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's password.
    Passwd {
        email: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete an account and its contact lists.
    Del { email: String },
    /// Disable an account: it cannot log in by any method until enabled again. Its lists
    /// stay as they are.
    Disable { email: String },
    /// Enable a disabled account again.
    Enable { email: String },
    /// List accounts: handle and friendly name, tab-separated (and `disabled`, if so).
    List,
    /// Create many accounts at once from FILE (`-`: standard input), one a line:
    /// `email<TAB or space>password[<TAB>friendly name]`. The whole file is checked before
    /// anything is written; handles that already have an account are skipped.
    Import {
        file: PathBuf,
        /// Store no Passport hash (Argon2id, ~20 ms per password): the accounts log in with
        /// MSNP2-7 (MD5) only, until `msnd user passwd` gives them a Passport login.
        #[arg(long)]
        md5_only: bool,
        /// Make each account a mutual contact (FL and AL) of its K neighbours in the file,
        /// K/2 before and K/2 after it, wrapping around. K must be even.
        #[arg(long, value_name = "K")]
        contacts: Option<usize>,
    },
}

/// Runs one command line to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    let source =
        cli.config.as_deref().map_or_else(|| "built-in defaults".into(), |p| p.display().to_string());
    let data_dir = if config.data_dir.as_os_str().is_empty() { Path::new(".") } else { &config.data_dir };
    info!(config = %source, data_dir = %data_dir.display(), database = %config.database_url, "configuration");
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            open(&config).await?.close().await;
            println!("database {} is up to date", config.database_url);
            Ok(())
        }
        Command::User(UserCommand::Import { file, md5_only, contacts }) => {
            let max_list_entries = config.limits.max_list_entries;
            let options = crate::import::Options { md5_only, contacts, max_list_entries };
            import(&open(&config).await?, &file, options).await
        }
        // Adding accounts may start a new database; the other commands only work on one.
        Command::User(command @ UserCommand::Add { .. }) => user(command, &open(&config).await?).await,
        Command::User(command @ UserCommand::List) => user(command, &open_existing(&config).await?).await,
        Command::User(command) => live_or_stored(&config, command).await,
        Command::Admin(command) => ask_server(&config, command).await,
        Command::Invite => invite(&config).await,
        Command::Backup { file } => backup(&config, &file).await,
        Command::Cert { der } => cert(&config, der.as_deref()),
    }
}

/// An error and its causes on one line, each said once. Many errors already include their
/// cause's text in their own message (sqlx's do, and `cannot read {path}: {io error}`), so
/// the plain chain would say the same thing two or three times.
pub fn report(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}

/// `user passwd/del/disable/enable`: through the running server, so that the account's live
/// sessions end; on the database alone when no server runs.
async fn live_or_stored(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let (email, action) = match &command {
        UserCommand::Passwd { email, .. } => (email, "password"),
        UserCommand::Del { email } => (email, "delete"),
        UserCommand::Disable { email } => (email, "disable"),
        UserCommand::Enable { email } => (email, "enable"),
        _ => unreachable!("`run` sends only these here"),
    };
    let email = parse_email(email)?.to_string();
    // Read once: with no server to take it, the database does.
    let password = match &command {
        UserCommand::Passwd { password_stdin, .. } => Some(read_password(*password_stdin)?),
        _ => None,
    };
    let body = serde_json::json!({ "password": password });
    let path = format!("/accounts/{}/{action}", admin::segment(&email));
    let sent = admin::Admin::of(config).and_then(|server| server.post(&path, body));
    let done: crate::web::admin::Done = match (sent, password) {
        (Ok(done), _) => done,
        (Err(admin::Unreached::NotRunning(_)), Some(password)) => {
            return set_password(&open_existing(config).await?, &email, password).await;
        }
        (Err(admin::Unreached::NotRunning(_)), None) => {
            return user(command, &open_existing(config).await?).await
        }
        (Err(admin::Unreached::Failed(e)), _) => return Err(e),
    };
    let live = match (done.ended.notification, done.ended.chats) {
        (false, 0) => "it was not online".to_owned(),
        (notification, chats) => format!(
            "ended: notification session {}, {chats} chat connections",
            if notification { "yes" } else { "no" }
        ),
    };
    println!("{action}: {} ({live})", done.email);
    Ok(())
}

/// `msnd user passwd` on the database alone, with a password already read.
async fn set_password(store: &Store, email: &str, password: String) -> anyhow::Result<()> {
    let email = parse_email(email)?;
    let creds = credentials(password).await?;
    let changed = store.set_credentials(&email, &creds).await;
    store.close().await;
    match changed {
        Ok(()) => {
            println!("password changed for {email}");
            Ok(())
        }
        Err(StoreError::NotFound) => bail!("no account {email}"),
        Err(e) => Err(e.into()),
    }
}

/// `msnd admin ..`: only with a running server.
async fn ask_server(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    use crate::web::admin::{Done, Reached, Session, Stats};
    let server = admin::Admin::of(config)?;
    let text = match command {
        AdminCommand::Sessions => {
            let sessions: Vec<Session> = server.get("/sessions")?;
            let line = |s: &Session| {
                let client = s.client.as_deref().unwrap_or("-");
                let status = s.status.as_deref().unwrap_or("-");
                format!(
                    "{}\t{}\t{client}\t{}\t{}\t{status}\t{}",
                    s.email, s.version, s.address, s.since, s.chats
                )
            };
            sessions.iter().map(line).collect::<Vec<_>>().join("\n")
        }
        AdminCommand::Stats => {
            let s: Stats = server.get("/stats")?;
            format!(
                "accounts {}\nonline {}\nchats {} ({} participants)\nuptime {} s\nmaintenance {}",
                s.accounts,
                s.online,
                s.chats,
                s.participants,
                s.uptime_secs,
                if s.closing { "under way" } else { "no" }
            )
        }
        AdminCommand::Kick { email } => {
            let email = parse_email(&email)?.to_string();
            let done: Done =
                server.post(&format!("/accounts/{}/kick", admin::segment(&email)), serde_json::json!({}))?;
            match done.ended.notification || done.ended.chats > 0 {
                true => format!("kicked {} ({} chat connections closed)", done.email, done.ended.chats),
                false => format!("{} was not online", done.email),
            }
        }
        AdminCommand::Broadcast { text } => {
            let reached: Reached = server.post("/broadcast", serde_json::json!({ "text": text }))?;
            format!("notice sent to {} online sessions", reached.reached)
        }
        AdminCommand::Maintenance { minutes, secs } => {
            let reached: Reached =
                server.post("/maintenance", serde_json::json!({ "minutes": minutes, "secs": secs }))?;
            let when = secs.map_or(format!("{minutes} minutes"), |s| format!("{s} seconds"));
            format!(
                "maintenance begun: {} sessions warned; logins are refused; the server stops in {when}",
                reached.reached
            )
        }
    };
    if !text.is_empty() {
        println!("{text}");
    }
    Ok(())
}

/// `msnd invite`: a code for the sign-up page, straight into the database.
async fn invite(config: &Config) -> anyhow::Result<()> {
    let store = open_existing(config).await?;
    let made = crate::web::admin::new_invite(&store, config.web.invite_days).await;
    store.close().await;
    let invite = made?;
    println!("{}", invite.code);
    if config.web.registration != crate::config::Registration::Invite {
        eprintln!("note: web.registration is not \"invite\": the sign-up page does not ask for codes");
    }
    Ok(())
}

/// `msnd cert`: the certificate clients must trust, as PEM on stdout or a DER file.
fn cert(config: &Config, der: Option<&std::path::Path>) -> anyhow::Result<()> {
    // The generated pair lives beside the database: without one this is not where the
    // server runs, and a new pair made here would not be the one clients must trust.
    if config.passport.cert.as_os_str().is_empty() {
        Store::must_exist(&config.database_url).context("no certificate exported")?;
    }
    let identity = crate::passport::tls::load_or_create(config)?;
    let certificate = identity.certificate();
    match der {
        None => std::io::stdout().write_all(&certificate.to_pem()?).context("cannot write to stdout"),
        Some(path) => {
            std::fs::write(path, certificate.to_der()?)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}: import it into \"Trusted Root Certification Authorities\"", path.display());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    create_data_dir(&config.data_dir)?;
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("signal received");
        on_signal.cancel();
    });
    crate::serve(config, shutdown).await
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `msnd backup FILE`: refuses to make a database where there is none, and copies it as it
/// is (a backup taken before an upgrade must not be upgraded first).
async fn backup(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let store = Store::open_as_is(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {}", config.database_url))?;
    let copied = store.backup(file).await;
    store.close().await;
    copied.with_context(|| format!("cannot back up {} to {}", config.database_url, file.display()))?;
    println!("backed up {} to {}", config.database_url, file.display());
    Ok(())
}

/// Creates the data directory, readable by msnd's user only, if it is missing.
fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))
}

/// The configured database, which must exist already.
async fn open_existing(config: &Config) -> anyhow::Result<Store> {
    Store::open_existing(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {}", config.database_url))
}

/// The configured database, created (with the data directory) if it does not exist.
async fn open(config: &Config) -> anyhow::Result<Store> {
    create_data_dir(&config.data_dir)?;
    Store::open(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {}", config.database_url))
}

async fn user(command: UserCommand, store: &Store) -> anyhow::Result<()> {
    let result = match command {
        UserCommand::Add { email, name, password_stdin } => {
            let email = parse_email(&email)?;
            let name = name.unwrap_or_else(|| email.to_string());
            check_friendly_name(&name)?;
            let creds = credentials(read_password(password_stdin)?).await?;
            store.create_user(&email, &name, &creds).await.map(|_| format!("created {email}"))
        }
        UserCommand::Del { email } => {
            let email = parse_email(&email)?;
            store.delete_user(&email).await.map(|()| format!("deleted {email}"))
        }
        UserCommand::Disable { email } => {
            let email = parse_email(&email)?;
            store.set_disabled(&email, true).await.map(|()| format!("disabled {email}"))
        }
        UserCommand::Enable { email } => {
            let email = parse_email(&email)?;
            store.set_disabled(&email, false).await.map(|()| format!("enabled {email}"))
        }
        UserCommand::List => store.users().await.map(|users| {
            let line = |u: &crate::store::User| match u.disabled {
                true => format!("{}\t{}\tdisabled", u.email, u.friendly_name),
                false => format!("{}\t{}", u.email, u.friendly_name),
            };
            users.iter().map(line).collect::<Vec<_>>().join("\n")
        }),
        UserCommand::Import { .. } | UserCommand::Passwd { .. } => {
            unreachable!("`run` handles imports, and `live_or_stored` new passwords")
        }
    };
    store.close().await;
    match result {
        Ok(message) if message.is_empty() => Ok(()),
        Ok(message) => {
            println!("{message}");
            Ok(())
        }
        Err(StoreError::Duplicate) => bail!("an account with that e-mail address already exists"),
        Err(StoreError::NotFound) => bail!("no such account"),
        Err(e) => Err(e.into()),
    }
}

/// `msnd user import`: progress on stderr at most once a second, a summary on stdout.
async fn import(
    store: &Store,
    file: &std::path::Path,
    options: crate::import::Options,
) -> anyhow::Result<()> {
    use crate::import::Progress;
    let started = std::time::Instant::now();
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin().lock()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let entries = crate::import::parse(&text)?;
    let mut shown = std::time::Instant::now();
    let show = |progress: Progress| {
        let last = matches!(progress, Progress::Hashed { done, total } | Progress::Written { done, total } if done == total);
        if !last && !matches!(progress, Progress::Contacts { .. }) && shown.elapsed().as_secs() < 1 {
            return;
        }
        shown = std::time::Instant::now();
        match progress {
            Progress::Hashed { done, total } => eprintln!("credentials derived: {done}/{total}"),
            Progress::Written { done, total } => eprintln!("accounts written: {done}/{total}"),
            Progress::Contacts { accounts } => eprintln!("writing contact lists for {accounts} accounts"),
        }
    };
    let result = crate::import::import(store, entries, options, show).await;
    store.close().await;
    let report = result?;
    let contacts = match report.list_entries {
        0 => String::new(),
        n => format!(", {n} contact-list entries"),
    };
    println!(
        "imported {} accounts ({} already existed){contacts} in {:.1} s",
        report.accounts.created,
        report.accounts.existing,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn parse_email(email: &str) -> anyhow::Result<Email> {
    email.parse().map_err(|_| anyhow::anyhow!("{email:?} is not a valid e-mail address"))
}

fn check_friendly_name(name: &str) -> anyhow::Result<()> {
    if !is_valid_friendly_name(name) {
        bail!("the friendly name must be 1 to {MAX_FRIENDLY_NAME_CHARS} printable characters");
    }
    Ok(())
}

async fn credentials(password: String) -> anyhow::Result<Credentials> {
    Ok(tokio::task::spawn_blocking(move || Credentials::new(&password)).await?)
}

/// The new password: the first line of stdin, or typed twice without echo.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        if !std::io::stdin().is_terminal() {
            bail!("no terminal to prompt for a password: use --password-stdin");
        }
        let first = rpassword::prompt_password("Password: ")?;
        if rpassword::prompt_password("Again: ")? != first {
            bail!("the passwords do not match");
        }
        first
    };
    if password.is_empty() {
        bail!("the password must not be empty");
    }
    Ok(password)
}
