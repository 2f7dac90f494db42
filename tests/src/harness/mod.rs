//! Starts and stops the real parts end-to-end tests need, each on its own: a D-Bus session
//! bus, the Secret Service (gnome-keyring, unlocked, in its own XDG folders), an X server
//! (Xvfb), WebKitWebDriver, vsftpd for the FTP destination tests and OpenSSH's sshd for the
//! SFTP destination, and dbus-monitor watching for notifications. Every part is killed
//! when its handle drops.
//!
//! A missing program is a test failure with the package to install, never a silent skip.

pub mod app;
mod desktop;
pub mod notifications;
mod process;
mod sshd;
mod system;
pub mod vsftpd;
mod x11;

pub use desktop::{xdotool, SecretService, SessionBus, TrayHost, WebDriverServer, Xvfb};
pub use notifications::{NotifyCall, NotifyMonitor};
pub use process::{debug_binary, require_program, wait_until, workspace_root, Child};
pub use sshd::{test_user, Sshd, KEY_PASSPHRASE, TEST_PASSWORD, TEST_USER};
pub use system::{Account, Tmpfs};
pub use vsftpd::{FtpTls, TestPki, Vsftpd, VsftpdOptions};
pub use x11::X11;
