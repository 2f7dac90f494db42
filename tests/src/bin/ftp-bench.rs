//! `ftp-bench`: upload throughput of the FTP destination against curl, on a real vsftpd on this
//! machine (client and server share the CPUs: compare the figures only with each other).
//!
//! A file of `--size-mb` MiB (default 1024) is generated in a temporary folder, then uploaded
//! `--runs` times (default 3) by [`FtpSession::put`] (1 MiB writes) and by curl, alternating so
//! that load from elsewhere hits both alike; the medians are compared:
//! - plain FTP against `curl -T`: goal ≥ 0.9×;
//! - explicit FTPS against `curl --ssl-reqd --cacert CA -T`: goal ≥ 0.9×.
//!
//! The client's CPU seconds per upload are printed too (ours from /proc, curl's from bash's
//! `time`): wall-clock figures swing with whatever else runs on the machine, CPU time less so.
//!
//! Needs root and vsftpd (as the FTP tests do) and curl. Build and run in release:
//! ```text
//! cargo build --release -p backup-center-tests --bin ftp-bench
//! target/release/ftp-bench [--size-mb N] [--runs N] [--only ftp|ftps]
//! ```

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use backup_center_engine::secrets::{MemoryStore, SecretStore, Sensitive};
use backup_center_engine::storage::ftp::{
    FtpConfig, FtpDestination, FtpSecurity, FtpTimeouts, TlsTrust,
};
use backup_center_engine::storage::{RemotePath, Session};
use bc_tests::harness::{FtpTls, Vsftpd};

struct Args {
    size_mb: u64,
    runs: usize,
    only: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        size_mb: 1024,
        runs: 3,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--size-mb" => a.size_mb = value().parse().expect("--size-mb N"),
            "--runs" => a.runs = value().parse().expect("--runs N"),
            "--only" => a.only = Some(value()),
            other => panic!("unknown option {other}; see the doc comment of ftp-bench.rs"),
        }
    }
    a
}

/// Incompressible bytes, written in 1 MiB pieces.
fn generate(path: &Path, mib: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create source"));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        out.write_all(&block).expect("write source");
    }
    out.flush().expect("flush source");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// One comparison: our upload and curl's, alternating, `runs` times each.
fn compare(tls: FtpTls, source: &Path, bytes: u64, runs: usize, work: &Path) -> Figures {
    let server = Vsftpd::start(tls);
    let folder = server.home().join("bench");
    fs::create_dir_all(&folder).expect("bench folder");
    server.give(&folder);
    let mut config = FtpConfig {
        host: "127.0.0.1".into(),
        port: Some(server.port()),
        username: server.user().into(),
        folder: "bench".into(),
        security: FtpSecurity::Plain,
        trust: TlsTrust::default(),
        quota: None,
        timeouts: FtpTimeouts::default(),
    };
    let mut curl_tls: Vec<String> = Vec::new();
    if let Some(pki) = server.pki() {
        config.security = FtpSecurity::ExplicitTls;
        config.trust.extra_roots_pem = Some(pki.ca_pem.clone());
        let ca = work.join("ca.pem");
        fs::write(&ca, &pki.ca_pem).expect("write CA");
        curl_tls = vec![
            "--ssl-reqd".into(),
            "--cacert".into(),
            ca.display().to_string(),
        ];
    }
    let dest = FtpDestination::new(config).expect("destination");
    let secrets = MemoryStore::new();
    secrets
        .set(
            &dest.secret_key(),
            &Sensitive::new(server.password().to_string()),
        )
        .expect("secret");
    let name = "acme.atlassian.net-basic-2026-11-22_0300.zip";
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut our_cpu, mut their_cpu) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let mut session = dest.session(&secrets).expect("session");
        let mut file = File::open(source).expect("open source");
        let cpu_before = own_cpu_seconds();
        let started = Instant::now();
        let stored = session
            .put(
                &RemotePath::parse(name).expect("name"),
                &mut file,
                Some(bytes),
            )
            .expect("our upload");
        ours.push(started.elapsed());
        our_cpu.push(own_cpu_seconds() - cpu_before);
        assert_eq!(stored.size, bytes);
        drop(session);
        fs::remove_file(folder.join(name)).expect("remove our upload");

        let url = format!("ftp://127.0.0.1:{}/bench/curl-{run}.bin", server.port());
        let started = Instant::now();
        // bash's `time` reports curl's CPU seconds (user, system) on stderr.
        let out = Command::new("bash")
            .arg("-c")
            .arg("TIMEFORMAT='%3U %3S'; time curl \"$@\"")
            .arg("bash")
            .args(["-sS", "--user"])
            .arg(format!("{}:{}", server.user(), server.password()))
            .args(&curl_tls)
            .arg("-T")
            .arg(source)
            .arg(&url)
            .output()
            .expect("run curl (apt-get install curl)");
        theirs.push(started.elapsed());
        assert!(out.status.success(), "curl failed: {:?}", out);
        let times = String::from_utf8_lossy(&out.stderr);
        let cpu: f64 = times
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|t| t.parse::<f64>().ok())
            .sum();
        their_cpu.push(cpu);
        let uploaded = folder.join(format!("curl-{run}.bin"));
        assert_eq!(fs::metadata(&uploaded).expect("curl's upload").len(), bytes);
        fs::remove_file(uploaded).expect("remove curl's upload");
        println!(
            "  run {}: ours {:.0} MB/s ({:.2} s CPU), curl {:.0} MB/s ({:.2} s CPU)",
            run + 1,
            mb_per_s(bytes, ours[run]),
            our_cpu[run],
            mb_per_s(bytes, theirs[run]),
            their_cpu[run],
        );
    }
    Figures {
        ours: mb_per_s(bytes, median(ours)),
        theirs: mb_per_s(bytes, median(theirs)),
        our_cpu: median_f(our_cpu),
        their_cpu: median_f(their_cpu),
    }
}

/// Medians of one comparison: MB/s, and the client's CPU seconds per upload.
struct Figures {
    ours: f64,
    theirs: f64,
    our_cpu: f64,
    their_cpu: f64,
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// This process's CPU time (user + system) in seconds, from /proc (clock ticks of 10 ms).
fn own_cpu_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After "pid (comm)": state is field 3, utime 14 and stime 15 (1-based).
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|t| t.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn main() -> ExitCode {
    let a = args();
    let work = tempfile::Builder::new()
        .prefix("ftp-bench-")
        .tempdir()
        .expect("work folder");
    let source = work.path().join("source.bin");
    let bytes = a.size_mb * 1024 * 1024;
    println!("generating {} MiB in {}", a.size_mb, source.display());
    generate(&source, a.size_mb);
    let mut rows = Vec::new();
    for (label, tls, curl) in [
        ("ftp", FtpTls::None, "curl -T"),
        ("ftps", FtpTls::Explicit, "curl --ssl-reqd -T"),
    ] {
        if a.only.as_deref().is_some_and(|o| o != label) {
            continue;
        }
        println!(
            "\n# {label}: FtpSession::put vs {curl}, {} MiB, median of {}",
            a.size_mb, a.runs
        );
        rows.push((
            label,
            curl,
            compare(tls, &source, bytes, a.runs, work.path()),
        ));
    }
    println!(
        "\n| upload | ours MB/s | curl MB/s | ratio | goal | result | client CPU s, ours / curl |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut ok = true;
    for (label, curl, f) in rows {
        let ratio = f.ours / f.theirs;
        let pass = ratio >= 0.9;
        ok &= pass;
        println!(
            "| {label} (vs {curl}) | {:.0} | {:.0} | {ratio:.2}× | ≥ 0.90× | {} | {:.2} / {:.2} |",
            f.ours,
            f.theirs,
            if pass { "PASS" } else { "FAIL" },
            f.our_cpu,
            f.their_cpu
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
