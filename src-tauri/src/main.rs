// Prevents an additional console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    backup_center_engine::process::disable_transparent_huge_pages();
    backup_center_lib::run();
}
