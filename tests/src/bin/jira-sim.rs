//! `jira-sim`: the Jira Cloud simulator as a program, for demos and manual testing.
//!
//! Serves a synthetic site on 127.0.0.1 (port 0 = any free port), attachment content on a
//! second "media" port, and prints both addresses and the demo accounts.

use bc_tests::sim::{self, SimConfig, Size};

const USAGE: &str = "usage: jira-sim [--port PORT] [--media-port PORT] [--seed N] \
[--size tiny|small|medium|large] [--rate-limit N] [--fail-rate F] [--reset-rate F] \
[--slow-ms MS] [--vanish-issue]";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn value<T: std::str::FromStr>(args: &mut impl Iterator<Item = String>) -> T {
    args.next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| usage())
}

async fn bind(port: u16) -> tokio::net::TcpListener {
    match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("jira-sim: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    }
}

#[tokio::main]
async fn main() {
    let mut port: u16 = 0;
    let mut media_port: u16 = 0;
    let mut config = SimConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = value(&mut args),
            "--media-port" => media_port = value(&mut args),
            "--seed" => config.seed = value(&mut args),
            "--size" => config.size = value::<Size>(&mut args),
            "--rate-limit" => config.rate_limit = Some(value(&mut args)),
            "--fail-rate" => config.faults.fail_rate = value(&mut args),
            "--reset-rate" => config.faults.reset_rate = value(&mut args),
            "--slow-ms" => config.faults.slow_ms = value(&mut args),
            "--vanish-issue" => config.faults.vanish_issue = true,
            "-h" | "--help" => usage(),
            other => {
                eprintln!("jira-sim: unknown argument {other:?}");
                usage()
            }
        }
    }
    let listener = bind(port).await;
    let media = bind(media_port).await;
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    let media_addr = media.local_addr().expect("bound listener has an address");
    println!("jira-sim listening on http://{addr}");
    println!("media origin on http://{media_addr}");
    println!(
        "site: seed {} size {:?}; control API under http://{addr}/_sim/",
        config.seed, config.size
    );
    for u in &config.users {
        println!(
            "  {} / {}  ({}{})",
            u.email,
            u.token,
            if u.admin { "Jira admin" } else { "not admin" },
            if u.jira_access {
                ""
            } else {
                ", no Jira access"
            }
        );
    }
    if let Err(e) = sim::serve_with_media(listener, Some(media), config).await {
        eprintln!("jira-sim: {e}");
        std::process::exit(1);
    }
}
