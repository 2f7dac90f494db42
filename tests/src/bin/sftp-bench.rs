//! `sftp-bench`: SFTP upload throughput of the engine's `SftpSession` against OpenSSH's own
//! `sftp -b` (batch `put`, key login), both to the same local sshd (`bc_tests::harness::Sshd`,
//! so it needs root and openssh-server). Each side uploads the same file `--runs` times
//! (default 3); the median counts, connection set-up included on both sides. Goal: the engine
//! at ≥ 0.8× OpenSSH. The engine syncs each upload (`fsync@openssh.com`) before it renames it;
//! plain `put` does not, so `put -f` (which does) is shown too.
//!
//! ```text
//! sftp-bench [--size-mb N] [--runs N] [--source PATH]
//! ```
//! The source (default `/tmp/bc-sftp-bench-<N>MB.bin`, N = 1000) is made once with
//! incompressible bytes and reused.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backup_center_engine::secrets::MemoryStore;
use backup_center_engine::snapshot::{file_name, SnapshotKind};
use backup_center_engine::storage::sftp::{SftpAuth, SftpDestination};
use backup_center_engine::storage::{RemotePath, Session};
use bc_tests::harness::{Sshd, TEST_USER};
use chrono::{TimeZone, Utc};

const GOAL: f64 = 0.8;

struct Args {
    size_mb: u64,
    runs: usize,
    source: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut a = Args {
        size_mb: 1000,
        runs: 3,
        source: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--size-mb" => a.size_mb = value().parse().expect("--size-mb N"),
            "--runs" => a.runs = value().parse().expect("--runs N"),
            "--source" => a.source = Some(PathBuf::from(value())),
            other => panic!("unknown option {other}; see the file's docs"),
        }
    }
    a
}

/// A file of `size` incompressible bytes (xorshift), made once.
fn source_file(path: &Path, size: u64) {
    if fs::metadata(path).is_ok_and(|m| m.len() == size) {
        return;
    }
    eprintln!("writing {} ({} MB)…", path.display(), size / 1_000_000);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut left = size;
    let mut block = vec![0u8; 1 << 20];
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    out.flush().unwrap();
}

/// CPU time (user + system) of this process (`children` false) or of its waited-for children
/// (`sftp` and the `ssh` it runs), from /proc/self/stat.
fn cpu(children: bool) -> Duration {
    let stat = fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    // After "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14.
    let (u, s) = if children { (13, 14) } else { (11, 12) };
    let ticks: u64 = fields[u].parse::<u64>().unwrap() + fields[s].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // CLK_TCK is 100 on Linux
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn mb_per_s(bytes: u64, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64()
}

/// One upload through the engine: connect, log in, put, close.
fn engine_upload(
    dest: &SftpDestination,
    source: &Path,
    name: &str,
    size: u64,
) -> (Duration, Duration, String) {
    let cpu_before = cpu(false);
    let started = Instant::now();
    let mut session = dest.session(&MemoryStore::new()).expect("engine connects");
    let cipher = session.upload_cipher();
    let mut file = fs::File::open(source).unwrap();
    let stored = session
        .put(&RemotePath::parse(name).unwrap(), &mut file, Some(size))
        .expect("engine upload");
    drop(session);
    let took = started.elapsed();
    assert_eq!(stored.size, size);
    (took, cpu(false) - cpu_before, cipher)
}

/// One upload through OpenSSH's `sftp -b` with extra `ssh` options; `put -f` when `fsync`.
/// Returns the time, the CPU time of `sftp` and its `ssh`, and the cipher negotiated (from
/// the `-v` output).
fn openssh_upload(
    sshd: &Sshd,
    source: &Path,
    remote: &str,
    fsync: bool,
    options: &[&str],
    work: &Path,
) -> (Duration, Duration, String) {
    let batch = work.join("batch");
    let put = if fsync { "put -f" } else { "put" };
    fs::write(&batch, format!("{put} {} {remote}\n", source.display())).unwrap();
    let cpu_before = cpu(true);
    let started = Instant::now();
    let mut cmd = Command::new("sftp");
    cmd.arg("-v")
        .arg("-b")
        .arg(&batch)
        .arg("-i")
        .arg(sshd.plain_key())
        .args(["-P", &sshd.port().to_string()])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
        ]);
    for option in options {
        cmd.args(["-o", option]);
    }
    let out = cmd
        .arg(format!("{TEST_USER}@127.0.0.1"))
        .stdin(Stdio::null())
        .output()
        .expect("sftp (openssh-client) is required");
    let took = started.elapsed();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sftp -b failed:\n{log}");
    let cipher = log
        .lines()
        .find_map(|l| l.split("kex: client->server cipher: ").nth(1))
        .map(|rest| {
            let mut parts = rest.split_whitespace();
            let cipher = parts.next().unwrap_or("?");
            match parts.nth(1) {
                Some(mac) if mac != "<implicit>" => format!("{cipher}/{mac}"),
                _ => cipher.to_string(),
            }
        })
        .unwrap_or_else(|| "?".to_string());
    (took, cpu(true) - cpu_before, cipher)
}

/// The runs of one way of uploading.
struct Side {
    label: &'static str,
    times: Vec<Duration>,
    cpu: Vec<Duration>,
    cipher: String,
}

impl Side {
    fn new(label: &'static str) -> Self {
        Self {
            label,
            times: Vec::new(),
            cpu: Vec::new(),
            cipher: String::new(),
        }
    }

    fn record(&mut self, (time, cpu, cipher): (Duration, Duration, String)) {
        self.times.push(time);
        self.cpu.push(cpu);
        self.cipher = cipher;
    }

    fn mb_per_s(&self, size: u64) -> f64 {
        mb_per_s(size, median(self.times.clone()))
    }

    /// Client CPU seconds per GB sent.
    fn cpu_per_gb(&self, size: u64) -> f64 {
        median(self.cpu.clone()).as_secs_f64() / (size as f64 / 1e9)
    }
}

fn main() {
    let args = parse_args();
    let size = args.size_mb * 1_000_000;
    let source = args
        .source
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/bc-sftp-bench-{}MB.bin", args.size_mb)));
    source_file(&source, size);

    let sshd = Sshd::start();
    let work = tempfile::tempdir().unwrap();
    let folder = format!("{}/bench", sshd.area_in_home());
    let remote_dir = sshd.area().join("bench");
    let key = SftpAuth::KeyFile {
        path: sshd.plain_key(),
        has_passphrase: false,
    };
    let dest = SftpDestination::new("127.0.0.1", sshd.port(), TEST_USER, key, &folder)
        .unwrap()
        .with_host_key(&sshd.host_key_sha256())
        .unwrap();
    dest.session(&MemoryStore::new())
        .unwrap()
        .create_dir_all(&RemotePath::folder())
        .unwrap();

    let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let name = file_name("bench.atlassian.net", SnapshotKind::Extended, at);
    let remote = format!("{folder}/{name}");
    let clear = || {
        let _ = fs::remove_file(remote_dir.join(&name));
    };

    let mut engine = Side::new("engine SftpSession::put (syncs)");
    let mut openssh = Side::new("OpenSSH sftp -b put");
    let mut openssh_f = Side::new("OpenSSH sftp -b put -f (syncs)");
    let mut openssh_gcm = Side::new("OpenSSH sftp -b put, AES-GCM");
    let gcm = ["Ciphers=aes128-gcm@openssh.com"];
    // Interleaved, so drift in the machine's load hits every side alike.
    for run in 1..=args.runs {
        clear();
        engine.record(engine_upload(&dest, &source, &name, size));
        clear();
        openssh.record(openssh_upload(
            &sshd,
            &source,
            &remote,
            false,
            &[],
            work.path(),
        ));
        clear();
        openssh_f.record(openssh_upload(
            &sshd,
            &source,
            &remote,
            true,
            &[],
            work.path(),
        ));
        clear();
        openssh_gcm.record(openssh_upload(
            &sshd,
            &source,
            &remote,
            false,
            &gcm,
            work.path(),
        ));
        eprintln!(
            "run {run}: engine {:.0} MB/s, put {:.0}, put -f {:.0}, put AES-GCM {:.0}",
            mb_per_s(size, *engine.times.last().unwrap()),
            mb_per_s(size, *openssh.times.last().unwrap()),
            mb_per_s(size, *openssh_f.times.last().unwrap()),
            mb_per_s(size, *openssh_gcm.times.last().unwrap()),
        );
    }
    clear();

    println!(
        "SFTP upload of {} MB to a local sshd, median of {} (client CPU s/GB: the uploading \
         process; for OpenSSH sftp and its ssh):",
        args.size_mb, args.runs
    );
    for side in [&engine, &openssh, &openssh_f, &openssh_gcm] {
        println!(
            "  {:<34} {:>7.1} MB/s  {:>5.2} CPU s/GB  {}",
            side.label,
            side.mb_per_s(size),
            side.cpu_per_gb(size),
            side.cipher
        );
    }
    let ratio = engine.mb_per_s(size) / openssh.mb_per_s(size);
    println!(
        "  ratio engine / sftp put: {ratio:.2} (goal >= {GOAL}: {}); engine / sftp put -f: {:.2}",
        if ratio >= GOAL { "PASS" } else { "FAIL" },
        engine.mb_per_s(size) / openssh_f.mb_per_s(size)
    );
    // `exit` skips destructors: stop sshd and remove its area first.
    drop(sshd);
    drop(work);
    if ratio < GOAL {
        std::process::exit(1);
    }
}
