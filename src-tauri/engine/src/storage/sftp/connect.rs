//! Connecting: TCP with a timeout, the SSH handshake, the host key check, the login, SFTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client;
use russh::keys::{PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh_sftp::client::RawSftpSession;

use super::errors::Peer;
use super::hostkey::{self, HostKeyInfo};
use super::session::{Connection, Limits, SftpSession};
use super::{SftpAuth, SftpDestination};
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::{SecretKey, SecretStore, Sensitive};
use crate::storage::net::{self, seconds};

/// The russh side of a connection: remembers the host key the server presented and accepts it
/// only when it matches the pin. Comparing here, inside the handshake, means a refused key
/// ends the connection before the login starts.
pub(super) struct Client {
    pinned: Option<String>,
    seen: Arc<Mutex<Option<HostKeyInfo>>>,
    /// The cipher (and MAC, unless the cipher authenticates) negotiated for uploads.
    cipher: Arc<Mutex<String>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        // A host certificate is trusted by the key it certifies, as `ssh-keygen -lf` shows it.
        let blob = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.to_bytes()?,
            PublicKeyOrCertificate::Certificate(cert) => {
                PublicKey::from(cert.public_key().clone()).to_bytes()?
            }
        };
        let info = HostKeyInfo::from_blob(&blob);
        // The one rule (hostkey::verify); the refusal's message is made again by `connect`.
        let trusted = hostkey::verify(self.pinned.as_deref(), &info, "").is_ok();
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(info);
        Ok(trusted)
    }

    async fn kex_done(
        &mut self,
        _secret: Option<&[u8]>,
        names: &russh::Names,
        _session: &mut client::Session,
    ) -> std::result::Result<(), Self::Error> {
        let cipher = names.cipher.as_ref();
        let shown = if cipher.contains("gcm") || cipher.contains("poly1305") {
            cipher.to_string()
        } else {
            format!("{cipher}/{}", names.client_mac.as_ref())
        };
        *self.cipher.lock().unwrap_or_else(|e| e.into_inner()) = shown;
        Ok(())
    }
}

/// A session's own runtime: one worker thread runs russh (encryption, the socket) while the
/// calling thread reads the backup and frames SFTP requests, as OpenSSH's `sftp` + `ssh`
/// pair splits the work. Callers of [`crate::storage::Session`] are synchronous (a blocking
/// thread per upload), so each call enters this runtime with `block_on`.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sftp")
        .enable_all()
        .build()
        .map_err(|e| {
            Error::internal("The SFTP connection could not start a thread.").with_source(e)
        })
}

/// AES-GCM first: ring runs it on the CPU's AES instructions, and it costs both ends less per
/// byte than ChaCha20-Poly1305 (OpenSSH's own first choice), which matters on a NAS.
const CIPHERS: &[russh::cipher::Name] = &[
    russh::cipher::AES_128_GCM,
    russh::cipher::AES_256_GCM,
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_192_CTR,
    russh::cipher::AES_128_CTR,
];

/// What connecting found: the live connection, its runtime, and the key the server presented.
pub(super) struct Handshake {
    pub rt: tokio::runtime::Runtime,
    pub ssh: client::Handle<Client>,
    pub key: HostKeyInfo,
    pub cipher: Arc<Mutex<String>>,
}

/// TCP connection and SSH handshake, no login. With `pinned` unset (or not matching) the
/// server's key is still returned, in the error's place: see [`handshake_or_key`].
fn handshake_or_key(
    dest: &SftpDestination,
    pinned: Option<&str>,
) -> Result<std::result::Result<Handshake, HostKeyInfo>> {
    let timeout = dest.timeouts.connect;
    let tcp = net::connect(&dest.host, dest.port, timeout, "SSH")?;
    // Small SFTP requests (stat, rename) must not wait for Nagle's algorithm.
    let _ = tcp.set_nodelay(true);
    let shown = net::host_port(&dest.host, dest.port);
    let rt = runtime()?;
    let seen = Arc::new(Mutex::new(None));
    let cipher = Arc::new(Mutex::new(String::new()));
    let handler = Client {
        pinned: pinned.map(str::to_string),
        seen: Arc::clone(&seen),
        cipher: Arc::clone(&cipher),
    };
    let config = Arc::new(client::Config {
        // The SFTP timeouts are ours (per request); russh needs none of its own.
        inactivity_timeout: None,
        nodelay: true,
        preferred: russh::Preferred {
            cipher: std::borrow::Cow::Borrowed(CIPHERS),
            ..russh::Preferred::default()
        },
        ..client::Config::default()
    });
    let connected = rt.block_on(async {
        tcp.set_nonblocking(true)?;
        let tcp = tokio::net::TcpStream::from_std(tcp)?;
        tokio::time::timeout(timeout, client::connect_stream(config, tcp, handler))
            .await
            .map_err(|_| russh::Error::ConnectionTimeout)?
    });
    let key = seen.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (connected, key) {
        (Ok(ssh), Some(key)) => Ok(Ok(Handshake {
            rt,
            ssh,
            key,
            cipher,
        })),
        (Err(russh::Error::UnknownKey), Some(key)) => Ok(Err(key)),
        (Ok(_), None) => Err(Error::new(
            ErrorKind::Tls,
            format!("Connection to storage failed: {shown} sent no host key."),
        )),
        (Err(e), _) => Err(handshake_error(e, &shown, timeout)),
    }
}

/// The server's host key, for the dialog that asks the user to trust it. Nothing secret is
/// read or sent: the handshake stops at the key.
pub(super) fn host_key(dest: &SftpDestination) -> Result<HostKeyInfo> {
    match handshake_or_key(dest, None)? {
        Ok(Handshake { rt, ssh, key, .. }) => {
            rt.block_on(disconnect(&ssh, Duration::from_secs(2)));
            Ok(key)
        }
        Err(key) => Ok(key),
    }
}

/// Says goodbye, waiting at most `wait`.
pub(super) async fn disconnect(ssh: &client::Handle<Client>, wait: Duration) {
    let bye = ssh.disconnect(
        russh::Disconnect::ByApplication,
        "Backup Center is done",
        "",
    );
    let _ = tokio::time::timeout(wait, bye).await;
}

/// The whole way to a usable session. The host key is checked before a secret is read or
/// sent.
pub(super) fn connect(dest: &SftpDestination, secrets: &dyn SecretStore) -> Result<SftpSession> {
    let peer = Peer {
        server: dest.server(),
        io_timeout: dest.timeouts.io,
    };
    let pinned = dest.host_key.as_deref();
    let Handshake {
        rt,
        mut ssh,
        cipher,
        ..
    } = match handshake_or_key(dest, pinned)? {
        Ok(connected) => connected,
        // Refused by the handler's check: the same check says why, naming the server.
        Err(key) => {
            return Err(hostkey::verify(pinned, &key, &peer.server)
                .err()
                .unwrap_or_else(|| Error::internal("A trusted host key was refused.")))
        }
    };
    let credential = credential(dest, secrets, &peer)?;
    let io = dest.timeouts.io;
    let user = dest.username.clone();
    let logged_in = rt
        .block_on(async { tokio::time::timeout(io, login(&mut ssh, user, credential)).await })
        .unwrap_or(Err(russh::Error::ConnectionTimeout));
    match logged_in {
        Ok(true) => {}
        Ok(false) => {
            return Err(auth_refused(dest, &peer).with_context("server", peer.server.clone()))
        }
        Err(e) => return Err(super::errors::transport_error(e.into(), &peer, "log in")),
    }
    let (sftp, limits) = rt
        .block_on(async { tokio::time::timeout(io, start_sftp(&ssh)).await })
        .unwrap_or(Err(russh::Error::ConnectionTimeout))
        .map_err(|e| subsystem_error(e, &peer))?;
    let cipher = cipher.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(SftpSession::new(
        Connection {
            rt,
            ssh,
            sftp,
            limits,
            cipher,
        },
        dest,
        peer,
    ))
}

/// What the login proves the user with, read before the server is asked.
enum Credential {
    Password(Sensitive<String>),
    Key(Box<russh::keys::PrivateKey>),
}

fn credential(
    dest: &SftpDestination,
    secrets: &dyn SecretStore,
    peer: &Peer,
) -> Result<Credential> {
    match &dest.auth {
        SftpAuth::Password => Ok(Credential::Password(secret(
            secrets,
            &dest.password_key(),
            "password",
            peer,
        )?)),
        SftpAuth::KeyFile {
            path,
            has_passphrase,
        } => {
            if let Err(e) = std::fs::File::open(path) {
                return Err(Error::new(
                    ErrorKind::StorageAuth,
                    format!(
                        "The private key file {} cannot be read ({e}). Choose the key file \
                         again in the destination's settings.",
                        path.display()
                    ),
                )
                .with_source(e));
            }
            let passphrase = if *has_passphrase {
                Some(secret(
                    secrets,
                    &dest.passphrase_key(),
                    "key passphrase",
                    peer,
                )?)
            } else {
                None
            };
            russh::keys::load_secret_key(path, passphrase.as_ref().map(|p| p.expose().as_str()))
                .map(|key| Credential::Key(Box::new(key)))
                .map_err(|e| key_file_error(e, path, *has_passphrase))
        }
    }
}

/// Whether the server accepted the credential.
async fn login(
    ssh: &mut client::Handle<Client>,
    user: String,
    credential: Credential,
) -> std::result::Result<bool, russh::Error> {
    let result = match credential {
        Credential::Password(password) => {
            ssh.authenticate_password(user, password.expose().as_str())
                .await?
        }
        Credential::Key(key) => {
            let hash = if key.algorithm().is_rsa() {
                // A server that does not list its RSA signatures gets SHA-256 (OpenSSH has
                // taken it since 7.2; SHA-1 is refused by default since 8.8).
                ssh.best_supported_rsa_hash()
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(Some(russh::keys::HashAlg::Sha256))
            } else {
                None
            };
            let key = PrivateKeyWithHashAlg::new(Arc::new(*key), hash);
            ssh.authenticate_publickey(user, key).await?
        }
    };
    Ok(result.success())
}

/// Opens the SFTP channel and learns what the server offers.
async fn start_sftp(
    ssh: &client::Handle<Client>,
) -> std::result::Result<(RawSftpSession, Limits), russh::Error> {
    let channel = ssh.channel_open_session().await?;
    channel.request_subsystem(true, "sftp").await?;
    let sftp = RawSftpSession::new(channel.into_stream());
    // Timeouts are ours (see `SftpSession::wait`): a long one here never fires first.
    sftp.set_timeout(24 * 3600);
    let version = sftp.init().await.map_err(sftp_start_error)?;
    let offered = |name: &str| version.extensions.contains_key(name);
    let mut limits = Limits {
        fsync: offered(russh_sftp::extensions::FSYNC),
        statvfs: offered(russh_sftp::extensions::STATVFS),
        ..Limits::default()
    };
    if offered(russh_sftp::extensions::LIMITS) {
        if let Ok(l) = sftp.limits().await {
            limits = limits.with_server_limits(l.max_read_len, l.max_write_len);
        }
    }
    Ok((sftp, limits))
}

fn sftp_start_error(e: russh_sftp::client::error::Error) -> russh::Error {
    russh::Error::IO(std::io::Error::other(e.to_string()))
}

fn handshake_error(e: russh::Error, shown: &str, timeout: Duration) -> Error {
    let (kind, why) = match &e {
        russh::Error::ConnectionTimeout | russh::Error::Elapsed(_) => (
            ErrorKind::Timeout,
            format!(
                "{shown} accepted the connection but did not complete the SSH handshake within \
                 {}. Check that this is the port of an SSH server",
                seconds(timeout)
            ),
        ),
        russh::Error::NoCommonAlgo { .. }
        | russh::Error::UnknownAlgo
        | russh::Error::Kex
        | russh::Error::KexInit => (
            ErrorKind::Tls,
            format!(
                "Backup Center and {shown} have no encryption method in common ({e}). The \
                 server may be very old or restricted to unusual algorithms"
            ),
        ),
        russh::Error::WrongServerSig => (
            ErrorKind::Tls,
            format!(
                "{shown} could not prove it holds its host key (a wrong signature in the key \
                 exchange). This can be an attack on the connection"
            ),
        ),
        _ => (
            ErrorKind::Unreachable,
            format!(
                "{shown} closed the connection during the SSH handshake ({e}). Check that this \
                 is the port of an SSH server and that it accepts connections from this \
                 computer"
            ),
        ),
    };
    Error::new(kind, format!("Connection to storage failed: {why}."))
        .with_context("server", shown.to_string())
        .with_source(e)
}

fn secret(
    secrets: &dyn SecretStore,
    key: &SecretKey,
    what: &str,
    peer: &Peer,
) -> Result<Sensitive<String>> {
    secrets.get(key)?.ok_or_else(|| {
        Error::new(
            ErrorKind::SecretMissing,
            format!(
                "The {what} for the SFTP destination {} is not in the system keychain. Enter it \
                 again in the destination's settings.",
                peer.server
            ),
        )
    })
}

fn key_file_error(e: russh::keys::Error, path: &std::path::Path, has_passphrase: bool) -> Error {
    let why = match (&e, has_passphrase) {
        (russh::keys::Error::KeyIsEncrypted, false) => "it needs a passphrase (none is set)",
        (_, true) => "the passphrase in the keychain is wrong",
        (_, false) => "it is damaged",
    };
    Error::new(
        ErrorKind::StorageAuth,
        format!(
            "The private key file {} could not be unlocked: {why}, or it is not a private key \
             in a format Backup Center reads (OpenSSH, PEM or PKCS#8). Enter the key's \
             passphrase again in the destination's settings.",
            path.display()
        ),
    )
    .with_source(e)
}

fn auth_refused(dest: &SftpDestination, peer: &Peer) -> Error {
    let message = match &dest.auth {
        SftpAuth::Password => format!(
            "The SFTP server {} refused the password for {}. Check the user name and password \
             in the destination's settings.",
            peer.server, dest.username
        ),
        SftpAuth::KeyFile { path, .. } => format!(
            "The SFTP server {} refused the key {} for {}. Check the user name, and that the \
             key's public half is in that user's authorized_keys on the server.",
            peer.server,
            path.display(),
            dest.username
        ),
    };
    Error::new(ErrorKind::StorageAuth, message)
}

fn subsystem_error(e: russh::Error, peer: &Peer) -> Error {
    match e {
        russh::Error::ChannelOpenFailure(_) | russh::Error::RequestDenied => Error::new(
            ErrorKind::StoragePermission,
            format!(
                "The server {} accepted the login but does not offer SFTP to this user ({e}). \
                 Ask its administrator to enable the SFTP subsystem.",
                peer.server
            ),
        )
        .with_source(e),
        e => super::errors::transport_error(e.into(), peer, "start SFTP"),
    }
}
