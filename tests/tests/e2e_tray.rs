//! The window and the tray as a user meets them: closing the window hides it and the app keeps
//! running in the tray; the tray menu's "Open Backup Center" shows it again; "Quit" exits.
//! A real tray host (trayer) on Xvfb; input through xdotool, the menu driven by keyboard
//! (Down selects the first item, Up the last) so no menu geometry is assumed.

use std::time::Duration;

use bc_tests::harness::app::{el, AppUnderTest, WINDOW_TITLE};
use bc_tests::harness::{wait_until, xdotool, TrayHost, X11};

const SCREEN_WIDTH: u32 = 1280;

#[test]
fn close_hides_to_tray_open_shows_and_quit_exits() {
    let mut app = AppUnderTest::start();
    let _tray = TrayHost::start(&app.x.display);
    let display = app.x.display.clone();
    let x = X11::connect(&display);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(async {
        let c = app.launch().await;
        el(&c, "page-configuration").await; // no site yet: the app opens on Configuration
        c
    });
    assert!(
        x.any_viewable(WINDOW_TITLE),
        "the main window must be shown at start"
    );
    assert_eq!(app.app_pids().len(), 1);

    // The close button: hidden, still running.
    assert!(x.request_close(WINDOW_TITLE) > 0, "no window to close");
    wait_until("the window to hide", Duration::from_secs(10), || {
        !x.any_viewable(WINDOW_TITLE)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        app.app_pids().len(),
        1,
        "closing the window must keep the app running in the tray"
    );

    let icon = (SCREEN_WIDTH - TrayHost::HEIGHT / 2).to_string();
    let mid = (TrayHost::HEIGHT / 2).to_string();
    let open_menu_and = |keys: &[&str]| {
        xdotool(&display, &["mousemove", &icon, &mid, "click", "1"]);
        std::thread::sleep(Duration::from_millis(700));
        let mut args = vec!["key", "--delay", "150"];
        args.extend_from_slice(keys);
        xdotool(&display, &args);
    };

    // Tray → Open Backup Center.
    open_menu_and(&["Down", "Return"]);
    wait_until(
        "the window to show again from the tray",
        Duration::from_secs(10),
        || x.any_viewable(WINDOW_TITLE),
    );
    rt.block_on(async { el(&c, "page-configuration").await });

    // Tray → Quit.
    open_menu_and(&["Up", "Return"]);
    wait_until(
        "the app to exit after Quit",
        Duration::from_secs(15),
        || app.app_pids().is_empty(),
    );
    drop(c);
}
