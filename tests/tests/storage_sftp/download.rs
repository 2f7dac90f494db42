//! Downloads ("Download…" in the app) from SFTP: the checks every server passes
//! (`bc_tests::storage::check_downloads`).

use backup_center_engine::storage::Destination;
use bc_tests::harness::Sshd;
use bc_tests::storage::check_downloads;

use super::{password_dest, ready};

#[test]
fn a_multi_mib_backup_downloads_byte_identical_over_sftp() {
    let sshd = Sshd::start();
    let (mut s, dir) = ready(&sshd, "downloads");
    let (dest, _) = password_dest(&sshd, &format!("{}/downloads", sshd.area_in_home()));
    check_downloads(&mut s, &dir, &dest.describe());
}
