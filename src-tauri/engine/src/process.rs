//! Process-wide settings the binaries apply first thing in `main`.

/// Turns transparent huge pages off for this process. Allocators reserve large regions and
/// touch them sparsely; with huge pages every touch can make 2 MiB resident (measured with
/// mimalloc, which asks for them: a large-site snapshot peaked at 116 MB instead of 83 MB, at
/// the same speed). Failure only costs memory, so it is ignored; the setting is the
/// process's own (and its children's).
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
}
