//! Driving the window from the keyboard only: keys go to whatever has the focus, as from a
//! real keyboard (WebDriver actions; an element's send_keys would move the focus to it first),
//! and where the focus is, whether it shows a ring.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::Client;

use super::{by_id, shot};

async fn keyboard(c: &Client, actions: Vec<KeyAction>) {
    let seq = actions
        .into_iter()
        .fold(KeyActions::new("keyboard".into()), InputSource::then);
    c.perform_actions(seq).await.expect("keyboard actions");
}

/// Presses and releases `key`.
pub async fn press(c: &Client, key: Key) {
    let value = key.into();
    keyboard(c, vec![KeyAction::Down { value }, KeyAction::Up { value }]).await;
}

/// Presses `key` while holding `modifier` (Shift+Tab, Control+A).
pub async fn press_with(c: &Client, modifier: Key, key: char) {
    let (m, value) = (modifier.into(), key);
    keyboard(
        c,
        vec![
            KeyAction::Down { value: m },
            KeyAction::Down { value },
            KeyAction::Up { value },
            KeyAction::Up { value: m },
        ],
    )
    .await;
}

/// Types `text` into the focused field, key by key.
pub async fn type_keys(c: &Client, text: &str) {
    let actions = text
        .chars()
        .flat_map(|value| [KeyAction::Down { value }, KeyAction::Up { value }])
        .collect();
    keyboard(c, actions).await;
}

/// Replaces the focused field's text: Control+A, then `text` typed over it.
pub async fn retype_keys(c: &Client, text: &str) {
    press_with(c, Key::Control, 'a').await;
    type_keys(c, text).await;
}

/// What has the focus: its data-testid, else `tag#id`, else `tag "label"`.
pub async fn focused(c: &Client) -> String {
    let v = c
        .execute(
            "const e = document.activeElement; \
             if (!e || e === document.body) return 'body'; \
             const t = e.getAttribute('data-testid'); if (t) return t; \
             const tag = e.tagName.toLowerCase(); \
             if (e.id) return tag + '#' + e.id; \
             const label = e.getAttribute('aria-label') || e.textContent.trim(); \
             return tag + ' \"' + label.slice(0, 40) + '\"';",
            vec![],
        )
        .await
        .expect("the focused element");
    v.as_str().unwrap_or_default().to_string()
}

/// Fails with `what` unless the element `id` has the focus.
pub async fn expect_focus(c: &Client, id: &str, what: &str) {
    let now = focused(c).await;
    if now != id {
        shot(c, "focus-step.png").await;
        panic!("{what}: the focus is on {now}, not {id} (focus-step.png)");
    }
}

/// Presses Tab (or Shift+Tab when `back`) until `id` has the focus, at most `max` times;
/// fails with the elements the focus went through.
async fn move_focus_to(c: &Client, id: &str, back: bool, max: usize) {
    let mut path = vec![focused(c).await];
    for _ in 0..max {
        if path.last().map(String::as_str) == Some(id) {
            return;
        }
        if back {
            press_with(c, Key::Shift, Key::Tab.into()).await;
        } else {
            press(c, Key::Tab).await;
        }
        path.push(focused(c).await);
    }
    if path.last().map(String::as_str) != Some(id) {
        shot(c, "focus-step.png").await;
        panic!(
            "{id} is not reachable with {}: the focus went {} (focus-step.png)",
            if back { "Shift+Tab" } else { "Tab" },
            path.join(" → ")
        );
    }
}

/// Tab until `id` has the focus (at most 40 presses).
pub async fn tab_to(c: &Client, id: &str) {
    move_focus_to(c, id, false, 40).await;
}

/// Shift+Tab until `id` has the focus (at most 40 presses).
pub async fn shift_tab_to(c: &Client, id: &str) {
    move_focus_to(c, id, true, 40).await;
}

/// Fails unless the focused element shows a focus ring (the app's: a visible outline on it, or
/// on its label for a radio button), so a keyboard user sees where they are.
pub async fn expect_focus_ring(c: &Client, what: &str) {
    let v = c
        .execute(
            "const e = document.activeElement; \
             const ring = (x) => { const s = getComputedStyle(x); \
               return s.outlineStyle !== 'none' && s.outlineWidth !== '0px'; }; \
             const label = e.type === 'radio' ? e.closest('label') : null; \
             return ring(e) || (label !== null && ring(label));",
            vec![],
        )
        .await
        .expect("the focused element's style");
    if v != serde_json::json!(true) {
        shot(c, "focus-step.png").await;
        panic!("{what}: no visible focus ring on {}", focused(c).await);
    }
}

/// Fails unless the focus is inside the element `id` (a dialog keeps it while open).
pub async fn expect_focus_within(c: &Client, id: &str, what: &str) {
    let inside = c
        .execute(
            "return !!document.activeElement.closest(arguments[0]);",
            vec![serde_json::json!(by_id(id))],
        )
        .await
        .expect("where the focus is");
    if inside != serde_json::json!(true) {
        shot(c, "focus-step.png").await;
        panic!("{what}: the focus is on {}, outside {id}", focused(c).await);
    }
}
