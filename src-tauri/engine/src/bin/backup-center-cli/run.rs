//! `run --scheme NAME` and `run-due`: the app's runner over the app's catalog.

use std::collections::HashMap;
use std::sync::Arc;

use backup_center_engine::catalog::runs::RunOutcome;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::SystemClock;
use backup_center_engine::data_dir::{catalog_path, default_data_dir};
use backup_center_engine::run::{RunContext, RunEvent, Runner, SchemeResult};
use backup_center_engine::schemes::name_key;
use backup_center_engine::secrets::{KeyringStore, SecretKey, SecretStore, Sensitive};
use backup_center_engine::storage::format_bytes;
use backup_center_engine::{Error, Result};

use super::{exit_code, progress_printer, CatalogArgs, EXIT_BUSY};

/// The keychain, with the Jira tokens of `--token-env` in front of it.
struct TokenOverride {
    tokens: HashMap<String, String>,
    keychain: KeyringStore,
}

impl SecretStore for TokenOverride {
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>> {
        match self.tokens.get(key.account()) {
            Some(t) => Ok(Some(Sensitive::new(t.clone()))),
            None => self.keychain.get(key),
        }
    }

    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<()> {
        self.keychain.set(key, value)
    }

    fn delete(&self, key: &SecretKey) -> Result<()> {
        self.keychain.delete(key)
    }
}

/// Opens the catalog and builds the runner, then cleans up after killed runs.
async fn runner(args: CatalogArgs) -> Result<Runner> {
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let path = catalog_path(&data_dir);
    if !path.is_file() {
        return Err(Error::invalid_input(format!(
            "There is no Backup Center catalog at {}. Create schemes in the app first, or pass \
             --data-dir with the folder that holds catalog.sqlite3.",
            path.display()
        )));
    }
    let catalog = Arc::new(Catalog::open(&path)?);
    let mut tokens = HashMap::new();
    if let Some(var) = args.token_env {
        let token = std::env::var(&var).map_err(|_| {
            Error::invalid_input(format!("The environment variable {var} is not set."))
        })?;
        for site in catalog.list_sites()? {
            let key = SecretKey::jira_token(&site.url, &site.email);
            tokens.insert(key.account().to_string(), token.trim().to_string());
        }
    }
    let secrets = Arc::new(TokenOverride {
        tokens,
        keychain: KeyringStore::new(),
    });
    let mut ctx = RunContext::new(catalog, secrets, Arc::new(SystemClock), &data_dir);
    let progress = progress_printer();
    ctx.events = Arc::new(move |e| match e {
        RunEvent::Snapshot { progress: p } => progress(p),
        RunEvent::Started { scheme_ids, .. } => {
            eprintln!("Started: scheme(s) {scheme_ids:?}, one snapshot");
        }
        RunEvent::Upload { .. } | RunEvent::Finished { .. } => {}
    });
    let runner = Runner::new(ctx);
    let recovery = runner.recover().await?;
    if !recovery.interrupted.is_empty() {
        eprintln!(
            "Cleaned up after {} interrupted run(s): {} temporary upload(s), {} staging folder(s) removed.",
            recovery.interrupted.len(),
            recovery.remote_temporaries_removed,
            recovery.staging_removed
        );
    }
    for p in &recovery.problems {
        eprintln!("warning: {p}");
    }
    Ok(runner)
}

pub async fn run(scheme: &str, args: CatalogArgs) -> Result<u8> {
    let runner = runner(args).await?;
    let key = name_key(scheme);
    let found = runner
        .context()
        .catalog
        .list_schemes()?
        .into_iter()
        .find(|s| name_key(&s.settings.name) == key)
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "There is no scheme named \"{scheme}\". `backup-center-cli run-due` runs \
                 whatever is due; the app lists the schemes."
            ))
        })?;
    let result = runner.run_scheme_now(found.id).await?;
    Ok(report(&runner, &result).unwrap_or(0))
}

pub async fn run_due(args: CatalogArgs) -> Result<u8> {
    let runner = runner(args).await?;
    let results = runner.run_due().await?;
    if results.is_empty() {
        println!("Nothing is due.");
    }
    let mut code = 0;
    for r in &results {
        let c = report(&runner, r);
        // A busy scheme is run and recorded by another process: not a failure of this one.
        let failed = c.filter(|_| r.ran().is_some());
        if code == 0 {
            code = failed.unwrap_or(0);
        }
    }
    Ok(code)
}

/// Prints one scheme's result; its exit code when it is not a success.
fn report(runner: &Runner, r: &SchemeResult) -> Option<u8> {
    let name = runner
        .context()
        .catalog
        .get_scheme(r.scheme_id())
        .map(|s| s.settings.name)
        .unwrap_or_else(|_| format!("#{}", r.scheme_id()));
    let Some(ran) = r.ran() else {
        println!("Scheme \"{name}\": already running (in the app or another command); left alone.");
        return Some(EXIT_BUSY);
    };
    match ran.run.outcome {
        RunOutcome::Succeeded | RunOutcome::Partial => {
            if let Some(f) = &ran.file {
                let partial = if ran.run.outcome == RunOutcome::Partial {
                    " (PARTIAL: some sections could not be read)"
                } else {
                    ""
                };
                println!(
                    "Scheme \"{name}\": stored {} ({}){partial}",
                    f.file.name,
                    format_bytes(f.file.size)
                );
            }
            for d in &ran.deleted {
                println!("  rotation deleted {d}");
            }
            if let Some(e) = &ran.run.error {
                eprintln!("warning: {}", e.message);
            }
            None
        }
        _ => {
            let e = r.error()?;
            eprintln!("error: scheme \"{name}\": {}", e.message());
            Some(exit_code(&e))
        }
    }
}
