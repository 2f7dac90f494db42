//! Reaching the server: name resolution, the control connection with its timeouts, TLS
//! (explicit or implicit), login, binary mode and what the server offers.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use suppaftp::types::FileType;
use suppaftp::{FtpError, Mode, RustlsConnector, RustlsFtpStream, Status};

use super::reply::{self, Op, Server};
use super::tickets::Tickets;
use super::tls::{self, TlsClient};
use super::{set_timeouts, CertificateProbe, FtpDestination, FtpSecurity};
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::Sensitive;
use crate::storage::net;

/// The control connection. Plain FTP uses the same type and simply never starts TLS.
pub(super) type Control = RustlsFtpStream;

/// What `FEAT` told us (only what we use).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Features {
    pub mlsd: bool,
    pub size: bool,
    pub mdtm: bool,
}

/// A logged-in control connection in binary mode.
pub(super) struct LoggedIn {
    pub ftp: Control,
    pub server: Server,
    pub features: Features,
    /// The login folder as `PWD` gives it.
    pub home: String,
    /// FTPS: the TLS session cache, to tell when it ran out of tickets.
    pub tickets: Option<Arc<Tickets>>,
    /// Set while a data command the server may refuse is being opened.
    pub brief: Arc<AtomicBool>,
}

/// How long a data connection waits for the server until its command is accepted. Only a
/// refused command's connection ever waits: suppaftp drops it, and rustls then tries to
/// finish a TLS handshake the server never answers, for the whole I/O timeout otherwise.
pub(super) const BRIEF: Duration = Duration::from_millis(500);

type TlsSetup = Option<TlsClient>;

fn tls_setup(dest: &FtpDestination) -> Result<TlsSetup> {
    match dest.security {
        FtpSecurity::Plain => Ok(None),
        _ => tls::client_config(&dest.trust).map(Some),
    }
}

fn server_of(dest: &FtpDestination, tls: &TlsSetup) -> Server {
    Server {
        host_port: dest.host_port(),
        io_timeout: dest.timeouts.io,
        seen: tls.as_ref().map(|t| t.seen.clone()),
    }
}

/// The first address that accepts within the connect timeout, with our socket timeouts.
fn tcp(dest: &FtpDestination, server: &Server) -> Result<TcpStream> {
    let stream = net::connect(&dest.host, dest.port, dest.timeouts.connect, "FTP")?;
    set_timeouts(&stream, dest.timeouts.io)
        .map_err(|e| reply::io_failure(&e, Op::Connect, server))?;
    Ok(stream)
}

/// Connects and, for FTPS, completes the TLS handshake; not logged in yet.
/// `brief` set: a data connection opened now waits only [`BRIEF`] for the server (see
/// [`FtpSession::refusable`](super::session::FtpSession::refusable)).
fn control(
    dest: &FtpDestination,
    tls: &TlsSetup,
    server: &Server,
    brief: &Arc<AtomicBool>,
) -> Result<Control> {
    let connect_failed = |e: FtpError| reply::map(e, Op::Connect, &server.host_port, server);
    let ftp = match (dest.security, tls) {
        (FtpSecurity::ImplicitTls, Some(TlsClient { config, .. })) => {
            // suppaftp opens implicit connections itself, without timeouts: see first (within
            // ours) that the port answers, then let it connect to that address. Until its TLS
            // handshake and greeting are done, the OS's socket defaults apply.
            let addr = tcp(dest, server)?
                .peer_addr()
                .map_err(|e| reply::io_failure(&e, Op::Connect, server))?;
            let connector = RustlsConnector::from(config.clone());
            let ftp = Control::connect_secure_implicit(addr, connector, &dest.host)
                .map_err(connect_failed)?;
            set_timeouts(ftp.get_ref(), dest.timeouts.io)
                .map_err(|e| reply::io_failure(&e, Op::Connect, server))?;
            // Explicit TLS sends these itself; implicit needs them for encrypted data too.
            let mut ftp = ftp;
            for command in ["PBSZ 0", "PROT P"] {
                ftp.custom_command(command, &[Status::CommandOk])
                    .map_err(connect_failed)?;
            }
            ftp
        }
        (_, tls) => {
            let ftp = Control::connect_with_stream(tcp(dest, server)?).map_err(connect_failed)?;
            match tls {
                None => ftp,
                Some(TlsClient { config, seen, .. }) => {
                    // The handshake runs on our socket, with its timeouts already set.
                    let connector = RustlsConnector::from(config.clone());
                    ftp.into_secure(connector, &dest.host).map_err(|e| {
                        match (reply::code(&e), tls::last_fingerprint(seen)) {
                            // Refused before any certificate was seen: no TLS on offer.
                            (Some(code), None) => Error::new(
                                ErrorKind::Tls,
                                format!(
                                    "The FTP server {} does not offer FTPS (it answered \
                                     {code} to AUTH TLS). Enable TLS on the server, or choose \
                                     plain FTP only on a network you trust.",
                                    server.host_port
                                ),
                            )
                            .with_source(e),
                            _ => connect_failed(e),
                        }
                    })?
                }
            }
        }
    };
    let peer = ftp
        .get_ref()
        .peer_addr()
        .map_err(|e| reply::io_failure(&e, Op::Connect, server))?;
    let (connect, io) = (dest.timeouts.connect, dest.timeouts.io);
    let brief = Arc::clone(brief);
    let mut ftp = ftp.passive_stream_builder(move |addr| {
        let stream =
            TcpStream::connect_timeout(&addr, connect).map_err(FtpError::ConnectionError)?;
        set_timeouts(&stream, io).map_err(FtpError::ConnectionError)?;
        if brief.load(Ordering::Relaxed) {
            stream
                .set_read_timeout(Some(BRIEF))
                .map_err(FtpError::ConnectionError)?;
        }
        Ok(stream)
    });
    if peer.is_ipv6() {
        ftp.set_mode(Mode::ExtendedPassive);
    } else {
        // Data connections go to the control connection's address, whatever PASV names.
        ftp.set_passive_nat_workaround(true);
    }
    Ok(ftp)
}

/// Connects, logs in, switches to binary mode and reads `FEAT` and `PWD`.
pub(super) fn login(dest: &FtpDestination, password: &Sensitive<String>) -> Result<LoggedIn> {
    let tls = tls_setup(dest)?;
    let server = server_of(dest, &tls);
    let brief = Arc::new(AtomicBool::new(false));
    let mut ftp = control(dest, &tls, &server, &brief)?;
    let what = dest.url("");
    let failed = |e: FtpError, op: Op| reply::map(e, op, &what, &server);
    ftp.login(dest.username.as_str(), password.expose().as_str())
        .map_err(|e| failed(e, Op::Login))?;
    // suppaftp starts in ASCII mode, where servers rewrite line ends: never transfer in it.
    ftp.transfer_type(FileType::Binary)
        .map_err(|e| failed(e, Op::Connect))?;
    let offered = ftp.feat().unwrap_or_default();
    let has = |name: &str| offered.keys().any(|k| k.eq_ignore_ascii_case(name));
    let features = Features {
        mlsd: has("MLST") || has("MLSD"),
        size: has("SIZE"),
        mdtm: has("MDTM"),
    };
    if has("UTF8") {
        // Some servers (IIS, FileZilla) only take UTF-8 names after this; others ignore it.
        let _ = ftp.opts("UTF8", Some("ON"));
    }
    let home = ftp.pwd().map_err(|e| failed(e, Op::Connect))?;
    Ok(LoggedIn {
        ftp,
        server,
        features,
        // RFC 959 doubles a quote inside the quoted folder name.
        home: home.replace("\"\"", "\""),
        tickets: tls.map(|t| t.tickets),
        brief,
    })
}

pub(super) fn probe_certificate(dest: &FtpDestination) -> Result<CertificateProbe> {
    let tls = tls_setup(dest)?;
    let server = server_of(dest, &tls);
    let seen = tls
        .as_ref()
        .map(|t| t.seen.clone())
        .ok_or_else(|| Error::internal("no TLS"))?;
    let outcome = control(dest, &tls, &server, &Arc::default());
    let trusted = match outcome {
        Ok(mut ftp) => {
            let _ = ftp.quit();
            true
        }
        // The handshake reached the certificate and refused it.
        Err(e) if e.kind == ErrorKind::Tls && tls::last_fingerprint(&seen).is_some() => false,
        Err(e) => return Err(e),
    };
    let fingerprint = tls::last_fingerprint(&seen)
        .ok_or_else(|| Error::internal("The server completed TLS without a certificate."))?;
    Ok(CertificateProbe {
        fingerprint,
        trusted,
    })
}
