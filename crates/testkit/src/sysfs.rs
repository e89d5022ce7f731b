//! Building fake sysfs trees.

use std::os::unix::fs::symlink;
use std::path::Path;

/// A symlink `name` -> `target`, creating `name`'s directory.
pub fn link(target: &str, name: impl AsRef<Path>) {
    let name = name.as_ref();
    std::fs::create_dir_all(name.parent().unwrap()).unwrap();
    symlink(target, name).unwrap();
}
