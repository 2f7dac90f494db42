//! Starts and stops the real parts end-to-end tests need, each on its own: a D-Bus session
//! bus, the Secret Service (gnome-keyring, unlocked, in its own XDG folders), an X server
//! (Xvfb) and WebKitWebDriver. Every part is killed when its handle drops.
//!
//! A missing program is a test failure with the package to install, never a silent skip.

mod desktop;
mod process;

pub use desktop::{SecretService, SessionBus, WebDriverServer, Xvfb};
pub use process::{require_program, workspace_root, Child};
