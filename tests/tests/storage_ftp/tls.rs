//! Logins and FTPS certificates: refused passwords, untrusted, self-signed, misnamed and
//! changed certificates, each with the fingerprint the user is asked to trust.

use backup_center_engine::storage::ftp::{CertFingerprint, TlsTrust};
use backup_center_engine::storage::{test_connection, CheckStep, RemotePath, Session};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{FtpTls, TestPki, Vsftpd, VsftpdOptions};
use bc_tests::storage::{assert_prefix, content, path, snapshot_name};

use super::{destination, destination_with_password};

#[test]
fn a_wrong_password_is_storage_auth_at_the_connect_step() {
    let server = Vsftpd::start(FtpTls::None);
    let (dest, secrets) = destination_with_password(&server, "x", "not-the-password", |_| {});
    let report = test_connection(&dest, &secrets);
    let (step, e) = report.failed.as_ref().expect("the login must fail");
    assert_eq!(*step, CheckStep::Connect);
    assert_eq!(e.kind, ErrorKind::StorageAuth, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "The FTP server 127.0.0.1:{} refused the login (530 Login incorrect.). Check the user \
             name and the password",
            server.port()
        ),
    );
    assert!(
        !e.log_line().contains("not-the-password"),
        "no password in logs"
    );
}

#[test]
fn an_untrusted_certificate_is_tls_with_its_fingerprint_and_a_pin_trusts_it() {
    let server = Vsftpd::start(FtpTls::Explicit);
    let pki = server.pki().unwrap().clone();
    // The system roots do not know the test CA.
    let (dest, secrets) = destination(&server, "t", |c| c.trust = TlsTrust::default());
    let e = dest.session(&secrets).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "The FTPS server 127.0.0.1:{} presented a certificate that is not signed by an \
             authority this computer trusts. If it is your server's own (self-signed or \
             private) certificate, check that its SHA-256 fingerprint is {}",
            server.port(),
            pki.fingerprint()
        ),
    );
    assert!(
        e.context().contains(&("fingerprint", pki.fingerprint())),
        "{:?}",
        e.context()
    );
    let probe = dest.probe_certificate().unwrap();
    assert!(!probe.trusted);
    assert_eq!(probe.fingerprint.to_string(), pki.fingerprint());

    // "Trust": the pin replaces chain validation.
    let pin = CertFingerprint::parse(&pki.fingerprint()).unwrap();
    let (pinned, secrets) = destination(&server, "t", |c| {
        c.trust = TlsTrust {
            pinned: Some(pin),
            extra_roots_pem: None,
        }
    });
    assert!(pinned.probe_certificate().unwrap().trusted);
    let report = test_connection(&pinned, &secrets);
    assert!(report.is_ok(), "{report:?}");
}

#[test]
fn a_self_signed_certificate_can_be_pinned() {
    let pki = TestPki::self_signed();
    let server = Vsftpd::start_with(VsftpdOptions {
        pki: Some(pki.clone()),
        ..VsftpdOptions::new(FtpTls::Explicit)
    });
    let (dest, secrets) = destination(&server, "s", |c| c.trust = TlsTrust::default());
    let e = dest.session(&secrets).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls);
    assert!(e.message().contains(&pki.fingerprint()), "{}", e.message());
    let (pinned, secrets) = destination(&server, "s", |c| {
        c.trust.pinned = Some(CertFingerprint::parse(&pki.fingerprint()).unwrap());
        c.trust.extra_roots_pem = None;
    });
    let mut s = pinned.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    s.put(&path(&snapshot_name(0)), &mut &content(100_000)[..], None)
        .unwrap();
    assert_eq!(s.list(&RemotePath::folder()).unwrap().len(), 1);
}

#[test]
fn a_certificate_for_another_host_is_refused_with_its_fingerprint() {
    let pki = TestPki::for_names(&["nas.example"]);
    let server = Vsftpd::start_with(VsftpdOptions {
        pki: Some(pki.clone()),
        ..VsftpdOptions::new(FtpTls::Explicit)
    });
    // The chain is trusted (the test CA), the name is not the one connected to.
    let (dest, secrets) = destination(&server, "n", |_| {});
    let e = dest.session(&secrets).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "The FTPS server 127.0.0.1:{} presented a certificate that was issued for another \
             host name. If it is your server's own (self-signed or private) certificate, check \
             that its SHA-256 fingerprint is {}",
            server.port(),
            pki.fingerprint()
        ),
    );
    assert!(e.context().contains(&("fingerprint", pki.fingerprint())));
}

#[test]
fn a_changed_certificate_is_refused_despite_a_valid_chain() {
    let server = Vsftpd::start(FtpTls::Explicit);
    let current = server.pki().unwrap().clone();
    let earlier = TestPki::new();
    let (dest, secrets) = destination(&server, "c", |c| {
        c.trust.pinned = Some(CertFingerprint::parse(&earlier.fingerprint()).unwrap());
    });
    let e = dest.session(&secrets).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "Warning: the certificate of the FTPS server 127.0.0.1:{} has changed since it was \
             trusted (trusted: {}; now: {}). Someone may be intercepting the connection, so \
             nothing was sent.",
            server.port(),
            earlier.fingerprint(),
            current.fingerprint()
        ),
    );
    assert!(e
        .context()
        .contains(&("fingerprint", current.fingerprint())));
    assert!(
        !server.home().join("c").exists(),
        "nothing was done on the server"
    );
}

/// vsftpd (by default) refuses an FTPS data connection that does not resume the control
/// connection's TLS session, and every data connection uses up one of the single-use TLS 1.3
/// tickets the client holds. Refused uploads must neither hang until the I/O timeout nor
/// leave the session unable to upload (it was: 10 s each, then "522 … session reuse
/// required" after the second).
#[test]
fn refused_ftps_uploads_leave_the_session_able_to_upload() {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    let server = Vsftpd::start(FtpTls::Explicit);
    let locked = server.home().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    let (dest, secrets) = destination(&server, "", |_| {});
    let mut s = dest.session(&secrets).unwrap();
    let data = content(300 * 1024);
    for i in 0..6 {
        let refused = path(&format!("locked/{}", snapshot_name(i)));
        let started = std::time::Instant::now();
        let e = s.put(&refused, &mut &data[..], None).unwrap_err();
        let took = started.elapsed();
        assert_eq!(e.kind, ErrorKind::StoragePermission, "refusal {i}: {e:?}");
        // Not a speed goal: a refused data connection must not wait out the I/O timeout (10 s).
        assert!(
            took < std::time::Duration::from_secs(5),
            "refusal {i} took {took:?}"
        );
    }
    let name = snapshot_name(9);
    s.put(&path(&name), &mut &data[..], None)
        .expect("an upload after refused ones in the same FTPS session");
    assert_eq!(fs::read(server.home().join(&name)).unwrap(), data);
    assert_eq!(s.list(&RemotePath::folder()).unwrap().len(), 1);
}
