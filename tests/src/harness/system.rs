//! What the server harnesses (vsftpd, sshd) need from the system, as root: local login
//! accounts, file ownership and small tmpfs mounts (a full disk on demand).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A local account as `/etc/passwd` has it.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// useradd, userdel and chpasswd lock /etc/passwd; within this process, take turns.
static PASSWD: Mutex<()> = Mutex::new(());

/// Panics unless this process runs as root, saying that `tests` need it and why.
pub(crate) fn require_root(tests: &str, why: &str) {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert_eq!(uid, "0", "{tests} need root ({why}): run them as root");
}

/// Runs an account tool (`useradd`, `chpasswd`, …) with `stdin`, retrying for up to 30 s
/// while another process (another test binary, a benchmark) holds the passwd lock.
///
/// # Errors
/// What the tool said when it failed for another reason.
pub(crate) fn account_tool(
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<(), String> {
    let _turn = PASSWD.lock().unwrap_or_else(|p| p.into_inner());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {program}: {e}"));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if Instant::now() > deadline || !err.contains("lock") {
            return Err(format!("{program} {args:?} failed: {err}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The account `name`, if there is one.
pub(crate) fn account(name: &str) -> Option<Account> {
    let out = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let entry = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let fields: Vec<&str> = entry.split(':').collect();
    Some(Account {
        name: name.to_string(),
        uid: fields.get(2)?.parse().ok()?,
        gid: fields.get(3)?.parse().ok()?,
        home: PathBuf::from(fields.get(5)?),
    })
}

/// Sets the password of the account `name`.
pub(crate) fn set_password(name: &str, password: &str) {
    account_tool("chpasswd", &[], Some(&format!("{name}:{password}\n")))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Deletes the account `name`, waiting up to 5 s for its processes (a killed server's
/// sessions) to go.
pub(crate) fn remove_account(name: &str) {
    for _ in 0..50 {
        if account_tool("userdel", &[name], None).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Gives `path` (with `recursive`, everything below it too) to `uid:gid`.
pub(crate) fn chown(path: &Path, (uid, gid): (u32, u32), recursive: bool) {
    let mut cmd = Command::new("chown");
    if recursive {
        cmd.arg("-R");
    }
    let status = cmd
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .expect("run chown");
    assert!(status.success(), "chown {}", path.display());
}

/// A small tmpfs mounted at a folder (a full disk on demand); unmounted on drop.
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts `size_mb` MiB at `path` (created if missing), owned by `owner` (uid, gid).
    pub fn mount(path: &Path, size_mb: u32, owner: (u32, u32)) -> Self {
        fs::create_dir_all(path).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!(
                "size={size_mb}m,uid={},gid={},mode=0755",
                owner.0, owner.1
            ))
            .arg("tmpfs")
            .arg(path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs at {} failed: the full-disk tests need root with CAP_SYS_ADMIN",
            path.display()
        );
        Self {
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a killed server's session): detach it now, gone when released.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}
