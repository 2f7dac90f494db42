//! Watching a session bus for desktop notifications. tauri-plugin-notification answers Ok even
//! when no notification daemon runs, so the proof that the app notified is its
//! `org.freedesktop.Notifications.Notify` call on the bus, seen here through `dbus-monitor`
//! (the test bus allows monitoring; nothing owns the name, so nothing is shown).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::desktop::SessionBus;
use super::process::{require_program, wait_until, Child};

pub struct NotifyMonitor {
    _child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

/// One `Notify` call: its arguments as dbus-monitor prints them.
#[derive(Debug, Clone)]
pub struct NotifyCall {
    /// `string "…"` arguments, unquoted, in order: app name, icon, summary, body.
    pub strings: Vec<String>,
}

impl NotifyCall {
    pub fn summary(&self) -> &str {
        self.strings.get(2).map(String::as_str).unwrap_or("")
    }

    pub fn body(&self) -> &str {
        self.strings.get(3).map(String::as_str).unwrap_or("")
    }
}

impl NotifyMonitor {
    /// Starts watching `bus` for `Notify` method calls.
    pub fn start(bus: &SessionBus) -> Self {
        require_program("dbus-monitor", "dbus");
        let mut cmd = Command::new("dbus-monitor");
        cmd.arg("--address")
            .arg(&bus.address)
            .arg("type='method_call',interface='org.freedesktop.Notifications',member='Notify'")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = Child::spawn("dbus-monitor", &mut cmd);
        let stdout = child.inner_mut().stdout.take().expect("piped stdout");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        // dbus-monitor announces itself (its NameAcquired/NameLost signals) once it monitors.
        wait_until(
            "dbus-monitor to watch the bus",
            Duration::from_secs(10),
            || {
                child.assert_running();
                !lines.lock().unwrap().is_empty()
            },
        );
        Self {
            _child: child,
            lines,
        }
    }

    /// Every `Notify` call seen so far.
    pub fn calls(&self) -> Vec<NotifyCall> {
        let lines = self.lines.lock().unwrap().clone();
        let mut calls = Vec::new();
        let mut current: Option<NotifyCall> = None;
        for line in lines {
            if !line.starts_with(' ') {
                calls.extend(current.take());
                if line.starts_with("method call") && line.contains("member=Notify") {
                    current = Some(NotifyCall {
                        strings: Vec::new(),
                    });
                }
                continue;
            }
            if let Some(c) = current.as_mut() {
                let t = line.trim_start();
                if let Some(s) = t.strip_prefix("string \"") {
                    // dbus-monitor prints the string as is, between quotes, on one line
                    // (a string with a line break continues on the next lines, rare here).
                    c.strings.push(s.strip_suffix('"').unwrap_or(s).to_string());
                }
            }
        }
        calls.extend(current);
        calls
    }

    /// Waits up to `timeout` for a `Notify` call whose summary is `summary`.
    pub fn wait_for(&self, summary: &str, timeout: Duration) -> NotifyCall {
        let mut found = None;
        wait_until(
            &format!("a \"{summary}\" notification on the session bus"),
            timeout,
            || {
                found = self.calls().into_iter().find(|c| c.summary() == summary);
                found.is_some()
            },
        );
        found.expect("found")
    }
}
