//! FTPS certificates: which servers are trusted, the SHA-256 fingerprint a user can compare and
//! pin, and the rustls configuration both the control and the data connections use.
//!
//! # Trust
//! - Without a pin, the chain and the host name are verified by webpki against the roots of
//!   this computer's trust store, loaded with `rustls-native-certs` (the rustls project's own
//!   crate, already in our tree through reqwest): an administrator's company CA installed in
//!   the OS is trusted as browsers trust it, and updates come with the OS. `webpki-roots` was
//!   not chosen because it compiles Mozilla's list into the binary and ignores the OS store,
//!   so a private CA could only be trusted by pinning. Extra roots (a private CA's PEM) can
//!   be added per destination; the tests trust exactly their test CA that way.
//! - With a pin (the SHA-256 of the server's certificate, as shown when the user chose
//!   "Trust"), the certificate must be exactly that one; chain, expiry and host name are not
//!   checked, as with an SSH host key. A different certificate is refused with a warning.
//!   The TLS handshake signature is still verified, so the server must hold the key.
//!
//! Never "accept any certificate": when verification fails, the error carries the
//! certificate's fingerprint (context key `fingerprint`) so the UI can offer "Trust".

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use crate::checksum::Sha256;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, CipherSuite, ClientConfig, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
};

use super::tickets::Tickets;
use crate::error::{Error, ErrorKind, Result};
use rustls::client::Resumption;

/// The SHA-256 of a server certificate (DER), shown as `AB:CD:…` (32 colon-separated pairs).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    pub fn of(der: &[u8]) -> Self {
        Self(Sha256::digest(der).0)
    }

    /// Reads a fingerprint as shown (`AB:CD:…`), or as 64 hex digits with or without `:`,
    /// spaces or a `SHA256:` prefix, any case.
    ///
    /// # Errors
    /// `InvalidInput` if it is not 32 bytes of hex.
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim();
        let body = trimmed
            .strip_prefix("SHA256:")
            .or_else(|| trimmed.strip_prefix("sha256:"))
            .unwrap_or(trimmed);
        let hex_digits: String = body
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&hex_digits, &mut bytes).map_err(|_| {
            Error::invalid_input(format!(
                "{text:?} is not a SHA-256 certificate fingerprint (64 hexadecimal digits, \
                 usually shown as AB:CD:…)."
            ))
        })?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

/// Which certificates an FTPS destination accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// When set, exactly this certificate is accepted (and chain validation is skipped).
    pub pinned: Option<CertFingerprint>,
    /// Root certificates (PEM) trusted in addition to the system's, e.g. a company CA.
    pub extra_roots_pem: Option<String>,
}

/// What the verifier saw during the last handshake: the certificate, and why it was refused.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub fingerprint: Option<CertFingerprint>,
    pub refusal: Option<Refusal>,
}

#[derive(Debug, Clone)]
pub(crate) enum Refusal {
    /// Chain or name validation failed.
    Untrusted(CertificateError),
    /// A pin is configured and the certificate is another one.
    PinMismatch { pinned: CertFingerprint },
}

pub(crate) type SeenSlot = Arc<Mutex<Seen>>;

/// Records every certificate it is shown, then verifies it by pin or by webpki.
#[derive(Debug)]
struct Verifier {
    pinned: Option<CertFingerprint>,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    seen: SeenSlot,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let fingerprint = CertFingerprint::of(end_entity);
        let outcome = match (&self.pinned, &self.webpki) {
            (Some(pinned), _) if *pinned == fingerprint => Ok(ServerCertVerified::assertion()),
            (Some(pinned), _) => Err(Refusal::PinMismatch { pinned: *pinned }),
            (None, Some(webpki)) => webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map_err(|e| match e {
                    rustls::Error::InvalidCertificate(c) => Refusal::Untrusted(c),
                    other => Refusal::Untrusted(CertificateError::Other(rustls::OtherError(
                        Arc::new(other),
                    ))),
                }),
            (None, None) => Err(Refusal::Untrusted(CertificateError::UnknownIssuer)),
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.fingerprint = Some(fingerprint);
        match outcome {
            Ok(v) => {
                seen.refusal = None;
                Ok(v)
            }
            Err(refusal) => {
                let e = match &refusal {
                    Refusal::Untrusted(c) => c.clone(),
                    Refusal::PinMismatch { .. } => CertificateError::ApplicationVerificationFailure,
                };
                seen.refusal = Some(refusal);
                Err(rustls::Error::InvalidCertificate(e))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The OS trust store, read once per process (parsing it takes milliseconds; certificates
/// the OS cannot parse are skipped, as browsers do).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// What one FTPS connection's TLS needs: the rustls configuration, the slot its verifier
/// reports to, and its session cache.
#[derive(Debug, Clone)]
pub(crate) struct TlsClient {
    pub config: Arc<ClientConfig>,
    pub seen: SeenSlot,
    pub tickets: Arc<Tickets>,
}

/// The rustls configuration for one FTPS destination. One configuration (and session cache)
/// serves the control and every data connection, so data connections resume the control
/// connection's TLS session (vsftpd's `require_ssl_reuse`, on by default).
pub(crate) fn client_config(trust: &TlsTrust) -> Result<TlsClient> {
    let seen = SeenSlot::default();
    let mut provider = rustls::crypto::ring::default_provider();
    // AES-128-GCM first (as browsers order it): as safe as AES-256 here and about a third less
    // work per byte for both ends, which matters when a NAS decrypts a whole backup.
    provider.cipher_suites.sort_by_key(|s| {
        !matches!(
            s.suite(),
            CipherSuite::TLS13_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        )
    });
    let provider = Arc::new(provider);
    let webpki = match trust.pinned {
        Some(_) => None,
        None => {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(system_roots().iter().cloned());
            if let Some(pem) = &trust.extra_roots_pem {
                for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let cert = cert.map_err(|e| bad_roots(&e.to_string()))?;
                    roots.add(cert).map_err(|e| bad_roots(&e.to_string()))?;
                }
            }
            if roots.is_empty() {
                return Err(Error::new(
                    ErrorKind::Tls,
                    "No trusted root certificates were found on this computer, so no FTPS \
                     server can be verified. Install the system's CA certificates (on Linux \
                     the ca-certificates package) or trust the server's certificate.",
                ));
            }
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| Error::internal(format!("TLS setup failed: {e}.")))?;
            Some(verifier)
        }
    };
    let verifier = Verifier {
        pinned: trust.pinned,
        webpki,
        provider: provider.clone(),
        seen: seen.clone(),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS setup failed: {e}.")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let tickets = Arc::new(Tickets::new());
    config.resumption = Resumption::store(tickets.clone());
    Ok(TlsClient {
        config: Arc::new(config),
        seen,
        tickets,
    })
}

fn bad_roots(why: &str) -> Error {
    Error::invalid_input(format!(
        "The extra trusted certificates could not be read ({why}). Paste the CA certificate \
         in PEM form (-----BEGIN CERTIFICATE-----)."
    ))
}

/// The error for a certificate the verifier refused, if that is what happened; clears the slot.
pub(crate) fn take_refusal(seen: &SeenSlot, server: &str) -> Option<Error> {
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    let refusal = seen.refusal.take()?;
    let fingerprint = seen.fingerprint?;
    Some(refusal_error(&refusal, fingerprint, server))
}

/// The certificate seen in the last handshake.
pub(crate) fn last_fingerprint(seen: &SeenSlot) -> Option<CertFingerprint> {
    seen.lock().unwrap_or_else(|p| p.into_inner()).fingerprint
}

fn refusal_error(refusal: &Refusal, fingerprint: CertFingerprint, server: &str) -> Error {
    let error = match refusal {
        Refusal::PinMismatch { pinned } => Error::new(
            ErrorKind::Tls,
            format!(
                "Warning: the certificate of the FTPS server {server} has changed since it was \
                 trusted (trusted: {pinned}; now: {fingerprint}). Someone may be intercepting \
                 the connection, so nothing was sent. If the server's certificate was replaced \
                 on purpose, check the new fingerprint with the server's administrator and \
                 trust it again."
            ),
        )
        .with_context("pinned_fingerprint", pinned.to_string()),
        Refusal::Untrusted(why) => Error::new(
            ErrorKind::Tls,
            format!(
                "The FTPS server {server} presented a certificate that {}. If it is your \
                 server's own (self-signed or private) certificate, check that its SHA-256 \
                 fingerprint is {fingerprint} and choose \"Trust\" to pin it.",
                describe(why)
            ),
        )
        .with_context("reason", format!("{why:?}")),
    };
    error.with_context("fingerprint", fingerprint.to_string())
}

fn describe(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => {
            "is not signed by an authority this computer trusts".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "was issued for another host name".into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "has expired".into(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "is not valid yet (check this computer's clock)".into()
        }
        CertificateError::Revoked => "has been revoked".into(),
        CertificateError::BadSignature => "has an invalid signature".into(),
        other => format!("could not be verified ({other:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_show_as_colon_hex_and_parse_back() {
        let fp = CertFingerprint::of(b"certificate");
        let shown = fp.to_string();
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert!(shown.split(':').all(|p| p.len() == 2
            && p.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())));
        assert_eq!(CertFingerprint::parse(&shown).unwrap(), fp);
        let plain: String = shown.replace(':', "").to_lowercase();
        assert_eq!(CertFingerprint::parse(&plain).unwrap(), fp);
        assert_eq!(
            CertFingerprint::parse(&format!("SHA256:{plain}")).unwrap(),
            fp
        );
        let not_hex = format!("G{}", &shown[1..]);
        for bad in ["", "AB:CD", &format!("{shown}:00"), &not_hex] {
            let e = CertFingerprint::parse(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn refusals_name_the_fingerprint_in_message_and_context() {
        let fp = CertFingerprint::of(b"new");
        let pinned = CertFingerprint::of(b"old");
        let e = refusal_error(&Refusal::PinMismatch { pinned }, fp, "nas:21");
        assert_eq!(e.kind, ErrorKind::Tls);
        assert!(e
            .message()
            .starts_with("Warning: the certificate of the FTPS server nas:21 has changed"));
        assert!(e.message().contains(&fp.to_string()) && e.message().contains(&pinned.to_string()));
        assert!(e.context().contains(&("fingerprint", fp.to_string())));
        let e = refusal_error(
            &Refusal::Untrusted(CertificateError::UnknownIssuer),
            fp,
            "nas:21",
        );
        assert!(e
            .message()
            .contains("not signed by an authority this computer trusts"));
        assert!(e.message().contains(&fp.to_string()));
        assert!(!e.is_transient());
    }

    #[test]
    fn bad_extra_roots_are_invalid_input() {
        let trust = TlsTrust {
            pinned: None,
            extra_roots_pem: Some(
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into(),
            ),
        };
        let e = client_config(&trust).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{e:?}");
    }
}
