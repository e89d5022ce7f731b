//! `Dir::rename_new`: publish a file under a name only if the name is free.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nfv_safefs::{Dir, Kind, Problem};
use std::io::Write;
use std::os::unix::fs::symlink;

fn tempdir(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("nfv-safefs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

#[test]
fn rename_new_publishes_whole_and_never_replaces() {
    let p = tempdir("rename-new");
    let d = Dir::open(&p).unwrap();
    let mut f = d.create_new("tmp1", 0o600).unwrap();
    f.write_all(b"mine").unwrap();
    drop(f);
    d.rename_new("tmp1", Kind::File, &d, "lease").unwrap();
    assert_eq!(std::fs::read(p.join("lease")).unwrap(), b"mine");
    assert!(!p.join("tmp1").exists());

    // Taken, by a file or by a symlink (never followed, never replaced): refused, source kept.
    d.create_new("tmp2", 0o600).unwrap();
    let e = d.rename_new("tmp2", Kind::File, &d, "lease").unwrap_err();
    assert_eq!(e.problem.io_kind(), Some(std::io::ErrorKind::AlreadyExists));
    assert_eq!(std::fs::read(p.join("lease")).unwrap(), b"mine");
    symlink("/etc/hostname", p.join("link")).unwrap();
    let e = d.rename_new("tmp2", Kind::File, &d, "link").unwrap_err();
    assert_eq!(e.problem.io_kind(), Some(std::io::ErrorKind::AlreadyExists));
    assert!(p.join("tmp2").exists());

    // The source must be of the expected kind.
    let e = d.rename_new("link", Kind::File, &d, "other").unwrap_err();
    assert!(matches!(e.problem, Problem::Symlink), "{e}");
    let _ = std::fs::remove_dir_all(&p);
}
