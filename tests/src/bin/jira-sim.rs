//! `jira-sim`: the Jira Cloud simulator as a program, for demos and manual testing.
//!
//! `jira-sim [--port PORT]` serves on 127.0.0.1 (port 0 = any free port) and prints the
//! address and the demo accounts.

use bc_tests::sim::{self, SimConfig};

fn usage() -> ! {
    eprintln!("usage: jira-sim [--port PORT]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut port: u16 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "-h" | "--help" => usage(),
            other => {
                eprintln!("jira-sim: unknown argument {other:?}");
                usage()
            }
        }
    }
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("jira-sim: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    let config = SimConfig::default();
    println!("jira-sim listening on http://{addr}");
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
    if let Err(e) = sim::serve(listener, config).await {
        eprintln!("jira-sim: {e}");
        std::process::exit(1);
    }
}
