//! Downloads ("Download…" in the app) from plain FTP and FTPS: the checks every server passes
//! (`bc_tests::storage::check_downloads`), among them a control connection still usable after
//! a transfer that the local side broke off.

use bc_tests::harness::{FtpTls, Vsftpd};
use bc_tests::storage::check_downloads;

use super::session;

fn downloads(tls: FtpTls) {
    let server = Vsftpd::start(tls);
    let (_, mut s) = session(&server, "downloads");
    let folder = server.home().join("downloads");
    let scheme = if tls == FtpTls::None { "ftp" } else { "ftps" };
    let shown = format!(
        "{scheme}://{}@127.0.0.1:{}{}",
        server.user(),
        server.port(),
        folder.display()
    );
    check_downloads(&mut s, &folder, &shown);
}

#[test]
fn a_multi_mib_backup_downloads_byte_identical_over_plain_ftp() {
    downloads(FtpTls::None);
}

#[test]
fn a_multi_mib_backup_downloads_byte_identical_over_ftps() {
    downloads(FtpTls::Explicit);
}
