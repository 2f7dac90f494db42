//! `backup-center-cli`: Backup Center without a window, for servers and OS schedulers.
//!
//! ```text
//! backup-center-cli snapshot --site URL --email EMAIL --type basic|extended --out DIR
//!                            [--token-env VAR | --token-stdin]
//! backup-center-cli verify FILE
//! backup-center-cli inspect FILE
//! backup-center-cli run --scheme NAME [--data-dir DIR] [--token-env VAR]
//! backup-center-cli run-due [--data-dir DIR] [--token-env VAR]
//! ```
//!
//! `run` and `run-due` use the app's catalog (`catalog.sqlite3` in its data folder, or in
//! `--data-dir`) and the same per-scheme run lock as the app, so an OS scheduler can call them
//! while the app is closed, or open: a scheme never runs twice at once. Both first clean up
//! after runs that were killed (see `run::Runner::recover`).
//!
//! The API token comes from the system keychain (saved by the app), from standard input
//! (`--token-stdin`), or from an environment variable (`--token-env NAME`); never from the
//! command line, where other users could read it.
//!
//! Exit codes: 0 success (a partial snapshot is a success and says so), 1 other failure,
//! 2 bad arguments, 3 Jira rejected the credentials or refused access, 4 Jira or the network
//! could not be reached (DNS, TLS, timeout, refused), 5 a snapshot failed verification,
//! 6 not enough disk space, 7 the keychain is unavailable or holds no token, 8 (`run`) the
//! scheme is already running (in the app or another CLI). A destination that refuses the login
//! is 3, like Jira. `run-due` exits with the code of the first scheme that failed (0 when
//! nothing was due); a scheme running elsewhere is left to that process and is not a failure.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backup_center_engine::clock::SystemClock;
use backup_center_engine::jira::{check_connection, ClientOptions, JiraClient, SiteUrl};
use backup_center_engine::secrets::{KeyringStore, SecretKey, SecretStore, Sensitive};
use backup_center_engine::snapshot::progress::{Phase, Progress, Tracker};
use backup_center_engine::snapshot::walk::WalkOptions;
use backup_center_engine::snapshot::{inspect, take_snapshot, verify, Manifest, SnapshotKind};
use backup_center_engine::{Error, ErrorKind};
use clap::{Parser, Subcommand, ValueEnum};

#[path = "backup-center-cli/run.rs"]
mod run;

#[derive(Parser)]
#[command(
    name = "backup-center-cli",
    version,
    about = "Backup Center: verified backups of Jira Cloud sites, from the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Basic,
    Extended,
}

#[derive(Subcommand)]
enum Command {
    /// Takes a snapshot of a Jira Cloud site into DIR (written as NAME.zip.part, renamed once verified).
    Snapshot {
        /// The site, e.g. https://your-team.atlassian.net
        #[arg(long)]
        site: String,
        /// The Atlassian account that owns the API token.
        #[arg(long)]
        email: String,
        /// basic: everything but file contents; extended: plus attachments and avatars.
        #[arg(long = "type", value_enum)]
        kind: Kind,
        /// The folder to write the snapshot into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Read the API token from this environment variable.
        #[arg(long, conflicts_with = "token_stdin")]
        token_env: Option<String>,
        /// Read the API token from standard input.
        #[arg(long)]
        token_stdin: bool,
    },
    /// Reads a snapshot back: every entry's CRC and SHA-256, and the manifest's counts.
    Verify { file: PathBuf },
    /// Shows a snapshot's manifest: site, type, times, counts and partial sections.
    Inspect { file: PathBuf },
    /// Runs one scheme now: snapshot, verify, store, record, rotate.
    Run {
        /// The scheme's name, as shown in the app (case does not matter).
        #[arg(long)]
        scheme: String,
        #[command(flatten)]
        catalog: CatalogArgs,
    },
    /// Runs every scheme that is due (once per missed period), as the app's scheduler would.
    RunDue {
        #[command(flatten)]
        catalog: CatalogArgs,
    },
}

#[derive(clap::Args)]
struct CatalogArgs {
    /// Backup Center's data folder (holds catalog.sqlite3); default: the app's.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Read the Jira API token from this environment variable instead of the keychain (for
    /// every site the command backs up).
    #[arg(long)]
    token_env: Option<String>,
}

fn exit_code(e: &Error) -> u8 {
    match e.kind {
        ErrorKind::InvalidInput => 2,
        ErrorKind::JiraAuth | ErrorKind::JiraForbidden | ErrorKind::NotJiraCloud => 3,
        ErrorKind::Dns
        | ErrorKind::Tls
        | ErrorKind::Timeout
        | ErrorKind::Unreachable
        | ErrorKind::JiraRateLimited
        | ErrorKind::JiraServer => 4,
        ErrorKind::StorageAuth => 3,
        ErrorKind::SnapshotCorrupt => 5,
        ErrorKind::StorageFull => 6,
        ErrorKind::SecretStoreUnavailable | ErrorKind::SecretMissing => 7,
        _ => 1,
    }
}

/// `run`: the scheme is running elsewhere.
const EXIT_BUSY: u8 = 8;

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("Cannot start: {e}.")).with_source(e))
}

fn main() -> ExitCode {
    backup_center_engine::process::disable_transparent_huge_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { scheme, catalog } => {
            return match runtime().and_then(|rt| rt.block_on(run::run(&scheme, catalog))) {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    eprintln!("error: {}", e.message());
                    ExitCode::from(exit_code(&e))
                }
            };
        }
        Command::RunDue { catalog } => {
            return match runtime().and_then(|rt| rt.block_on(run::run_due(catalog))) {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    eprintln!("error: {}", e.message());
                    ExitCode::from(exit_code(&e))
                }
            };
        }
        Command::Snapshot {
            site,
            email,
            kind,
            out,
            token_env,
            token_stdin,
        } => {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start: {e}");
                    return ExitCode::from(1);
                }
            };
            rt.block_on(snapshot(site, email, kind, out, token_env, token_stdin))
        }
        Command::Verify { file } => verify(&file).map(|r| {
            println!(
                "OK: {} entries, {} bytes verified in {}",
                r.entries_checked,
                r.bytes_checked,
                file.display()
            );
            print_manifest(&r.manifest);
        }),
        Command::Inspect { file } => inspect(&file).map(|m| print_manifest(&m)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message());
            ExitCode::from(exit_code(&e))
        }
    }
}

fn read_token(
    url: &SiteUrl,
    email: &str,
    env: Option<String>,
    stdin: bool,
) -> Result<Sensitive<String>, Error> {
    if let Some(var) = env {
        let t = std::env::var(&var).map_err(|_| {
            Error::invalid_input(format!("The environment variable {var} is not set."))
        })?;
        return Ok(Sensitive::new(t.trim().to_string()));
    }
    if stdin {
        let mut t = String::new();
        std::io::stdin().read_to_string(&mut t).map_err(|e| {
            Error::invalid_input("Could not read the API token from standard input.").with_source(e)
        })?;
        if t.trim().is_empty() {
            return Err(Error::invalid_input("Standard input held no API token."));
        }
        return Ok(Sensitive::new(t.trim().to_string()));
    }
    KeyringStore::new()
        .get(&SecretKey::jira_token(url.as_str(), email))?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::SecretMissing,
                format!(
                "No API token for {email} on {url} is in the system keychain. Save the site in \
                 Backup Center first, or pass --token-stdin or --token-env."
            ),
            )
        })
}

async fn snapshot(
    site: String,
    email: String,
    kind: Kind,
    out: PathBuf,
    token_env: Option<String>,
    token_stdin: bool,
) -> Result<(), Error> {
    let url = SiteUrl::parse(&site)?;
    let email = backup_center_engine::jira::validate_email(&email)?;
    let token = read_token(&url, &email, token_env, token_stdin)?;
    std::fs::create_dir_all(&out).map_err(|e| {
        Error::invalid_input(format!("Cannot create the folder {}.", out.display())).with_source(e)
    })?;
    let client = JiraClient::new(url, email, token, ClientOptions::default())?;
    // Fail fast, with the clear connection messages, before writing anything.
    let report = check_connection(&client, chrono::Utc::now()).await?;
    eprintln!(
        "Site {} ({}), signed in as {}{}",
        report.site_url,
        report.server_title,
        report.display_name,
        if report.is_admin {
            ", Jira administrator"
        } else {
            " (not a Jira administrator: the snapshot will be partial)"
        }
    );
    let kind = match kind {
        Kind::Basic => SnapshotKind::Basic,
        Kind::Extended => SnapshotKind::Extended,
    };
    let temp = out.join(".backup-center-downloads");
    let opts = WalkOptions::new(kind, temp.clone());
    let tracker = Tracker::new(progress_printer());
    let result = take_snapshot(&client, &opts, &out, &SystemClock, &tracker).await;
    let _ = std::fs::remove_dir_all(&temp);
    let path = result?;
    let m = inspect(&path)?;
    println!("{}", path.display());
    print_manifest(&m);
    Ok(())
}

fn print_manifest<E>(m: &Manifest<E>) {
    println!("site: {} ({})", m.site.url, m.site.server_title);
    println!(
        "type: {:?}, taken {} → {}",
        m.kind, m.started_at, m.finished_at
    );
    for (k, v) in &m.counts {
        println!("  {k}: {v}");
    }
    if m.partial {
        println!("PARTIAL snapshot; not included:");
        for p in &m.partial_sections {
            println!("  {}: {}", p.section, p.reason);
        }
    }
    for d in &m.deleted_during_run {
        println!(
            "  deleted during the run: {} {} ({})",
            d.entity, d.id, d.note
        );
    }
}

/// A progress bar on a terminal; plain lines (at most every 5 s, and on each phase) otherwise.
fn progress_printer() -> Arc<dyn Fn(Progress) + Send + Sync> {
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg:14} [{bar:30}] {pos}/{len} {binary_bytes} {elapsed} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Arc::new(move |p: Progress| {
            bar.set_message(format!("{:?}", p.phase));
            bar.set_length(p.total.unwrap_or(0));
            bar.set_position(p.done);
            // Verification counts its entries too: the bar goes once the last is checked.
            if p.phase == Phase::Verifying && p.total.is_some_and(|t| p.done >= t) {
                bar.finish_and_clear();
            }
        })
    } else {
        let last: Mutex<(Option<Phase>, Instant)> = Mutex::new((None, Instant::now()));
        Arc::new(move |p: Progress| {
            let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
            if l.0 != Some(p.phase) || l.1.elapsed() >= Duration::from_secs(5) {
                *l = (Some(p.phase), Instant::now());
                let total = p.total.map(|t| format!("/{t}")).unwrap_or_default();
                let eta = p
                    .eta_secs
                    .map(|s| format!(", about {s} s left"))
                    .unwrap_or_default();
                eprintln!(
                    "{:?}: {}{total} ({} bytes, {:.0}/s{eta})",
                    p.phase, p.done, p.bytes, p.rate
                );
            }
        })
    }
}
