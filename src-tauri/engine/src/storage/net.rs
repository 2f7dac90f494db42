//! TCP for the server destinations (FTP, SFTP): resolving the host, connecting within a
//! timeout, and what a failure at that stage means for the user. What follows the connection
//! (TLS, the SSH handshake, the login) is the protocol's own.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// `host:port` as messages show a server, with brackets around an IPv6 address.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A timeout as messages show it: "10 s", "1.5 s".
pub(crate) fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Resolves `host` and connects to the first of its addresses that accepts within `timeout`.
/// `server_kind` names the server the user should check is running ("FTP", "SSH").
///
/// # Errors
/// `Dns` when the name cannot be resolved; `Timeout` when no address accepts in time;
/// `Unreachable` when the connection is refused or there is no route.
pub(crate) fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
    server_kind: &str,
) -> Result<TcpStream> {
    let shown = host_port(host, port);
    let addrs: Vec<SocketAddr> = match (host, port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(e) => return Err(dns_error(host).with_source(e)),
    };
    if addrs.is_empty() {
        return Err(dns_error(host).with_context("detail", "no address".to_string()));
    }
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::NotConnected));
    Err(connect_error(&e, &shown, timeout, server_kind)
        .with_context("server", shown)
        .with_source(e))
}

fn dns_error(host: &str) -> Error {
    Error::new(
        ErrorKind::Dns,
        format!(
            "Connection to storage failed: the host name \"{host}\" could not be found. Check \
             its spelling, or use the server's IP address."
        ),
    )
    .with_context("host", host.to_string())
}

fn connect_error(e: &io::Error, shown: &str, timeout: Duration, server_kind: &str) -> Error {
    let (kind, why) = match e.kind() {
        io::ErrorKind::ConnectionRefused => (
            ErrorKind::Unreachable,
            format!(
                "{shown} refused the connection. Check the host name and the port, and that \
                 the {server_kind} server is running"
            ),
        ),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => (
            ErrorKind::Timeout,
            format!(
                "{shown} did not accept a connection within {}. Check the host name, the port \
                 and any firewall in between",
                seconds(timeout)
            ),
        ),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => (
            ErrorKind::Unreachable,
            format!(
                "{shown} cannot be reached from this computer (no route). Check the network \
                 connection"
            ),
        ),
        _ => (
            ErrorKind::Unreachable,
            format!("{shown} cannot be reached ({e}). Check the network and the host name"),
        ),
    };
    Error::new(kind, format!("Connection to storage failed: {why}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_timeouts_are_shown_briefly() {
        assert_eq!(host_port("nas", 21), "nas:21");
        assert_eq!(host_port("::1", 22), "[::1]:22");
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn a_refused_connection_names_the_server_to_check() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let e = connect("127.0.0.1", port, Duration::from_secs(2), "SSH").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
        assert_eq!(
            e.message(),
            format!(
                "Connection to storage failed: 127.0.0.1:{port} refused the connection. Check \
                 the host name and the port, and that the SSH server is running."
            )
        );
        assert!(e
            .context()
            .contains(&("server", format!("127.0.0.1:{port}"))));
    }

    #[test]
    fn an_unresolvable_name_is_a_dns_error() {
        // A label longer than 63 characters fails in the resolver itself: no query leaves.
        let host = format!("{}.invalid", "a".repeat(64));
        let e = connect(&host, 21, Duration::from_secs(2), "FTP").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Dns, "{e:?}");
        assert!(
            e.message().starts_with(&format!(
                "Connection to storage failed: the host name \"{host}\" could not be found."
            )),
            "{}",
            e.message()
        );
    }
}
