//! Connecting: TCP with a timeout, the SSH handshake, the host key check, the login, SFTP.

use std::time::Duration;

use ssh2::ErrorCode;

use super::errors::{self, Peer};
use super::hostkey::{self, HostKeyInfo};
use super::session::SftpSession;
use super::{SftpAuth, SftpDestination};
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::{SecretKey, SecretStore, Sensitive};
use crate::storage::net::{self, seconds};

/// TCP connection and SSH handshake, no login: the live session and the server's host key.
pub(super) fn handshake(dest: &SftpDestination) -> Result<(ssh2::Session, HostKeyInfo)> {
    let timeout = dest.timeouts.connect;
    let tcp = net::connect(&dest.host, dest.port, timeout, "SSH")?;
    // Small SFTP requests (stat, rename) must not wait for Nagle's algorithm.
    let _ = tcp.set_nodelay(true);
    let mut ssh = ssh2::Session::new()
        .map_err(|e| Error::internal("The SSH library could not be initialised.").with_source(e))?;
    ssh.set_timeout(millis(timeout));
    ssh.set_tcp_stream(tcp);
    let shown = net::host_port(&dest.host, dest.port);
    ssh.handshake()
        .map_err(|e| handshake_error(e, &shown, timeout))?;
    let key = ssh
        .host_key()
        .map(|(blob, _)| HostKeyInfo::from_blob(blob))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Tls,
                format!("Connection to storage failed: {shown} sent no host key."),
            )
        })?;
    Ok((ssh, key))
}

/// The whole way to a usable session. The host key is checked before a secret is read or
/// sent.
pub(super) fn connect(dest: &SftpDestination, secrets: &dyn SecretStore) -> Result<SftpSession> {
    let (ssh, key) = handshake(dest)?;
    let peer = Peer {
        server: dest.server(),
        io_timeout: dest.timeouts.io,
    };
    hostkey::verify(dest.host_key.as_deref(), &key, &peer.server)?;
    ssh.set_timeout(millis(dest.timeouts.io));
    authenticate(&ssh, dest, secrets, &peer)?;
    let sftp = ssh.sftp().map_err(|e| subsystem_error(e, &peer))?;
    Ok(SftpSession::new(ssh, sftp, dest, peer))
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1)
}

fn handshake_error(e: ssh2::Error, shown: &str, timeout: Duration) -> Error {
    let (kind, why) = match e.code() {
        ErrorCode::Session(errors::TIMEOUT) => (
            ErrorKind::Timeout,
            format!(
                "{shown} accepted the connection but did not complete the SSH handshake within \
                 {}. Check that this is the port of an SSH server",
                seconds(timeout)
            ),
        ),
        ErrorCode::Session(
            errors::KEX_FAILURE
            | errors::KEY_EXCHANGE_FAILURE
            | errors::METHOD_NOT_SUPPORTED
            | errors::ALGO_UNSUPPORTED,
        ) => (
            ErrorKind::Tls,
            format!(
                "Backup Center and {shown} have no encryption method in common ({}). The \
                 server may be very old or restricted to unusual algorithms",
                e.message()
            ),
        ),
        _ => (
            ErrorKind::Unreachable,
            format!(
                "{shown} closed the connection during the SSH handshake ({}). Check that this \
                 is the port of an SSH server and that it accepts connections from this \
                 computer",
                e.message()
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

fn authenticate(
    ssh: &ssh2::Session,
    dest: &SftpDestination,
    secrets: &dyn SecretStore,
    peer: &Peer,
) -> Result<()> {
    let user = dest.username.as_str();
    let outcome = match &dest.auth {
        SftpAuth::Password => {
            let password = secret(secrets, &dest.password_key(), "password", peer)?;
            ssh.userauth_password(user, password.expose())
        }
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
            ssh.userauth_pubkey_file(
                user,
                None,
                path,
                passphrase.as_ref().map(|p| p.expose().as_str()),
            )
        }
    };
    match outcome {
        Ok(()) if ssh.authenticated() => Ok(()),
        Ok(()) => Err(auth_refused(dest, peer).with_context("server", peer.server.clone())),
        Err(e) => Err(auth_error(e, dest, peer)),
    }
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

fn auth_error(e: ssh2::Error, dest: &SftpDestination, peer: &Peer) -> Error {
    if errors::is_transport(&e) {
        return errors::transport_error(e, peer, "log in");
    }
    let error = match (e.code(), &dest.auth) {
        (ErrorCode::Session(errors::PASSWORD_EXPIRED), _) => Error::new(
            ErrorKind::StorageAuth,
            format!(
                "The password of {} on {} has expired. Change it on the server, then enter the \
                 new one in the destination's settings.",
                dest.username, peer.server
            ),
        ),
        (
            ErrorCode::Session(errors::FILE | errors::KEYFILE_AUTH_FAILED),
            SftpAuth::KeyFile {
                path,
                has_passphrase,
            },
        ) => {
            let passphrase = if *has_passphrase {
                "the passphrase in the keychain is wrong"
            } else {
                "it needs a passphrase (none is set)"
            };
            Error::new(
                ErrorKind::StorageAuth,
                format!(
                    "The private key file {} could not be unlocked: {passphrase}, or it is not \
                     a private key in a format Backup Center reads (OpenSSH, PEM or PKCS#8). \
                     Enter the key's passphrase again in the destination's settings.",
                    path.display()
                ),
            )
        }
        (ErrorCode::Session(errors::AUTHENTICATION_FAILED | errors::PUBLICKEY_UNVERIFIED), _) => {
            auth_refused(dest, peer)
        }
        _ => Error::new(
            ErrorKind::StorageAuth,
            format!(
                "Logging in to the SFTP server {} failed: {}.",
                peer.server,
                e.message()
            ),
        ),
    };
    error
        .with_context("server", peer.server.clone())
        .with_source(e)
}

fn subsystem_error(e: ssh2::Error, peer: &Peer) -> Error {
    if errors::is_transport(&e) {
        return errors::transport_error(e, peer, "start SFTP");
    }
    Error::new(
        ErrorKind::StoragePermission,
        format!(
            "The server {} accepted the login but does not offer SFTP to this user ({}). Ask \
             its administrator to enable the SFTP subsystem.",
            peer.server,
            e.message()
        ),
    )
    .with_source(e)
}
