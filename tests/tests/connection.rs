//! "Test connection" against the Jira Cloud simulator and against servers that fail in every
//! way the Configuration page must explain: rejected credentials, no Jira access, not a Jira
//! site, DNS, TLS, timeouts and refused connections.

use std::sync::Arc;
use std::time::Duration;

use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::ManualClock;
use backup_center_engine::jira::{check_connection, ClientOptions, JiraClient, SiteUrl};
use backup_center_engine::secrets::{MemoryStore, Sensitive};
use backup_center_engine::sites::{self, SiteDraft};
use backup_center_engine::{Error, ErrorKind};
use bc_tests::sim::{self, SimConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-22T10:00:00Z".parse().unwrap()
}

async fn check(
    url: &str,
    email: &str,
    token: &str,
    timeout: Duration,
) -> Result<backup_center_engine::jira::ConnectionReport, Error> {
    let client = JiraClient::new(
        SiteUrl::parse(url)?,
        email.into(),
        Sensitive::new(token.into()),
        ClientOptions {
            timeout,
            ..ClientOptions::default()
        },
    )?;
    check_connection(&client, now()).await
}

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn admin_is_recognised() {
    let s = sim::start(SimConfig::default()).await.unwrap();
    let r = check(&s.base_url, sim::ADMIN_EMAIL, sim::ADMIN_TOKEN, T)
        .await
        .unwrap();
    assert_eq!(r.display_name, sim::ADMIN_NAME);
    assert!(
        r.is_admin,
        "the simulator's admin must be reported as a Jira admin"
    );
    assert_eq!(r.site_url, s.base_url);
    assert_eq!(r.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(r.checked_at, now());
}

#[tokio::test]
async fn non_admin_is_recognised() {
    let s = sim::start(SimConfig::default()).await.unwrap();
    let r = check(&s.base_url, sim::USER_EMAIL, sim::USER_TOKEN, T)
        .await
        .unwrap();
    assert_eq!(r.display_name, sim::USER_NAME);
    assert!(!r.is_admin, "a non-admin must not be reported as admin");
}

#[tokio::test]
async fn wrong_token_is_a_clear_401() {
    let s = sim::start(SimConfig::default()).await.unwrap();
    let e = check(&s.base_url, sim::ADMIN_EMAIL, "not-the-token", T)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::JiraAuth);
    assert!(e.message().contains("rejected"), "{}", e.message());
    assert!(
        e.message().contains("expire"),
        "a 401 must mention that tokens expire: {}",
        e.message()
    );
    assert!(
        !e.message().contains("not-the-token"),
        "the message must not echo the token"
    );
    assert!(!e.is_transient());
}

#[tokio::test]
async fn account_without_jira_access_is_a_clear_403() {
    let s = sim::start(SimConfig::default()).await.unwrap();
    let e = check(&s.base_url, sim::NO_ACCESS_EMAIL, sim::NO_ACCESS_TOKEN, T)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::JiraForbidden);
    assert!(e.message().contains("403"), "{}", e.message());
    assert!(
        e.message().contains("access to Jira"),
        "Jira's own reason must be passed on: {}",
        e.message()
    );
}

async fn serve_raw(reply: &'static [u8]) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut sock, &mut buf).await;
                let _ = sock.write_all(reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_web_page_is_not_a_jira_site() {
    let url = serve_raw(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 20\r\nconnection: close\r\n\r\n<html>Welcome</html>").await;
    let e = check(&url, "a@b.co", "t", T).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotJiraCloud);
    assert!(
        e.message().contains("does not look like a Jira Cloud site"),
        "{}",
        e.message()
    );

    let url =
        serve_raw(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
    assert_eq!(
        check(&url, "a@b.co", "t", T).await.unwrap_err().kind,
        ErrorKind::NotJiraCloud
    );

    let server = br#"{"baseUrl":"http://x","version":"9.12.0","deploymentType":"Server"}"#;
    let mut reply = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", server.len()).into_bytes();
    reply.extend_from_slice(server);
    let url = serve_raw(Box::leak(reply.into_boxed_slice())).await;
    let e = check(&url, "a@b.co", "t", T).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotJiraCloud);
    assert!(e.message().contains("Jira Server site"), "{}", e.message());
}

#[tokio::test]
async fn unknown_host_is_a_dns_error() {
    let e = check("https://no-such-site.invalid", "a@b.co", "t", T)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Dns, "{e:?}");
    assert!(
        e.message().contains("could not be found"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn refused_connection_is_unreachable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = check(&format!("http://127.0.0.1:{port}"), "a@b.co", "t", T)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
    assert!(e.is_transient());
}

#[tokio::test]
async fn silent_server_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = l.accept().await {
            held.push(sock); // accept and never answer
        }
    });
    let e = check(
        &format!("http://{addr}"),
        "a@b.co",
        "t",
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert!(
        e.message().contains("did not answer within 1 s"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn untrusted_certificate_is_a_tls_error() {
    use tokio_rustls::rustls;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = l.accept().await {
            let a = acceptor.clone();
            tokio::spawn(async move {
                let _ = a.accept(sock).await;
            });
        }
    });
    let e = check(&format!("https://localhost:{port}"), "a@b.co", "t", T)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert!(e.message().contains("certificate"), "{}", e.message());
}

#[tokio::test]
async fn saved_site_records_identity_and_the_stored_token_is_used() {
    let s = sim::start(SimConfig::default()).await.unwrap();
    let catalog = Catalog::open_in_memory().unwrap();
    let secrets = MemoryStore::new();
    let clock = ManualClock::new(now());
    let draft = SiteDraft {
        id: None,
        url: format!("{}/jira/your-work", s.base_url),
        email: sim::ADMIN_EMAIL.into(),
        token: Some(Sensitive::new(sim::ADMIN_TOKEN.into())),
    };
    let saved = sites::save(&catalog, &secrets, &clock, &draft).unwrap();
    assert_eq!(saved.url, s.base_url, "paths must be normalised away");
    let again = SiteDraft {
        id: Some(saved.id.into()),
        token: None,
        ..draft
    };
    let r = sites::test_connection(&catalog, &secrets, &clock, &again, ClientOptions::default())
        .await
        .unwrap();
    assert!(r.is_admin);
    let rec = catalog.get_site(saved.id.into()).unwrap();
    assert_eq!(rec.display_name.as_deref(), Some(sim::ADMIN_NAME));
    assert_eq!(rec.is_admin, Some(true));
    assert_eq!(rec.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(rec.last_checked, Some(now()));
}
