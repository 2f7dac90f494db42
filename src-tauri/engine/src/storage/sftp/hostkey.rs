//! Trusting an SFTP server by its host key.
//!
//! SSH servers prove who they are with a host key. The first time a destination connects, its
//! key is unknown: [`verify`] refuses with the key's type and SHA-256 fingerprint, written as
//! `ssh-keygen -lf` prints it (`SHA256:` and unpadded base64), so the user can compare it with
//! what the server's administrator sees and trust it. The destination then keeps that
//! fingerprint as its pin, and every later connection must present the same key: a changed key
//! is refused with a warning, never accepted silently. The check runs before any password or
//! key is sent.
//!
//! Refusals are [`ErrorKind::Tls`] ("the server's identity could not be verified"): a kind of
//! its own would change the IPC error codes the frontend is generated from. The fingerprint
//! travels in the error's context (`host_key_sha256`, `host_key_type`) for the log, and the
//! trust dialog gets it from [`super::SftpDestination::host_key`].

use crate::checksum::Sha256;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

use crate::error::{Error, ErrorKind, Result};

const PREFIX: &str = "SHA256:";

/// A server's host key as the user is asked to trust it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyInfo {
    /// The key's algorithm as SSH names it: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`.
    pub algorithm: String,
    /// The type as `ssh-keygen -lf` shows it in parentheses: `ED25519`, `ECDSA`, `RSA`, `DSA`.
    pub key_type: String,
    /// `SHA256:` and the unpadded base64 of the SHA-256 of the key, as `ssh-keygen -lf`
    /// prints it.
    pub sha256: String,
}

impl HostKeyInfo {
    /// The fingerprint of a host key in SSH wire format (what the server sends during the
    /// handshake, and what the base64 part of a `.pub` file decodes to).
    pub fn from_blob(blob: &[u8]) -> Self {
        let algorithm = algorithm_of(blob).unwrap_or("unknown").to_string();
        Self {
            key_type: key_type_of(&algorithm),
            sha256: format!("{PREFIX}{}", STANDARD_NO_PAD.encode(Sha256::digest(blob).0)),
            algorithm,
        }
    }
}

/// The algorithm name a key blob starts with (a length-prefixed string).
fn algorithm_of(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

fn key_type_of(algorithm: &str) -> String {
    match algorithm {
        "ssh-ed25519" => "ED25519".to_string(),
        "ssh-ed448" => "ED448".to_string(),
        "ssh-rsa" => "RSA".to_string(),
        "ssh-dss" => "DSA".to_string(),
        "sk-ssh-ed25519@openssh.com" => "ED25519-SK".to_string(),
        "sk-ecdsa-sha2-nistp256@openssh.com" => "ECDSA-SK".to_string(),
        a if a.starts_with("ecdsa-sha2-") => "ECDSA".to_string(),
        other => other.to_ascii_uppercase(),
    }
}

/// Checks a fingerprint the user pasted or the trust dialog stored, and writes it the one way
/// it is compared: `SHA256:` + unpadded base64. The `SHA256:` prefix and `=` padding are
/// optional on input.
///
/// # Errors
/// `InvalidInput` when it is not the base64 of 32 bytes (an MD5 `aa:bb:…` fingerprint included).
pub fn normalize_fingerprint(text: &str) -> Result<String> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix(PREFIX)
        .unwrap_or(trimmed)
        .trim_end_matches('=');
    let decoded = STANDARD_NO_PAD
        .decode(body)
        .or_else(|_| STANDARD.decode(body));
    match decoded {
        Ok(bytes) if bytes.len() == 32 => Ok(format!("{PREFIX}{body}")),
        _ => Err(Error::invalid_input(format!(
            "The host key fingerprint {trimmed:?} cannot be used: give it as `ssh-keygen -lf` \
             prints it, \"SHA256:\" followed by 43 characters."
        ))),
    }
}

/// Whether the server may be talked to: its key must match `pinned` (normalised with
/// [`normalize_fingerprint`]). `server` is how the user knows it ("backup@nas:22").
///
/// # Errors
/// `Tls` when nothing is pinned yet (the message shows the fingerprint to trust) or when the
/// key differs from the pin (the message warns of a possible man-in-the-middle attack).
pub fn verify(pinned: Option<&str>, key: &HostKeyInfo, server: &str) -> Result<()> {
    let HostKeyInfo {
        key_type, sha256, ..
    } = key;
    let error = match pinned {
        Some(pin) if pin == sha256 => return Ok(()),
        Some(pin) => Error::new(
            ErrorKind::Tls,
            format!(
                "The server's host key has changed: {server} now presents an {key_type} key \
                 with the fingerprint {sha256}, but the trusted key is {pin}. This is either a \
                 possible man-in-the-middle attack or a reinstalled server. Backup Center will \
                 not connect: confirm the new fingerprint with the server's administrator \
                 before you trust it."
            ),
        )
        .with_context("host_key", "changed")
        .with_context("trusted_host_key_sha256", pin.to_string()),
        None => Error::new(
            ErrorKind::Tls,
            format!(
                "The SFTP server {server} is not trusted yet. Its {key_type} host key has the \
                 fingerprint {sha256}. Compare it with the server's own (`ssh-keygen -lf` on \
                 the server's host key file prints it) and trust it to connect."
            ),
        )
        .with_context("host_key", "unknown"),
    };
    Err(error
        .with_context("host_key_sha256", sha256.clone())
        .with_context("host_key_type", key_type.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ed25519 public key as a `.pub` file holds it, and what `ssh-keygen -lf` printed for
    /// it: `256 SHA256:ly7ZUqLz07z4iVtOinaKygi9P1FN9Isms/MGUO7S9OY test (ED25519)`.
    const PUB_BASE64: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIGjireDtb5UOLAFbvKzcXjS4SjcnCOxvSU4Nv0/HICLI";
    const PUB_SHA256: &str = "SHA256:ly7ZUqLz07z4iVtOinaKygi9P1FN9Isms/MGUO7S9OY";

    fn key() -> HostKeyInfo {
        HostKeyInfo::from_blob(&STANDARD.decode(PUB_BASE64).unwrap())
    }

    #[test]
    fn fingerprints_are_written_as_ssh_keygen_prints_them() {
        let k = key();
        assert_eq!(k.algorithm, "ssh-ed25519");
        assert_eq!(k.key_type, "ED25519");
        assert_eq!(k.sha256, PUB_SHA256);
    }

    #[test]
    fn key_types_follow_ssh_keygen() {
        assert_eq!(key_type_of("ecdsa-sha2-nistp384"), "ECDSA");
        assert_eq!(key_type_of("ssh-rsa"), "RSA");
        assert_eq!(key_type_of("ssh-dss"), "DSA");
        assert_eq!(algorithm_of(&[0, 0, 0, 9, b'x']), None, "a truncated blob");
    }

    #[test]
    fn pins_are_normalised_and_bad_ones_refused() {
        let body = PUB_SHA256.strip_prefix(PREFIX).unwrap();
        for input in [
            PUB_SHA256.to_string(),
            body.to_string(),
            format!("  {PUB_SHA256}=  "),
        ] {
            assert_eq!(
                normalize_fingerprint(&input).unwrap(),
                PUB_SHA256,
                "{input:?}"
            );
        }
        for bad in [
            "",
            "SHA256:abc",
            "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48",
        ] {
            let e = normalize_fingerprint(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.message().contains("ssh-keygen -lf"), "{}", e.message());
        }
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_fingerprint() {
        let e = verify(None, &key(), "backup@nas:22").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Tls);
        assert!(!e.is_transient());
        assert!(
            e.message().contains(&format!(
                "ED25519 host key has the fingerprint {PUB_SHA256}"
            )),
            "{}",
            e.message()
        );
        assert!(e
            .context()
            .contains(&("host_key_sha256", PUB_SHA256.to_string())));
    }

    #[test]
    fn a_changed_key_is_refused_and_a_matching_one_accepted() {
        let other = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
        let e = verify(Some(other), &key(), "backup@nas:22").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Tls);
        assert!(
            e.message().starts_with("The server's host key has changed"),
            "{}",
            e.message()
        );
        assert!(e.message().contains("possible man-in-the-middle attack"));
        assert!(e.message().contains(other) && e.message().contains(PUB_SHA256));
        verify(Some(PUB_SHA256), &key(), "backup@nas:22").unwrap();
    }
}
