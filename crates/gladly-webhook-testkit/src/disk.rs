//! A small file system to fill: what the full-disk tests write on.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a given size mounted on a fresh folder, unmounted on drop.
/// Mounting needs root: where it is not permitted, [`Tmpfs::mount`] says
/// so and gives `None` (the test passes without its full-disk half),
/// except under `CI`, where it fails the test.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -t tmpfs -o size=...`).
    ///
    /// # Panics
    ///
    /// When `CI` is set and the tmpfs cannot be mounted.
    pub fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Some(Self { dir });
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but a tmpfs cannot be mounted (run as root): the full-disk recovery would go untested"
        );
        eprintln!(
            "skipping the full-disk test: mounting a tmpfs is not permitted here (run as root)"
        );
        None
    }

    /// The mounted folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system holding `dir` with a file of zeros; the file (to
/// delete for space again).
///
/// # Panics
///
/// When the file cannot be created.
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("the filler file");
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    path
}
