//! Figure 4: the CLI's peak memory on a large site. `jira-sim` runs as its own process (so
//! its memory is not the CLI's), the CLI takes an Extended snapshot of it, and the peak RSS
//! is the CLI's `VmHWM` (the kernel's high-water mark of its resident set) read from
//! `/proc/<pid>/status` every 10 ms until it exits. (`wait4`'s `ru_maxrss` would need
//! `unsafe`, which the workspace denies; the high-water mark only misses growth in the last
//! 10 ms of the run.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::sim;

/// A `jira-sim` process; killed on drop.
pub struct SimProcess {
    child: Child,
    pub base_url: String,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `jira-sim` with `args` on free ports and waits for its address.
pub fn start_sim(bin: &Path, args: &[&str]) -> std::io::Result<SimProcess> {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let out = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(out).lines();
    let mut base_url = None;
    for line in lines.by_ref() {
        let line = line?;
        if let Some(url) = line.strip_prefix("jira-sim listening on ") {
            base_url = Some(url.trim().to_string());
            break;
        }
    }
    // Keep draining so the simulator never writes into a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    let Some(base_url) = base_url else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other("jira-sim did not print its address"));
    };
    Ok(SimProcess { child, base_url })
}

/// What the CLI run showed.
#[derive(Debug)]
pub struct CliRun {
    pub success: bool,
    pub elapsed: Duration,
    /// The highest `VmHWM` seen, bytes.
    pub peak_rss: u64,
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `backup-center-cli snapshot --type extended` against `base_url` into `out`, the token
/// passed with `--token-env`; its output goes to `log`.
pub fn run_cli(cli: &Path, base_url: &str, out: &Path, log: &Path) -> std::io::Result<CliRun> {
    let log_file = std::fs::File::create(log)?;
    let started = Instant::now();
    let mut child = Command::new(cli)
        .args(["snapshot", "--site", base_url, "--email", sim::ADMIN_EMAIL])
        .args([
            "--type",
            "extended",
            "--token-env",
            "BENCH_JIRA_TOKEN",
            "--out",
        ])
        .arg(out)
        .env("BENCH_JIRA_TOKEN", sim::ADMIN_TOKEN)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()?;
    let pid = child.id();
    let mut peak_rss = 0;
    loop {
        // Read before checking for the exit, so the last reading is as late as possible.
        if let Some(h) = vm_hwm(pid) {
            peak_rss = peak_rss.max(h);
        }
        if let Some(status) = child.try_wait()? {
            return Ok(CliRun {
                success: status.success(),
                elapsed: started.elapsed(),
                peak_rss,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
