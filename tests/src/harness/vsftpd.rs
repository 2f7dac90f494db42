//! A real vsftpd for the FTP destination tests and benchmark, one per test: its own config,
//! port, passive range, login user, home folder and (for FTPS) a certificate signed by a
//! private test CA. Tests run in parallel without sharing anything.
//!
//! It needs root (vsftpd checks local logins through PAM, so each server creates a system
//! user with a random password and deletes it again) and `/usr/sbin/vsftpd`: without either,
//! `start` panics with what to do — a test never skips silently.
//!
//! vsftpd runs in the foreground; [`Vsftpd::kill`] also ends the per-connection processes it
//! forks (killing only the listener leaves sessions running), and [`Vsftpd::pause`] stops all
//! of them (a stalled server).

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use sha2::{Digest, Sha256};

use super::process::{self, free_port, Child};
use super::system::{self, Account};

const VSFTPD: &str = "/usr/sbin/vsftpd";

/// How the server offers TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpTls {
    /// Plain FTP only.
    None,
    /// `AUTH TLS` on the same port; logins and data must then be encrypted.
    Explicit,
    /// TLS from the first byte.
    Implicit,
}

/// A server certificate and the CA that signed it (or none: self-signed).
#[derive(Clone)]
pub struct TestPki {
    /// The CA certificate (PEM) to trust; for a self-signed certificate, the certificate.
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    /// The server certificate (DER), whose SHA-256 is its fingerprint.
    pub cert_der: Vec<u8>,
}

impl TestPki {
    /// A leaf for `localhost` and `127.0.0.1`, signed by a fresh private CA.
    pub fn new() -> Self {
        Self::for_names(&["localhost", "127.0.0.1"])
    }

    /// A leaf for these host names or IP addresses, signed by a fresh private CA.
    pub fn for_names(names: &[&str]) -> Self {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Backup Center test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let (leaf, key) = Self::leaf(names);
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key).expect("leaf");
        Self {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }

    /// A self-signed server certificate (what many NAS boxes ship).
    pub fn self_signed() -> Self {
        let (leaf, key) = Self::leaf(&["localhost", "127.0.0.1"]);
        let cert = leaf.self_signed(&key).expect("self-signed");
        Self {
            ca_pem: cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }

    fn leaf(names: &[&str]) -> (CertificateParams, KeyPair) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut leaf = CertificateParams::new(names).expect("leaf params");
        leaf.distinguished_name
            .push(DnType::CommonName, "vsftpd test server");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        (leaf, KeyPair::generate().expect("leaf key"))
    }

    /// The certificate's SHA-256 as `AB:CD:…`.
    pub fn fingerprint(&self) -> String {
        Sha256::digest(&self.cert_der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

/// A local system user for FTP logins, deleted on drop.
struct LoginUser {
    account: Account,
    password: String,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl LoginUser {
    fn create(home: &Path) -> Self {
        let name = format!("bcftp{}", random_hex(5));
        let password = random_hex(12);
        let home_s = home.to_str().expect("UTF-8 temp path");
        system::account_tool(
            "useradd",
            &["-M", "-d", home_s, "-s", "/bin/bash", "-U", &name],
            None,
        )
        .unwrap_or_else(|e| panic!("{e} (the FTP tests create a login user for vsftpd)"));
        system::set_password(&name, &password);
        let account = system::account(&name).expect("the new login user");
        Self { account, password }
    }

    fn owner(&self) -> (u32, u32) {
        (self.account.uid, self.account.gid)
    }
}

impl Drop for LoginUser {
    fn drop(&mut self) {
        // The server's sessions may take a moment to die after the kill.
        system::remove_account(&self.account.name);
    }
}

/// Options for [`Vsftpd::start_with`].
#[derive(Clone)]
pub struct VsftpdOptions {
    pub tls: FtpTls,
    /// The certificate for FTPS (a fresh CA-signed one when `None`).
    pub pki: Option<TestPki>,
    /// vsftpd's default (`YES`): data connections must resume the control TLS session.
    pub require_ssl_reuse: bool,
}

impl VsftpdOptions {
    pub fn new(tls: FtpTls) -> Self {
        Self {
            tls,
            pki: None,
            require_ssl_reuse: true,
        }
    }
}

/// A running vsftpd; killed, its user deleted and its folders removed on drop.
pub struct Vsftpd {
    child: Option<Child>,
    port: u16,
    tls: FtpTls,
    pki: Option<TestPki>,
    config: PathBuf,
    log: PathBuf,
    // Declared before `home` so the user goes first (userdel wants no files of its own).
    user: LoginUser,
    home: tempfile::TempDir,
    _etc: tempfile::TempDir,
}

/// `len` consecutive free ports below the ephemeral range (so our own outgoing connections
/// never hold them), starting somewhere random.
fn free_range(len: u16) -> (u16, u16) {
    loop {
        let start = 20_000 + (u16::from_str_radix(&random_hex(2), 16).unwrap_or(0) % 12_000);
        let all_free = (start..start + len).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return (start, start + len - 1);
        }
    }
}

impl Vsftpd {
    /// Starts a server (plain, or FTPS with a fresh test CA) and waits until it answers.
    pub fn start(tls: FtpTls) -> Self {
        Self::start_with(VsftpdOptions::new(tls))
    }

    pub fn start_with(options: VsftpdOptions) -> Self {
        assert!(
            Path::new(VSFTPD).is_file(),
            "{VSFTPD} is required by the FTP tests but is not installed. Install it with \
             `apt-get install vsftpd` (make test does this)."
        );
        let etc = tempfile::Builder::new()
            .prefix("vsftpd-etc-")
            .tempdir()
            .expect("temp dir");
        let home = tempfile::Builder::new()
            .prefix("vsftpd-home-")
            .tempdir()
            .expect("temp dir");
        system::require_root(
            "the FTP tests",
            "vsftpd checks logins through PAM: each server creates a system user",
        );
        let user = LoginUser::create(home.path());
        system::chown(home.path(), user.owner(), false);
        fs::set_permissions(home.path(), fs::Permissions::from_mode(0o755)).expect("chmod home");
        let empty = etc.path().join("empty");
        fs::create_dir(&empty).expect("secure_chroot_dir");
        let port = free_port();
        let (pasv_min, pasv_max) = free_range(40);
        let log = etc.path().join("vsftpd.log");
        // ASCII transfers really convert line ends (vsftpd's default ignores ASCII mode), so
        // a client that forgets `TYPE I` corrupts binary files here as on many servers.
        let mut config = format!(
            "listen=YES\nlisten_ipv6=NO\nbackground=NO\nlisten_address=127.0.0.1\n\
             listen_port={port}\npasv_enable=YES\npasv_address=127.0.0.1\n\
             pasv_min_port={pasv_min}\npasv_max_port={pasv_max}\nanonymous_enable=NO\n\
             local_enable=YES\nwrite_enable=YES\nlocal_umask=022\nseccomp_sandbox=NO\n\
             secure_chroot_dir={}\nchroot_local_user=NO\npam_service_name=vsftpd\n\
             userlist_enable=NO\nconnect_from_port_20=NO\nxferlog_enable=YES\n\
             xferlog_std_format=NO\nvsftpd_log_file={}\nuse_localtime=NO\n\
             max_clients=0\nmax_per_ip=0\nidle_session_timeout=600\n\
             ascii_upload_enable=YES\nascii_download_enable=YES\n",
            empty.display(),
            log.display()
        );
        let pki = match options.tls {
            FtpTls::None => None,
            FtpTls::Explicit | FtpTls::Implicit => {
                let pki = options.pki.clone().unwrap_or_default();
                let cert = etc.path().join("cert.pem");
                let key = etc.path().join("key.pem");
                fs::write(&cert, &pki.cert_pem).expect("write cert");
                fs::write(&key, &pki.key_pem).expect("write key");
                fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod key");
                config.push_str(&format!(
                    "ssl_enable=YES\nrsa_cert_file={}\nrsa_private_key_file={}\n\
                     allow_anon_ssl=NO\nforce_local_logins_ssl=YES\nforce_local_data_ssl=YES\n\
                     ssl_tlsv1=YES\nssl_sslv2=NO\nssl_sslv3=NO\nssl_ciphers=HIGH\n\
                     require_ssl_reuse={}\nimplicit_ssl={}\n",
                    cert.display(),
                    key.display(),
                    if options.require_ssl_reuse {
                        "YES"
                    } else {
                        "NO"
                    },
                    if options.tls == FtpTls::Implicit {
                        "YES"
                    } else {
                        "NO"
                    },
                ));
                Some(pki)
            }
        };
        let config_path = etc.path().join("vsftpd.conf");
        fs::write(&config_path, config).expect("write vsftpd.conf");
        let mut server = Self {
            child: None,
            port,
            tls: options.tls,
            pki,
            config: config_path,
            log,
            user,
            home,
            _etc: etc,
        };
        // The port was free a moment ago; if something took it meanwhile, take another.
        let mut attempts = 0;
        while let Err(e) = server.launch() {
            attempts += 1;
            assert!(attempts < 3, "{e}");
            let old = format!("listen_port={}\n", server.port);
            server.port = free_port();
            let text = fs::read_to_string(&server.config).expect("read vsftpd.conf");
            let text = text.replace(&old, &format!("listen_port={}\n", server.port));
            fs::write(&server.config, text).expect("write vsftpd.conf");
        }
        server
    }

    fn launch(&mut self) -> Result<(), String> {
        let mut cmd = Command::new(VSFTPD);
        cmd.arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = Child::spawn("vsftpd", &mut cmd);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.inner_mut().try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.inner_mut().stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("vsftpd exited at start ({status}): {err}"));
            }
            if self.answers() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "vsftpd did not answer on port {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Whether the server greets: "220" for FTP; for implicit TLS, that the port accepts.
    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        if self.tls == FtpTls::Implicit {
            return true;
        }
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut greeting = [0u8; 3];
        s.read_exact(&mut greeting).is_ok() && &greeting == b"220"
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        &self.user.account.name
    }

    pub fn password(&self) -> &str {
        &self.user.password
    }

    /// The login folder (the user's home), owned by the user.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The server certificate and its CA (FTPS only).
    pub fn pki(&self) -> Option<&TestPki> {
        self.pki.as_ref()
    }

    /// Hands `path` (and everything below) to the login user, as if it had written it.
    pub fn give(&self, path: &Path) {
        system::chown(path, self.user.owner(), true);
    }

    /// The login user's uid and gid (e.g. the owner of a [`Tmpfs`](super::Tmpfs)).
    pub fn uid_gid(&self) -> (u32, u32) {
        self.user.owner()
    }

    /// vsftpd's log (one line per transfer: `OK UPLOAD: …, N bytes`).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` to the server and every process it forked. vsftpd makes each session
    /// its own session leader (`setsid`), so a process group does not hold them: they are
    /// found by parent pid in /proc. The listener is stopped first so nothing new is forked
    /// while the tree is collected.
    fn signal(&self, signal: &str) {
        let Some(child) = &self.child else {
            return;
        };
        let root = child.id();
        if signal != "CONT" {
            process::signal("STOP", &[root]);
        }
        let mut tree = process::descendants(root);
        tree.push(root);
        process::signal(signal, &tree);
    }

    /// Kills the server and every session it forked (connections drop at once).
    pub fn kill(&mut self) {
        self.signal("KILL");
        self.child = None;
    }

    /// Starts the server again on the same port, config, user and folders.
    pub fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.launch() {
            panic!("{e}");
        }
    }

    /// Freezes the server and its sessions: connections stay open but nothing answers.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    pub fn resume(&self) {
        self.signal("CONT");
    }
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        self.signal("CONT");
        self.kill();
    }
}
