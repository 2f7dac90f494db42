//! A real OpenSSH server for the SFTP destination tests and benchmark.
//!
//! Each [`Sshd`] runs its own `sshd -D -e` on a free port of 127.0.0.1 with its own config,
//! ed25519 host key, pid file and authorized_keys in a temporary folder, password and key
//! logins, no PAM, and `internal-sftp`. Logins are the local user [`TEST_USER`], created once
//! (idempotently) with [`TEST_PASSWORD`]; every `Sshd` gets its own area in that user's home so
//! tests running in parallel never see each other's files. Client keys are made per server:
//! one without a passphrase and one with [`KEY_PASSPHRASE`].
//!
//! It needs root (a local user, `/run/sshd`, tmpfs mounts) and openssh-server; without them
//! the test fails with what to install, never skips. Everything (sshd and its per-connection
//! children, mounts, the area) goes when the handle drops.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::process::{self, free_port, Child};
use super::system::{self, Account, Tmpfs};

/// The local account tests log in as.
pub const TEST_USER: &str = "bcsftp";
/// Its password (set on every first use in a process, so it is always this one).
pub const TEST_PASSWORD: &str = "bc sftp test password 7";
/// The passphrase of [`Sshd::encrypted_key`].
pub const KEY_PASSPHRASE: &str = "correct horse battery staple";

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd; see the module docs.
pub struct Sshd {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    user: Account,
    area: PathBuf,
    mounts: Vec<Tmpfs>,
}

impl Sshd {
    /// Starts a server and waits until it greets with `SSH-2.0`.
    pub fn start() -> Self {
        require_root_tools();
        let user = test_user().clone();
        let dir = tempfile::Builder::new()
            .prefix("bc-sshd-")
            .tempdir()
            .expect("temp dir");
        // sshd reads authorized_keys as the test user.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        keygen(&dir.path().join("host_ed25519"), "");
        keygen(&dir.path().join("client_plain"), "");
        keygen(&dir.path().join("client_encrypted"), KEY_PASSPHRASE);
        let mut authorized = String::new();
        for key in ["client_plain.pub", "client_encrypted.pub"] {
            authorized.push_str(&fs::read_to_string(dir.path().join(key)).unwrap());
        }
        let authorized_keys = dir.path().join("authorized_keys");
        fs::write(&authorized_keys, authorized).unwrap();
        fs::set_permissions(&authorized_keys, fs::Permissions::from_mode(0o644)).unwrap();

        let area = user.home.join(format!("bc-test-{}", unique()));
        fs::create_dir_all(&area).unwrap();
        system::chown(&area, (user.uid, user.gid), false);

        let mut sshd = Self {
            child: None,
            port: 0,
            dir,
            user,
            area,
            mounts: Vec::new(),
        };
        sshd.launch_on_free_port();
        sshd
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &Account {
        &self.user
    }

    /// This server's own folder in the test user's home (absolute), owned by the user.
    pub fn area(&self) -> &Path {
        &self.area
    }

    /// [`Sshd::area`] relative to the user's home, as an SFTP folder relative to the login
    /// directory is written.
    pub fn area_in_home(&self) -> String {
        self.area
            .strip_prefix(&self.user.home)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// The private key without a passphrase.
    pub fn plain_key(&self) -> PathBuf {
        self.dir.path().join("client_plain")
    }

    /// The private key encrypted with [`KEY_PASSPHRASE`].
    pub fn encrypted_key(&self) -> PathBuf {
        self.dir.path().join("client_encrypted")
    }

    /// What `ssh-keygen -lf` prints for the server's public host key, e.g.
    /// `256 SHA256:… root@host (ED25519)`.
    pub fn host_key_line(&self) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.dir.path().join("host_ed25519.pub"))
            .output()
            .expect("ssh-keygen -lf");
        assert!(out.status.success(), "ssh-keygen -lf failed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The `SHA256:…` part of [`Sshd::host_key_line`].
    pub fn host_key_sha256(&self) -> String {
        self.host_key_line()
            .split_whitespace()
            .nth(1)
            .expect("a fingerprint field")
            .to_string()
    }

    /// Gives the server a new host key (as a reinstalled server, or a man in the middle,
    /// would have) and restarts it on the same port.
    pub fn replace_host_key(&mut self) {
        let key = self.dir.path().join("host_ed25519");
        fs::remove_file(&key).unwrap();
        fs::remove_file(key.with_extension("pub")).unwrap();
        keygen(&key, "");
        self.kill();
        self.launch(self.port).expect("sshd restarts on its port");
    }

    /// sshd and every process it started (one or two per connection).
    pub fn pids(&self) -> Vec<u32> {
        let Some(child) = &self.child else {
            return Vec::new();
        };
        let mut pids = vec![child.id()];
        pids.extend(process::descendants(child.id()));
        pids
    }

    /// Kills sshd and its connections at once (SIGKILL), as a crashed or powered-off server.
    pub fn kill(&mut self) {
        let pids = self.pids();
        // Connections first: once the listener is gone they would be orphaned.
        process::signal("KILL", pids.get(1..).unwrap_or(&[]));
        self.child = None;
    }

    /// Starts sshd again on the same port after [`Sshd::kill`].
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "sshd is still running");
        self.launch(self.port).expect("sshd restarts on its port");
    }

    /// Freezes (SIGSTOP) every open connection's processes: the server stops answering but
    /// keeps the TCP connection open, as a hung server does. The listener keeps running.
    pub fn freeze_connections(&self) {
        process::signal("STOP", self.pids().get(1..).unwrap_or(&[]));
    }

    /// Undoes [`Sshd::freeze_connections`].
    pub fn thaw_connections(&self) {
        process::signal("CONT", self.pids().get(1..).unwrap_or(&[]));
    }

    /// Mounts a tmpfs of `size_mb` MiB at `relative` in the area, owned by the test user;
    /// unmounted when the server drops.
    pub fn mount_tmpfs(&mut self, relative: &str, size_mb: u32) -> PathBuf {
        let target = self.area.join(relative);
        let mount = Tmpfs::mount(&target, size_mb, (self.user.uid, self.user.gid));
        self.mounts.push(mount);
        target
    }

    /// A folder in the area owned by root and closed to others: the test user may look but
    /// not write.
    pub fn root_owned_folder(&self, relative: &str) -> PathBuf {
        let path = self.area.join(relative);
        fs::create_dir_all(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// sshd's own log (stderr), for assertion messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    fn launch_on_free_port(&mut self) {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            match self.launch(port) {
                Ok(()) => return,
                Err(e) => last = e,
            }
        }
        panic!("sshd did not start: {last}\n{}", self.log());
    }

    fn launch(&mut self, port: u16) -> Result<(), String> {
        let config = self.dir.path().join("sshd_config");
        let d = self.dir.path().display();
        fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1\n\
                 HostKey {d}/host_ed25519\n\
                 PidFile {d}/sshd.pid\n\
                 PasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\n\
                 AuthorizedKeysFile {d}/authorized_keys\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 AllowUsers {TEST_USER}\n\
                 MaxStartups 50\n\
                 LogLevel VERBOSE\n\
                 Subsystem sftp internal-sftp\n"
            ),
        )
        .unwrap();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("sshd.log"))
            .unwrap();
        let mut cmd = Command::new(SSHD);
        cmd.args(["-D", "-e", "-f"])
            .arg(&config)
            .args(["-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let pid_file = self.dir.path().join("sshd.pid");
        let _ = fs::remove_file(&pid_file);
        let mut child = Child::spawn("sshd", &mut cmd);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.inner_mut().try_wait() {
                return Err(format!("sshd exited with {status} on port {port}"));
            }
            // sshd writes its pid file once it listens: a greeting before that could come
            // from another test's server that took the port first.
            let listening =
                fs::read_to_string(&pid_file).is_ok_and(|p| p.trim() == child.id().to_string());
            if listening && greets(port) {
                self.port = port;
                self.child = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("sshd did not greet on port {port} within 10 s"))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
        // Unmounted in reverse order before the area goes.
        while self.mounts.pop().is_some() {}
        let _ = fs::remove_dir_all(&self.area);
    }
}

/// Whether something on `port` answers with an SSH banner.
fn greets(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("SSH-2.0")
}

fn require_root_tools() {
    assert!(
        Path::new(SSHD).is_file(),
        "{SSHD} is required by the SFTP tests but is not installed. Install it with \
         `apt-get install openssh-server openssh-client` (make test does this)."
    );
    system::require_root(
        "the SFTP tests",
        "they run a real sshd with a local test user and tmpfs mounts",
    );
    // sshd refuses to start without its privilege separation directory.
    fs::create_dir_all("/run/sshd").expect("create /run/sshd");
}

/// The test user, created (or its password reset) once per process. Other processes (another
/// test binary, the benchmark) may do the same at the same time: the account tools lock
/// /etc/passwd, so failures are retried.
pub fn test_user() -> &'static Account {
    static USER: OnceLock<Account> = OnceLock::new();
    USER.get_or_init(|| {
        if system::account(TEST_USER).is_none() {
            let created = system::account_tool(
                "useradd",
                &["--create-home", "--shell", "/bin/sh", TEST_USER],
                None,
            );
            // Another process may have created it meanwhile.
            if let Err(e) = created {
                assert!(system::account(TEST_USER).is_some(), "{e}");
            }
        }
        system::set_password(TEST_USER, TEST_PASSWORD);
        let user = system::account(TEST_USER).expect("the test user exists");
        fs::create_dir_all(&user.home).unwrap();
        system::chown(&user.home, (user.uid, user.gid), false);
        user
    })
}

fn keygen(path: &Path, passphrase: &str) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-C",
            "backup-center-test",
            "-N",
            passphrase,
            "-f",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen is required (apt-get install openssh-client)");
    assert!(status.success(), "ssh-keygen {}", path.display());
}

/// Unique within this machine for the run: the process id and a counter.
fn unique() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
