//! `snapshot-bench`: the snapshot benchmarks behind `make bench`. Figures printed, not timed
//! tests; each with its goal and PASS/FAIL in a table at the end.
//!
//! 1. Requests per 1,000 issues of a Basic snapshot of the medium site (20 projects, 20,000
//!    issues), beside the per-issue walker's (`bc_tests::bench::per_issue`); both must see
//!    the same content (compared issue by issue, part by part, by digest). Goal ≤ 40 %.
//! 2. The medium site behind a burst limit of R requests/s with L ms of latency per answer:
//!    the engine's Basic snapshot against the floor (its requests ÷ R; goal ≤ 1.3×), and
//!    against the sequential walker (one request at a time, as scripts do), run on the first
//!    N issues and extrapolated per issue to the whole site (goal ≥ 5× faster).
//! 3. Extended attachment throughput against `curl --parallel --parallel-max C` over the same
//!    URLs (C = the engine's download concurrency), the median of N alternating rounds
//!    (default 5), each after a `sync`; the figure is the median of the rounds' ratios;
//!    goal ≥ 0.9×.
//! 4. Peak RSS of `backup-center-cli snapshot --type extended` on the large site (100,000
//!    issues, ≈5 GB of attachments) served by a separate `jira-sim` process; goal ≤ 80 MB.
//!    Only with `--large` (or `BENCH_LARGE=1`): it takes a long time.
//!
//! ```text
//! snapshot-bench [--only 1,2,3,4] [--large] [--rate R] [--latency-ms L] [--seq-issues N]
//!                [--walker-concurrency C] [--rounds N] [--bin-dir DIR] [--work-dir DIR]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backup_center_engine::jira::throttle::ThrottleOptions;
use backup_center_engine::snapshot::walk::WalkOptions;
use backup_center_engine::snapshot::SnapshotKind;
use bc_tests::bench::per_issue::{self, Walked};
use bc_tests::bench::{self, digest::DigestSink, mib, rss, Row};
use bc_tests::sim::{self, Faults, SimConfig, Size};

struct Args {
    only: Vec<u32>,
    rate: u32,
    latency_ms: u64,
    seq_issues: usize,
    walker_concurrency: usize,
    rounds: usize,
    bin_dir: PathBuf,
    work_dir: PathBuf,
}

fn parse_args() -> Args {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"));
    let large = std::env::var("BENCH_LARGE").is_ok_and(|v| v == "1");
    let mut a = Args {
        only: if large {
            vec![1, 2, 3, 4]
        } else {
            vec![1, 2, 3]
        },
        rate: 400,
        latency_ms: 25,
        seq_issues: 400,
        walker_concurrency: 16,
        rounds: 5,
        bin_dir: exe_dir,
        work_dir: std::env::temp_dir(),
    };
    let mut it = std::env::args().skip(1);
    let usage = || -> ! {
        eprintln!("usage: snapshot-bench [--only 1,2,3,4] [--large] [--rate R] [--latency-ms L] [--seq-issues N] [--walker-concurrency C] [--rounds N] [--bin-dir DIR] [--work-dir DIR]");
        std::process::exit(2)
    };
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--only" => {
                a.only = val()
                    .split(',')
                    .map(|n| n.trim().parse().unwrap_or_else(|_| usage()))
                    .collect()
            }
            "--large" => a.only.push(4),
            "--rate" => a.rate = val().parse().unwrap_or_else(|_| usage()),
            "--latency-ms" => a.latency_ms = val().parse().unwrap_or_else(|_| usage()),
            "--seq-issues" => a.seq_issues = val().parse().unwrap_or_else(|_| usage()),
            "--walker-concurrency" => {
                a.walker_concurrency = val().parse().unwrap_or_else(|_| usage())
            }
            "--rounds" => a.rounds = val().parse().unwrap_or_else(|_| usage()),
            "--bin-dir" => a.bin_dir = PathBuf::from(val()),
            "--work-dir" => a.work_dir = PathBuf::from(val()),
            _ => usage(),
        }
    }
    a.only.sort_unstable();
    a.only.dedup();
    a
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let started = Instant::now();
    std::fs::create_dir_all(&args.work_dir).expect("the work folder");
    let work = tempfile::Builder::new()
        .prefix("snapshot-bench-")
        .tempdir_in(&args.work_dir)
        .expect("a temporary folder");
    let mut rows = Vec::new();
    let mut engine_requests = None;
    if args.only.contains(&1) {
        engine_requests = Some(figure1(&args, work.path(), &mut rows).await);
    }
    if args.only.contains(&2) {
        figure2(&args, work.path(), engine_requests, &mut rows).await;
    }
    if args.only.contains(&3) {
        figure3(&args, work.path(), &mut rows).await;
    }
    if args.only.contains(&4) {
        figure4(&args, work.path(), &mut rows);
    } else {
        println!(
            "\n(figure 4, peak RSS on the large site, skipped: run with BENCH_LARGE=1 or --large)"
        );
    }
    println!(
        "\n## Snapshot benchmarks (seed 42, release build, {} s in all)\n",
        started.elapsed().as_secs()
    );
    print!("{}", bench::table(&rows));
    let failed = rows.iter().filter(|r| r.pass == Some(false)).count();
    println!(
        "\n{} goals met, {failed} missed",
        rows.iter().filter(|r| r.pass == Some(true)).count()
    );
    if failed > 0 {
        // exit() skips destructors: remove the work folder first.
        drop(work);
        std::process::exit(1);
    }
}

/// Compares the engine's walk with the walker's, issue by issue and in totals.
fn compare(
    engine: &DigestSink,
    walker: &Walked,
    truth: &BTreeMap<&str, u64>,
) -> (bool, String, Vec<String>) {
    let mut notes = Vec::new();
    let mut diff_parts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut identical = 0u64;
    for (id, e) in &engine.issues {
        match walker.issues.get(id) {
            Some(w) => {
                let d = e.differences(w);
                if d.is_empty() {
                    identical += 1;
                }
                for p in d {
                    *diff_parts.entry(p).or_default() += 1;
                }
            }
            None => *diff_parts.entry("missing from the walker").or_default() += 1,
        }
    }
    let only_walker = walker
        .issues
        .keys()
        .filter(|id| !engine.issues.contains_key(*id))
        .count();
    if only_walker > 0 {
        diff_parts.insert("missing from the engine", only_walker as u64);
    }
    if !diff_parts.is_empty() {
        notes.push(format!("issues differing, by part: {diff_parts:?}"));
    }
    let mut engine_counts: BTreeMap<&str, u64> = BTreeMap::new();
    for (k, v) in &engine.counts {
        engine_counts.insert(k.as_str(), *v);
    }
    engine_counts.insert("issuesWithWatchers", engine.with_watchers);
    engine_counts.insert("issuesWithVotes", engine.with_votes);
    engine_counts.insert("issues", engine.issues.len() as u64);
    let mut counts_ok = true;
    notes.push(format!(
        "{:<20} {:>9} {:>9} {:>12}",
        "count", "engine", "walker", "ground truth"
    ));
    for k in [
        "issues",
        "comments",
        "worklogs",
        "changelogs",
        "remoteLinks",
        "issuesWithWatchers",
        "issuesWithVotes",
        "issueProperties",
    ] {
        let (e, w, t) = (
            engine_counts.get(k).copied().unwrap_or(0),
            walker.counts.get(k).copied().unwrap_or(0),
            truth.get(k).copied().unwrap_or(0),
        );
        counts_ok &= e == w && w == t;
        notes.push(format!("{k:<20} {e:>9} {w:>9} {t:>12}"));
    }
    let n = engine.issues.len().max(walker.issues.len()) as u64;
    let ok = counts_ok && diff_parts.is_empty() && identical == n && n > 0;
    (
        ok,
        format!("{identical}/{n} issues identical, counts equal: {counts_ok}"),
        notes,
    )
}

/// Figure 1; returns the engine's requests for the whole Basic snapshot.
async fn figure1(args: &Args, work: &Path, rows: &mut Vec<Row>) -> u64 {
    println!("\n# 1. Requests per 1,000 issues: Basic snapshot of the medium site");
    let s = sim::start(SimConfig {
        size: Size::Medium,
        ..SimConfig::default()
    })
    .await
    .expect("start the simulator");
    let truth = s.site.counts();
    let c = bench::client(&s.base_url, None);
    bench::reset_requests(&s.base_url).await;
    let (engine, t_engine) = bench::engine_walk(&c, SnapshotKind::Basic, work)
        .await
        .expect("the engine's walk");
    let by_route = bench::requests(&s.base_url).await;
    let e_req: u64 = by_route.values().sum();
    println!(
        "engine: {} issues, {e_req} requests in {}",
        engine.issues.len(),
        secs(t_engine)
    );
    for (route, n) in by_route.iter().filter(|(_, n)| **n >= 100) {
        println!("  {n:>7}  {route}");
    }
    bench::reset_requests(&s.base_url).await;
    let wc = bench::client(&s.base_url, Some(args.walker_concurrency));
    let t = Instant::now();
    let ids = per_issue::issue_ids(&wc, None)
        .await
        .expect("the walker's search");
    let walker = per_issue::walk_issues(&wc, &ids, args.walker_concurrency)
        .await
        .expect("the per-issue walk");
    let w_req = bench::total_requests(&s.base_url).await;
    println!(
        "per-issue walker ({} in flight): {} issues, {w_req} requests in {}",
        args.walker_concurrency,
        walker.issues.len(),
        secs(t.elapsed())
    );
    let issues = engine.issues.len().max(1) as f64;
    let (e_per, w_per) = (
        e_req as f64 * 1000.0 / issues,
        w_req as f64 * 1000.0 / walker.issues.len().max(1) as f64,
    );
    let ratio = e_per / w_per;
    let (same, summary, notes) = compare(&engine, &walker, &truth);
    for n in notes {
        println!("  {n}");
    }
    rows.push(Row::new(
        "1. per-issue walker: requests / 1,000 issues",
        format!("{w_per:.0}"),
        "(yardstick)",
        None,
    ));
    rows.push(Row::new(
        "1. engine Basic: requests / 1,000 issues",
        format!("{e_per:.0} ({:.1} % of the walker)", ratio * 100.0),
        "≤ 40 % of the walker",
        Some(ratio <= 0.40),
    ));
    rows.push(Row::new(
        "1. same content, engine vs walker",
        summary,
        "identical",
        Some(same),
    ));
    e_req
}

/// Figure 2: the engine under a burst limit against the floor and the sequential walker.
async fn figure2(args: &Args, work: &Path, engine_requests: Option<u64>, rows: &mut Vec<Row>) {
    let (r, l) = (args.rate, args.latency_ms);
    println!(
        "\n# 2. Medium site, burst limit {r} requests/s, {l} ms latency per answer: Basic snapshot"
    );
    let s = sim::start(SimConfig {
        size: Size::Medium,
        rate_limit: Some(r),
        faults: Faults {
            slow_ms: l,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("start the simulator");
    bench::reset_requests(&s.base_url).await;
    let c = bench::client(&s.base_url, None);
    let out = work.join("figure2");
    std::fs::create_dir_all(&out).expect("a folder");
    let (path, t_engine, _) = bench::engine_snapshot(&c, SnapshotKind::Basic, &out)
        .await
        .expect("the engine's snapshot");
    let sent = bench::total_requests(&s.base_url).await;
    let needed = engine_requests.unwrap_or(sent);
    let floor = Duration::from_secs_f64(needed as f64 / r as f64);
    println!(
        "engine: {} for {needed} requests ({} sent, {} of them answered 429); floor {}; \
         concurrency limit at the end {}",
        secs(t_engine),
        sent,
        sent.saturating_sub(needed),
        secs(floor),
        c.throttle().limit()
    );
    let _ = std::fs::remove_file(path);
    // Let the bucket refill, then the sequential walker on a deterministic prefix.
    tokio::time::sleep(Duration::from_secs(2)).await;
    bench::reset_requests(&s.base_url).await;
    let wc = bench::client(&s.base_url, Some(1));
    let t = Instant::now();
    let ids = per_issue::issue_ids(&wc, Some(args.seq_issues))
        .await
        .expect("the walker's search");
    let walked = per_issue::walk_issues(&wc, &ids, 1)
        .await
        .expect("the sequential walk");
    let t_seq = t.elapsed();
    let seq_req = bench::total_requests(&s.base_url).await;
    let total_issues = s.site.counts()["issues"];
    let per_issue_time = t_seq.as_secs_f64() / walked.issues.len().max(1) as f64;
    let extrapolated = Duration::from_secs_f64(per_issue_time * total_issues as f64);
    println!(
        "sequential walker: first {} issues (ids {}…{}) in {} with {seq_req} requests \
         ({:.1} ms per issue); extrapolated to all {total_issues} issues: {}",
        walked.issues.len(),
        ids.first().map_or("-", String::as_str),
        ids.last().map_or("-", String::as_str),
        secs(t_seq),
        per_issue_time * 1000.0,
        secs(extrapolated)
    );
    let vs_floor = t_engine.as_secs_f64() / floor.as_secs_f64();
    let speedup = extrapolated.as_secs_f64() / t_engine.as_secs_f64();
    rows.push(Row::new(
        "2. engine Basic time vs floor (requests ÷ R)",
        format!(
            "{} vs {} = {vs_floor:.2}× (R = {r}/s, {l} ms latency)",
            secs(t_engine),
            secs(floor)
        ),
        "≤ 1.3× floor",
        Some(vs_floor <= 1.3),
    ));
    rows.push(Row::new(
        "2. engine vs sequential walker",
        format!(
            "{speedup:.1}× faster (walker {} extrapolated from the first {} issues)",
            secs(extrapolated),
            walked.issues.len()
        ),
        "≥ 5× faster",
        Some(speedup >= 5.0),
    ));
}

/// Figure 3: attachment throughput of an Extended snapshot against `curl --parallel`.
/// Dirty pages left by one side slow the other while the kernel writes them back, so each
/// side starts after a `sync`, the sides alternate, and the figure is the median of the
/// rounds' ratios (a slow spell of the machine's disk hits both runs of a round). Nothing is
/// deleted until the end: ext4 skips inodes freed in the last minute, and creating 2,000 files
/// just after deleting 2,000 cost curl half its speed.
async fn figure3(args: &Args, work: &Path, rows: &mut Vec<Row>) {
    let concurrency = WalkOptions::new(SnapshotKind::Extended, work.to_path_buf())
        .fan_out
        .min(ThrottleOptions::default().max);
    println!(
        "\n# 3. Attachment throughput: Extended snapshot of the medium site vs curl --parallel-max {concurrency}, {} rounds",
        args.rounds
    );
    let s = sim::start(SimConfig {
        size: Size::Medium,
        ..SimConfig::default()
    })
    .await
    .expect("start the simulator");
    let c = bench::client(&s.base_url, None);
    // The same URLs for curl, written to files as a script would.
    let mut config = String::new();
    let mut expected = 0u64;
    for id in s.site.issue_ids() {
        for a in s.site.attachments(&id).unwrap_or_default() {
            config.push_str(&format!(
                "url = \"{}/rest/api/3/attachment/content/{}?redirect=false\"\noutput = \"{}\"\n",
                s.base_url, a.id, a.id
            ));
            expected += a.size;
        }
    }
    let cfg = work.join("curl.cfg");
    std::fs::write(&cfg, config).expect("the curl config");
    let (mut engine_rates, mut curl_rates) = (Vec::new(), Vec::new());
    let mut all_ok = true;
    for round in 1..=args.rounds.max(1) {
        sync_disks();
        let out = work.join(format!("figure3-{round}"));
        std::fs::create_dir_all(&out).expect("a folder");
        let (path, t_all, timing) = bench::engine_snapshot(&c, SnapshotKind::Extended, &out)
            .await
            .expect("the engine's Extended snapshot");
        let zip_size = std::fs::metadata(&path).map_or(0, |m| m.len());
        let (e_bytes, e_time) = timing.rate().expect("the attachment phase ran");
        let e_rate = e_bytes as f64 / e_time.as_secs_f64();
        println!(
            "round {round} engine: snapshot in {} ({:.0} MiB ZIP); attachment phase {:.0} MiB in {} = {:.1} MiB/s",
            secs(t_all),
            mib(zip_size),
            mib(e_bytes),
            secs(e_time),
            mib(e_rate as u64)
        );
        engine_rates.push(e_rate);

        sync_disks();
        let dl = work.join(format!("curl-{round}"));
        std::fs::create_dir_all(&dl).expect("a folder");
        let t = Instant::now();
        let status = tokio::process::Command::new("curl")
            .args(["--parallel", "--parallel-max", &concurrency.to_string()])
            .args(["--silent", "--show-error", "--fail", "--no-progress-meter"])
            .args(["-u", &format!("{}:{}", sim::ADMIN_EMAIL, sim::ADMIN_TOKEN)])
            .arg("--config")
            .arg(&cfg)
            .current_dir(&dl)
            .status()
            .await
            .expect("run curl (make bench installs it)");
        let t_curl = t.elapsed();
        let got: u64 = std::fs::read_dir(&dl)
            .expect("curl's folder")
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        let c_rate = got as f64 / t_curl.as_secs_f64();
        all_ok &= status.success() && got == expected;
        println!(
            "round {round} curl:   {:.0} MiB in {} = {:.1} MiB/s ({status}; {:.0} MiB expected)",
            mib(got),
            secs(t_curl),
            mib(c_rate as u64),
            mib(expected)
        );
        curl_rates.push(c_rate);
    }
    for round in 1..=args.rounds.max(1) {
        let _ = std::fs::remove_dir_all(work.join(format!("figure3-{round}")));
        let _ = std::fs::remove_dir_all(work.join(format!("curl-{round}")));
    }
    let mut ratios: Vec<f64> = engine_rates
        .iter()
        .zip(&curl_rates)
        .map(|(e, c)| e / c)
        .collect();
    let ratio = median(&mut ratios);
    let (e_rate, c_rate) = (median(&mut engine_rates), median(&mut curl_rates));
    rows.push(Row::new(
        "3. Extended attachment throughput vs curl",
        format!(
            "{:.1} vs {:.1} MiB/s, ratio {ratio:.2}× (C = {concurrency}, medians of {} rounds)",
            mib(e_rate as u64),
            mib(c_rate as u64),
            engine_rates.len()
        ),
        "≥ 0.9× curl --parallel",
        Some(ratio >= 0.9 && all_ok),
    ));
}

/// Writes dirty pages back so the next measured run does not pay for the previous one's.
fn sync_disks() {
    let _ = std::process::Command::new("sync").status();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Figure 4: the CLI's peak RSS on the large site.
fn figure4(args: &Args, work: &Path, rows: &mut Vec<Row>) {
    println!("\n# 4. Peak RSS: backup-center-cli Extended snapshot of the large site");
    let (sim_bin, cli) = (
        args.bin_dir.join("jira-sim"),
        args.bin_dir.join("backup-center-cli"),
    );
    let s = rss::start_sim(&sim_bin, &["--size", "large", "--seed", "42"])
        .unwrap_or_else(|e| panic!("start {}: {e}", sim_bin.display()));
    let out = work.join("figure4");
    std::fs::create_dir_all(&out).expect("a folder");
    let log = work.join("figure4-cli.log");
    let run = rss::run_cli(&cli, &s.base_url, &out, &log)
        .unwrap_or_else(|e| panic!("run {}: {e}", cli.display()));
    let zip_size: u64 = std::fs::read_dir(&out)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    println!(
        "cli: {} in {} ({:.0} MiB written); peak RSS {:.1} MiB",
        if run.success { "succeeded" } else { "FAILED" },
        secs(run.elapsed),
        mib(zip_size),
        mib(run.peak_rss)
    );
    if !run.success {
        if let Ok(l) = std::fs::read_to_string(&log) {
            println!(
                "{}",
                l.lines().rev().take(20).collect::<Vec<_>>().join("\n")
            );
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    let limit = 80 * 1000 * 1000;
    rows.push(Row::new(
        "4. CLI peak RSS, Extended, large site",
        format!(
            "{:.1} MB ({:.1} MiB) in {}",
            run.peak_rss as f64 / 1e6,
            mib(run.peak_rss),
            secs(run.elapsed)
        ),
        "≤ 80 MB",
        Some(run.success && run.peak_rss <= limit),
    ));
}
