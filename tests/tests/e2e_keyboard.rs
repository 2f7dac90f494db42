//! The window driven from the keyboard alone (Xvfb + WebKitWebDriver): every key goes to
//! whatever has the focus, through WebDriver actions; nothing is clicked. From a fresh app:
//! Tab into the navigation and switch pages with Enter and Space; the site (the simulator) and
//! a local destination typed in, tested and saved (arrow keys in the kind's radio group);
//! "+ New scheme" opens the dialog with the focus inside it, Escape closes it and gives the
//! focus back to "+"; the dialog's fields filled (a select changed with the arrow keys, days
//! ticked with Space), the focus kept inside the dialog at both ends, the scheme saved; then
//! Backup now runs it. Where the focus goes it shows a ring. Screenshots in `.test-artifacts/`.
//!
//! Needs the app built first (`make test` does it), Xvfb, dbus, gnome-keyring and
//! webkit2gtk-driver; a missing part fails the test.

use bc_tests::harness::app::{
    absent, by_id, el, expect_focus, expect_focus_ring, expect_focus_within, focused, one_window,
    press, press_with, retype_keys, scheme_line, shift_tab_to, shot, tab_to, text, type_keys,
    value, wait_css, AppUnderTest,
};
use bc_tests::sim::{self, SimConfig};
use fantoccini::key::Key;
use fantoccini::Client;

/// Whether a checkbox or radio is checked.
async fn checked(c: &Client, id: &str) -> bool {
    el(c, id).await.is_selected().await.unwrap()
}

/// Tab to a navigation entry, activate it with `key`, and wait for its page; the entry is
/// marked as the current page and keeps the focus.
async fn go_to(c: &Client, page: &str, back: bool, key: Key) {
    let nav = format!("nav-{page}");
    if back {
        shift_tab_to(c, &nav).await;
    } else {
        tab_to(c, &nav).await;
    }
    expect_focus_ring(c, &format!("{nav} focused from the keyboard")).await;
    press(c, key).await;
    el(c, &format!("page-{page}")).await;
    wait_css(
        c,
        &format!("{}[aria-current=page]", by_id(&nav)),
        5,
        "the entry is marked as the current page",
    )
    .await;
    expect_focus(c, &nav, "the focus stays on the entry").await;
}

/// Tab to `id`, then type `text` into it.
async fn tab_and_type(c: &Client, id: &str, text: &str) {
    tab_to(c, id).await;
    type_keys(c, text).await;
    assert_eq!(value(c, id).await, text, "typed into {id}");
}

/// Configuration, keyboard only: the simulator's site, tested and saved, then a local
/// destination (kind chosen with the arrow keys) tested and saved.
async fn configure(c: &Client, base_url: &str, folder: &str) {
    tab_and_type(c, "site-url", base_url).await;
    press(c, Key::Tab).await;
    expect_focus(c, "site-email", "Tab goes from the URL to the email").await;
    type_keys(c, sim::ADMIN_EMAIL).await;
    press(c, Key::Tab).await;
    expect_focus(c, "site-token", "Tab goes from the email to the token").await;
    type_keys(c, sim::ADMIN_TOKEN).await;
    tab_to(c, "site-test").await;
    press(c, Key::Return).await;
    let name = wait_css(c, &by_id("display-name"), 30, "Test connection by Enter")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(name.trim(), sim::ADMIN_NAME);
    tab_to(c, "site-save").await;
    press(c, Key::Return).await;
    el(c, "token-stored").await;

    // The kind is a radio group: Tab enters it on the checked one, arrows move the choice.
    tab_to(c, "destination-kind-local").await;
    expect_focus_ring(c, "the checked kind").await;
    press(c, Key::Right).await;
    expect_focus(c, "destination-kind-sftp", "Right moves to SFTP").await;
    expect_focus_ring(c, "a kind reached with an arrow key").await;
    el(c, "destination-host").await;
    shot(c, "keyboard-destination-kind.png").await;
    press(c, Key::Left).await;
    expect_focus(c, "destination-kind-local", "Left moves back").await;
    assert!(
        checked(c, "destination-kind-local").await,
        "Local is chosen"
    );
    tab_and_type(c, "destination-name", "Disk").await;
    tab_and_type(c, "destination-folder", folder).await;
    tab_to(c, "destination-test").await;
    press(c, Key::Space).await;
    wait_css(
        c,
        "[data-testid=destination-report][data-ok=true]",
        30,
        "Test connection by Space passes",
    )
    .await;
    tab_to(c, "destination-save").await;
    press(c, Key::Return).await;
    el(c, "destination-status").await;
}

#[test]
fn the_admin_can_do_everything_from_the_keyboard() {
    let _one = one_window();
    let mut app = AppUnderTest::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(sim::start(SimConfig::default())).unwrap();
    let backups = tempfile::tempdir().unwrap();

    rt.block_on(async {
        let c = app.launch().await;
        // A fresh app opens on Configuration; the first Tab lands in the navigation.
        el(&c, "page-configuration").await;
        press(&c, Key::Tab).await;
        expect_focus(&c, "nav-control-panel", "the first Tab").await;
        expect_focus_ring(&c, "the first navigation entry").await;
        go_to(&c, "schemes", false, Key::Return).await;
        el(&c, "schemes-need-config").await;
        shot(&c, "keyboard-nav-focus.png").await;
        go_to(&c, "configuration", false, Key::Space).await;

        configure(&c, &sim.base_url, &backups.path().display().to_string()).await;
        shot(&c, "keyboard-configuration.png").await;

        // Schemes: "+" opens the dialog with the focus inside; Escape closes it and gives the
        // focus back to "+".
        go_to(&c, "schemes", true, Key::Return).await;
        wait_css(&c, "[data-testid=scheme-new]:enabled", 10, "+ enabled").await;
        tab_to(&c, "scheme-new").await;
        expect_focus_ring(&c, "+ New scheme").await;
        press(&c, Key::Return).await;
        el(&c, "scheme-dialog").await;
        expect_focus_within(&c, "scheme-dialog", "the opened dialog takes the focus").await;
        press(&c, Key::Escape).await;
        wait_css(&c, "[data-testid=scheme-new]", 5, "the page is back").await;
        assert!(
            absent(&c, "scheme-dialog").await,
            "Escape closes the dialog"
        );
        expect_focus(
            &c,
            "scheme-new",
            "the focus returns to the button that opened it",
        )
        .await;

        // Again, and fill the form without a preset.
        press(&c, Key::Space).await;
        el(&c, "scheme-dialog").await;
        expect_focus_within(&c, "scheme-dialog", "the dialog takes the focus again").await;
        shot(&c, "keyboard-scheme-dialog-open.png").await;
        tab_and_type(&c, "scheme-name", "Keyboard nightly").await;
        press(&c, Key::Tab).await;
        expect_focus(&c, "scheme-kind", "Tab goes from the name to the type").await;
        press(&c, Key::Down).await;
        wait_until_value(&c, "scheme-kind", "extended", "Down picks the next type").await;
        press(&c, Key::Up).await;
        wait_until_value(&c, "scheme-kind", "basic", "Up goes back").await;
        for day in ["monday", "thursday"] {
            let id = format!("scheme-day-{day}");
            tab_to(&c, &id).await;
            expect_focus_ring(&c, "a day's checkbox").await;
            press(&c, Key::Space).await;
            assert!(checked(&c, &id).await, "Space ticks {day}");
        }
        tab_to(&c, "scheme-time").await;
        retype_keys(&c, "04:15").await;
        tab_to(&c, "scheme-keep").await;
        retype_keys(&c, "4").await;
        tab_and_type(&c, "scheme-folder", "kbd").await;
        tab_to(&c, "scheme-save").await;
        expect_focus_ring(&c, "Save scheme").await;
        // The dialog keeps the focus: Tab past its last control comes back to its first
        // (Close), and Shift+Tab from there goes back to the last.
        press(&c, Key::Tab).await;
        expect_focus_within(&c, "scheme-dialog", "Tab past the end stays in the dialog").await;
        assert_eq!(
            focused(&c).await,
            "button \"Close\"",
            "Tab wraps to the first"
        );
        press_with(&c, Key::Shift, Key::Tab.into()).await;
        expect_focus(&c, "scheme-save", "Shift+Tab wraps back to the last").await;
        shot(&c, "keyboard-scheme-dialog-filled.png").await;
        press(&c, Key::Return).await;
        let line = scheme_line(&c, "Keyboard nightly").await;
        assert!(
            line.contains("04:15") && line.contains("kbd"),
            "the saved line shows the typed time and folder: {line}"
        );
        expect_focus(&c, "scheme-new", "after Save the focus returns to +").await;
        shot(&c, "keyboard-scheme-saved.png").await;

        // Control panel: Backup now from the keyboard.
        go_to(&c, "control-panel", true, Key::Return).await;
        wait_css(
            &c,
            "[data-testid=run-all]:enabled",
            10,
            "Backup now enabled",
        )
        .await;
        tab_to(&c, "run-all").await;
        expect_focus_ring(&c, "Backup now").await;
        shot(&c, "keyboard-backup-now-focus.png").await;
        press(&c, Key::Return).await;
        wait_css(
            &c,
            "[data-testid=latest-state][data-state=succeeded]",
            120,
            "the backup started from the keyboard succeeds",
        )
        .await;
        let scheme = text(&c, "latest-scheme").await;
        assert_eq!(scheme.trim(), "Keyboard nightly");
        let row = wait_css(&c, "[data-testid=file-row]", 10, "the file is listed").await;
        let name = row.attr("data-name").await.unwrap().unwrap();
        let file = backups.path().join("kbd").join(&name);
        assert!(file.is_file(), "{} must exist", file.display());
        shot(&c, "keyboard-backup-done.png").await;
        c.close().await.unwrap();
    });
}

/// Waits up to 5 s for a control's value (a select changes on the key's default action).
async fn wait_until_value(c: &Client, id: &str, want: &str, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let now = value(c, id).await;
        if now == want {
            return;
        }
        if std::time::Instant::now() > deadline {
            shot(c, "focus-step.png").await;
            panic!("{what}: {id} is {now:?}, not {want:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
