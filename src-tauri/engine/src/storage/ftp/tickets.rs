//! Keeping FTPS data connections resumable.
//!
//! Servers such as vsftpd (by default) refuse a data connection that does not resume the
//! control connection's TLS session ("522 … session reuse required"). With TLS 1.3 a client
//! resumes with a session ticket, and each ticket is used once: every data connection takes
//! one, and a successful one brings a new one back. A data command the server refuses (a
//! `STOR` into a folder without permission) takes a ticket and brings none back: rustls
//! builds its handshake, and so takes the ticket, before the server's answer is read. After a
//! few refusals none is left and every later transfer fails.
//!
//! [`Tickets`] is rustls's own session cache, counting the TLS 1.3 tickets it holds, so a
//! session can see it has run out and open a fresh control connection (which brings new
//! tickets) before its next data command, instead of failing. TLS 1.2 sessions are reusable
//! and are not counted.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustls::client::{ClientSessionMemoryCache, ClientSessionStore};
use rustls::client::{Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::pki_types::ServerName;
use rustls::NamedGroup;

/// rustls keeps this many TLS 1.3 tickets per server (`ClientSessionMemoryCache`), dropping
/// the oldest beyond it.
const HELD_PER_SERVER: usize = 8;

/// The TLS session cache of one FTPS session (one server), counting its TLS 1.3 tickets.
#[derive(Debug)]
pub(crate) struct Tickets {
    cache: ClientSessionMemoryCache,
    held: AtomicUsize,
    /// Whether the server ever sent a ticket: one that never does cannot be helped by
    /// reconnecting.
    issued: AtomicBool,
}

impl Tickets {
    pub(crate) fn new() -> Self {
        Self {
            cache: ClientSessionMemoryCache::new(4),
            held: AtomicUsize::new(0),
            issued: AtomicBool::new(false),
        }
    }

    /// Whether the next data connection would start without a ticket from a server that
    /// issues them (and so may require one).
    pub(crate) fn exhausted(&self) -> bool {
        self.issued.load(Ordering::Relaxed) && self.held.load(Ordering::Relaxed) == 0
    }
}

impl ClientSessionStore for Tickets {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.cache.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.cache.kx_hint(server_name)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.cache.set_tls12_session(server_name, value);
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.cache.tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.cache.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        self.cache.insert_tls13_ticket(server_name, value);
        self.issued.store(true, Ordering::Relaxed);
        let _ = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some((n + 1).min(HELD_PER_SERVER))
            });
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        let ticket = self.cache.take_tls13_ticket(server_name);
        match ticket {
            Some(_) => {
                let _ = self
                    .held
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_sub(1))
                    });
            }
            // The cache dropped what it held (expired): nothing is left whatever we counted.
            None => self.held.store(0, Ordering::Relaxed),
        }
        ticket
    }
}
