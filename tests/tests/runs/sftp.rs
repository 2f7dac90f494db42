//! A run to a real SFTP server (OpenSSH sshd from the harness; needs root): the destination is
//! built from the catalog row plus the password from the keychain, rotation works over SFTP,
//! and a refused login fails the run without deleting anything.

use backup_center_engine::catalog::destinations::{DestinationKind, DestinationSettings};
use backup_center_engine::catalog::runs::RunOutcome;
use backup_center_engine::clock::Clock;
use backup_center_engine::secrets::{SecretKey, SecretStore, Sensitive};
use backup_center_engine::storage::sftp::SftpAuth;
use backup_center_engine::ErrorKind;
use bc_tests::harness::{Sshd, TEST_PASSWORD, TEST_USER};

use super::{files_in, ran, sha256_hex, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_to_sftp_rotates_there_and_a_refused_login_deletes_nothing() {
    let sshd = tokio::task::spawn_blocking(Sshd::start).await.unwrap();
    let s = Setup::new().await;
    let d = s
        .catalog
        .insert_destination(
            &DestinationSettings {
                name: "NAS".into(),
                kind: DestinationKind::Sftp,
                host: Some("127.0.0.1".into()),
                port: Some(sshd.port()),
                user_name: Some(TEST_USER.into()),
                folder: sshd.area().to_str().unwrap().into(),
                quota_bytes: None,
                pinned_fingerprint: Some(sshd.host_key_sha256()),
                sftp_auth: SftpAuth::Password,
                implicit_tls: false,
            },
            s.clock.now(),
        )
        .unwrap();
    let password_key = SecretKey::sftp_password("127.0.0.1", sshd.port(), TEST_USER);
    let set_password = |p: &str| {
        s.secrets
            .set(&password_key, &Sensitive::new(p.to_string()))
            .unwrap()
    };
    set_password(TEST_PASSWORD);
    let scheme = s.scheme("To the NAS", u32::try_from(d.id).unwrap(), 1);
    let folder = sshd.area().join("jira");
    let runner = s.runner();

    let mut names = Vec::new();
    for _ in 0..2 {
        let r = runner.run_scheme_now(scheme).await.unwrap();
        let r = ran(&r);
        assert_eq!(r.run.outcome, RunOutcome::Succeeded, "{:?}", r.run.error);
        let file = r.file.clone().unwrap().file;
        assert!(file.verified);
        assert_eq!(file.sha256, sha256_hex(&folder.join(&file.name)));
        names.push(file.name);
        s.clock.advance(chrono::Duration::hours(1));
    }
    assert_eq!(
        files_in(&folder),
        vec![names[1].clone()],
        "keep 1, over SFTP"
    );

    set_password("not the password");
    let r = runner.run_scheme_now(scheme).await.unwrap();
    let run = &ran(&r).run;
    assert_eq!(run.outcome, RunOutcome::Failed);
    assert_eq!(
        run.error.as_ref().and_then(|e| e.kind),
        Some(ErrorKind::StorageAuth),
        "{:?}",
        run.error
    );
    assert!(!run
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("not the password"));
    assert_eq!(
        files_in(&folder),
        vec![names[1].clone()],
        "a failed run must not delete any earlier backup"
    );
}
