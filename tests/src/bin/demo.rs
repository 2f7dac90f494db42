//! `make demo`: Backup Center against the Jira Cloud simulator, with a sample site, a local
//! destination and a scheme already configured and one backup already taken, so a new user
//! sees the app at work without a Jira site.
//!
//! Everything lives in a demo folder (default `target/demo`, recreated on each start): the
//! app's data (catalog, preferences, logs) through the XDG variables, the backups, and a
//! private session bus with its own Secret Service (gnome-keyring) holding the sample API
//! token, so the demo never touches your own keychain or app data. The window opens on your
//! display; the tray and notifications live on the demo's private bus and so do not show.
//!
//! usage: demo [--size tiny|small|medium|large] [--dir DIR]

use std::path::{Path, PathBuf};
use std::process::Command;

use backup_center_engine::catalog::destinations::DestinationKind;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::{Clock, SystemClock};
use backup_center_engine::data_dir::catalog_path;
use backup_center_engine::destinations::{self, DestinationDraft};
use backup_center_engine::jira::ClientOptions;
use backup_center_engine::schedule::parse_time_zone;
use backup_center_engine::schemes::{self, Preset, SchemeContext};
use backup_center_engine::secrets::{KeyringStore, Sensitive};
use backup_center_engine::sites::{self, SiteDraft};
use bc_tests::harness::app::IDENTIFIER;
use bc_tests::harness::{workspace_root, SecretService, SessionBus};
use bc_tests::sim::{self, SimConfig, Size};

const USAGE: &str = "usage: demo [--size tiny|small|medium|large] [--dir DIR]";

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("demo: {message}");
    std::process::exit(1);
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn binary(name: &str) -> PathBuf {
    let bin = target_dir().join("debug").join(name);
    if !bin.is_file() {
        fail(format!(
            "{} is missing: run `make demo` (it builds the app first)",
            bin.display()
        ));
    }
    bin
}

/// The XDG folders of the demo's own home, created private (0700) as the specification asks.
fn xdg_dirs(home: &Path) -> Vec<(&'static str, PathBuf)> {
    [
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_RUNTIME_DIR",
    ]
    .into_iter()
    .map(|k| {
        let d = home.join(k.to_lowercase());
        std::fs::create_dir_all(&d).unwrap_or_else(|e| fail(format!("{}: {e}", d.display())));
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap_or_else(|e| fail(format!("{}: {e}", d.display())));
        (k, d)
    })
    .collect()
}

/// The sample site (the simulator's admin and token in the keychain), a local destination
/// and the "Basic daily" and "Extended Mon/Wed/Fri" presets; returns the Basic scheme's name.
fn configure(
    rt: &tokio::runtime::Runtime,
    data_dir: &Path,
    base_url: &str,
    backups: &Path,
) -> String {
    let catalog = Catalog::open(&catalog_path(data_dir)).unwrap_or_else(|e| fail(e));
    let secrets = KeyringStore::new();
    let clock = SystemClock;
    let site = sites::save(
        &catalog,
        &secrets,
        &clock,
        &SiteDraft {
            id: None,
            url: base_url.to_string(),
            email: sim::ADMIN_EMAIL.to_string(),
            token: Some(Sensitive::new(sim::ADMIN_TOKEN.to_string())),
        },
    )
    .unwrap_or_else(|e| fail(format!("saving the sample site: {e}")));
    // Test connection once, as the window would: the site shows its user and admin status.
    rt.block_on(sites::test_connection(
        &catalog,
        &secrets,
        &clock,
        &SiteDraft {
            id: Some(site.id.into()),
            url: site.url.clone(),
            email: site.email.clone(),
            token: None,
        },
        ClientOptions::default(),
    ))
    .unwrap_or_else(|e| fail(format!("testing the sample site: {e}")));
    let destination = destinations::save(
        &catalog,
        &secrets,
        &clock,
        data_dir,
        &DestinationDraft {
            id: None,
            name: "Demo disk".into(),
            kind: DestinationKind::Local,
            host: None,
            port: None,
            user_name: None,
            folder: backups.display().to_string(),
            quota_bytes: Some(2 * 1024 * 1024 * 1024),
            pinned_fingerprint: None,
            password: None,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| fail(format!("saving the demo destination: {e}")));
    let zone = parse_time_zone("UTC").expect("UTC is a time zone");
    let mut first = None;
    for preset in [Preset::BasicDaily, Preset::ExtendedMonWedFri] {
        let taken: Vec<(u32, String)> = catalog.scheme_names().unwrap_or_else(|e| fail(e));
        let names: Vec<String> = taken.iter().map(|(_, n)| n.clone()).collect();
        for input in schemes::preset_inputs(preset, site.id, destination.id, "demo", &names) {
            let ctx = SchemeContext {
                existing: &taken,
                site_time_zone: None,
                computer_time_zone: zone,
            };
            let settings = schemes::validate(&input, &ctx)
                .unwrap_or_else(|e| fail(format!("the {preset:?} preset: {e:?}")));
            let scheme = catalog
                .insert_scheme(&settings, clock.now())
                .unwrap_or_else(|e| fail(e));
            first.get_or_insert(scheme.settings.name.clone());
        }
    }
    first.expect("a preset makes a scheme")
}

fn main() {
    let mut size = Size::Small;
    let mut dir = target_dir().join("demo");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => {
                size = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| fail(USAGE))
            }
            "--dir" => {
                dir = args
                    .next()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| fail(USAGE))
            }
            _ => fail(USAGE),
        }
    }
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        fail("no display: run `make demo` in a desktop session (DISPLAY or WAYLAND_DISPLAY)");
    }
    let app = binary("backup-center");
    let cli = binary("backup-center-cli");

    // A fresh demo folder each time.
    let _ = std::fs::remove_dir_all(&dir);
    let home = dir.join("home");
    let backups = dir.join("backups");
    std::fs::create_dir_all(&backups)
        .unwrap_or_else(|e| fail(format!("{}: {e}", backups.display())));
    let xdg = xdg_dirs(&home);
    let data_dir = xdg[0].1.join(IDENTIFIER);
    std::fs::create_dir_all(&data_dir).unwrap_or_else(|e| fail(e));

    let bus = SessionBus::start();
    let _keyring = SecretService::start(&bus);
    // The keychain client of this process and of the app and CLI below talk to the demo's bus.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &bus.address);

    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(e));
    let sim = rt
        .block_on(sim::start(SimConfig {
            size,
            ..SimConfig::default()
        }))
        .unwrap_or_else(|e| fail(format!("starting the simulator: {e}")));
    println!("demo: Jira Cloud simulator at {}", sim.base_url);

    let scheme = configure(&rt, &data_dir, &sim.base_url, &backups);
    println!("demo: taking a first backup with scheme \"{scheme}\" …");
    let status = Command::new(&cli)
        .args(["run", "--scheme", &scheme, "--data-dir"])
        .arg(&data_dir)
        .envs(xdg.iter().map(|(k, v)| (*k, v)))
        .status()
        .unwrap_or_else(|e| fail(format!("{}: {e}", cli.display())));
    if !status.success() {
        fail(format!("the first backup failed ({status})"));
    }
    println!(
        "demo: starting Backup Center (site {} as {}, backups in {}); quit it from its window to end the demo",
        sim.base_url,
        sim::ADMIN_EMAIL,
        backups.display()
    );
    let status = Command::new(&app)
        .envs(xdg.iter().map(|(k, v)| (*k, v)))
        .status()
        .unwrap_or_else(|e| fail(format!("{}: {e}", app.display())));
    println!(
        "demo: Backup Center exited ({status}); the demo folder stays in {}",
        dir.display()
    );
    drop(sim);
}
