//! The desktop parts: session bus, Secret Service, X server, WebDriver.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::process::{quiet, require_program, wait_until, Child};

/// A private D-Bus session bus with no service activation, so nothing but what a test starts
/// answers on it.
pub struct SessionBus {
    _child: Child,
    pub address: String,
    _dir: tempfile::TempDir,
}

impl SessionBus {
    pub fn start() -> Self {
        require_program("dbus-daemon", "dbus");
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("bus");
        let config = dir.path().join("session.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("write bus config");
        let mut cmd = Command::new("dbus-daemon");
        cmd.arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .arg("--print-address=1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = Child::spawn("dbus-daemon", &mut cmd);
        let stdout = child.inner_mut().stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        let address = line.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        Self {
            _child: child,
            address,
            _dir: dir,
        }
    }

    /// Whether a name is owned on this bus.
    pub fn has_owner(&self, name: &str) -> bool {
        Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false)
    }
}

/// gnome-keyring's Secret Service, unlocked, with its keyrings under its own XDG folders.
pub struct SecretService {
    _child: Child,
    pub data_home: PathBuf,
    bus_address: String,
    _dir: tempfile::TempDir,
}

impl SecretService {
    pub fn start(bus: &SessionBus) -> Self {
        require_program("gnome-keyring-daemon", "gnome-keyring");
        require_program("secret-tool", "libsecret-tools");
        require_program("dbus-send", "dbus");
        let dir = tempfile::tempdir().expect("temp dir");
        let data_home = dir.path().join("data");
        let runtime = dir.path().join("runtime");
        let cache = dir.path().join("cache");
        for d in [&data_home, &runtime, &cache] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut cmd = Command::new("gnome-keyring-daemon");
        cmd.args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("XDG_DATA_HOME", &data_home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_CACHE_HOME", &cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = Child::spawn("gnome-keyring-daemon", &mut cmd);
        {
            let mut stdin = child.inner_mut().stdin.take().expect("piped stdin");
            // The password of the test login keyring; --unlock reads it from stdin.
            stdin.write_all(b"backup-center-test").unwrap();
        }
        wait_until(
            "the Secret Service on the test bus",
            Duration::from_secs(15),
            || {
                child.assert_running();
                bus.has_owner("org.freedesktop.secrets")
            },
        );
        Self {
            _child: child,
            data_home,
            bus_address: bus.address.clone(),
            _dir: dir,
        }
    }

    /// Looks a secret up by its attributes with `secret-tool`, as another program would.
    pub fn lookup(&self, attributes: &[(&str, &str)]) -> Option<String> {
        let mut cmd = Command::new("secret-tool");
        cmd.arg("lookup")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address);
        for (k, v) in attributes {
            cmd.arg(k).arg(v);
        }
        let out = cmd.output().expect("run secret-tool");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string())
    }
}

/// A virtual X server.
pub struct Xvfb {
    _child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Self {
        require_program("Xvfb", "xvfb");
        let mut cmd = Command::new("Xvfb");
        cmd.args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = Child::spawn("Xvfb", &mut cmd);
        let stdout = child.inner_mut().stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("Xvfb prints its display number");
        let n: u32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb printed {line:?}"));
        Self {
            _child: child,
            display: format!(":{n}"),
        }
    }
}

/// WebKitWebDriver on a free 127.0.0.1 port; the app it starts inherits `env`.
pub struct WebDriverServer {
    _child: Child,
    pub url: String,
}

impl WebDriverServer {
    pub fn start(env: &[(&str, &str)]) -> Self {
        require_program("WebKitWebDriver", "webkit2gtk-driver");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut cmd = Command::new("WebKitWebDriver");
        cmd.arg(format!("--port={port}")).arg("--host=127.0.0.1");
        // Without this the WebDriver session never starts (the app does not enable automation).
        cmd.env("TAURI_WEBVIEW_AUTOMATION", "true");
        cmd.envs(env.iter().copied());
        quiet(&mut cmd);
        let child = Child::spawn("WebKitWebDriver", &mut cmd);
        wait_until("WebKitWebDriver to listen", Duration::from_secs(15), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Self {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// A system tray host (trayer) docked at the top right of the display, so the app's tray icon
/// is shown and can be clicked.
pub struct TrayHost {
    _child: Child,
}

impl TrayHost {
    /// Height of the tray bar; icons are square, so the app's icon is at
    /// `(screen_width - TRAY_HEIGHT / 2, TRAY_HEIGHT / 2)`.
    pub const HEIGHT: u32 = 32;

    pub fn start(display: &str) -> Self {
        require_program("trayer", "trayer");
        let mut cmd = Command::new("trayer");
        cmd.args([
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "request",
        ])
        .args([
            "--height",
            &Self::HEIGHT.to_string(),
            "--transparent",
            "false",
        ])
        .env("DISPLAY", display);
        quiet(&mut cmd);
        let mut child = Child::spawn("trayer", &mut cmd);
        std::thread::sleep(Duration::from_millis(500));
        child.assert_running();
        Self { _child: child }
    }
}

/// Input as a user gives it, through xdotool.
pub fn xdotool(display: &str, args: &[&str]) {
    require_program("xdotool", "xdotool");
    let status = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .status()
        .expect("run xdotool");
    assert!(status.success(), "xdotool {args:?} failed: {status}");
}
