//! Just enough X11 to treat the app window as a desktop would: find it by title, ask it to
//! close (WM_DELETE_WINDOW, what a window manager sends for the close button) and see whether
//! it is shown.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, MapState, Window,
};
use x11rb::rust_connection::RustConnection;

pub struct X11 {
    conn: RustConnection,
    root: Window,
}

impl X11 {
    pub fn connect(display: &str) -> Self {
        let (conn, screen) = x11rb::connect(Some(display))
            .unwrap_or_else(|e| panic!("cannot connect to X display {display}: {e}"));
        let root = conn.setup().roots[screen].root;
        Self { conn, root }
    }

    fn atom(&self, name: &str) -> u32 {
        self.conn
            .intern_atom(false, name.as_bytes())
            .unwrap()
            .reply()
            .unwrap()
            .atom
    }

    fn title(&self, w: Window) -> String {
        let utf8 = self.atom("UTF8_STRING");
        let net = self.atom("_NET_WM_NAME");
        for (prop, ty) in [
            (net, utf8),
            (AtomEnum::WM_NAME.into(), AtomEnum::STRING.into()),
        ] {
            if let Ok(Ok(r)) = self
                .conn
                .get_property(false, w, prop, ty, 0, 1024)
                .map(|c| c.reply())
            {
                if !r.value.is_empty() {
                    return String::from_utf8_lossy(&r.value).to_string();
                }
            }
        }
        String::new()
    }

    /// Top-level windows (children of the root) with exactly this title.
    pub fn windows_titled(&self, title: &str) -> Vec<Window> {
        let tree = self.conn.query_tree(self.root).unwrap().reply().unwrap();
        tree.children
            .into_iter()
            .filter(|w| self.title(*w) == title)
            .collect()
    }

    pub fn is_viewable(&self, w: Window) -> bool {
        self.conn
            .get_window_attributes(w)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some_and(|a| a.map_state == MapState::VIEWABLE)
    }

    /// Whether any top-level window with this title is shown.
    pub fn any_viewable(&self, title: &str) -> bool {
        self.windows_titled(title)
            .into_iter()
            .any(|w| self.is_viewable(w))
    }

    /// Sends WM_DELETE_WINDOW to every shown window with this title, as a close button would.
    pub fn request_close(&self, title: &str) -> usize {
        let protocols = self.atom("WM_PROTOCOLS");
        let delete = self.atom("WM_DELETE_WINDOW");
        let mut sent = 0;
        for w in self.windows_titled(title) {
            if !self.is_viewable(w) {
                continue;
            }
            let ev = ClientMessageEvent::new(32, w, protocols, [delete, 0, 0, 0, 0]);
            self.conn
                .send_event(false, w, EventMask::NO_EVENT, ev)
                .unwrap();
            sent += 1;
        }
        self.conn.flush().unwrap();
        sent
    }
}
