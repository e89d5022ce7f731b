#![allow(clippy::unwrap_used)] // a test file: a failed set-up step is a failed test
//! Each operation against the entries an attacker could plant: symlinks (to a file, to a
//! directory), FIFOs, devices, and files where a directory or socket is expected.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nfv_safefs::{read_regular_bounded, Dir, Kind, Place, Problem, Removed};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nfv-safefs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mkfifo(p: &Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

#[test]
fn a_symlinked_directory_anywhere_on_the_way_is_refused() {
    let d = scratch("dirlink");
    let target = d.join("target");
    std::fs::create_dir_all(target.join("inner")).unwrap();
    symlink(&target, d.join("link")).unwrap();
    let e = Dir::open(&d.join("link/inner")).unwrap_err();
    assert!(matches!(e.problem, Problem::Symlink), "{e}");
    let e = Dir::create_all(&d.join("link/new"), 0o755).unwrap_err();
    assert!(matches!(e.problem, Problem::Symlink), "{e}");
    assert!(
        !target.join("new").exists(),
        "nothing created through the link"
    );
    assert!(Dir::open(&d.join("target/inner")).is_ok());
    let e = Dir::open(&d.join("target/../target")).unwrap_err();
    assert!(matches!(e.problem, Problem::NotAllowed(_)), "{e}");
}

#[test]
fn a_symlinked_file_is_never_written_read_or_removed_through() {
    let d = scratch("filelink");
    let victim = d.join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    symlink(&victim, d.join("f")).unwrap();
    let dir = Dir::open(&d).unwrap();
    for e in [
        dir.open_append("f", 0o600).unwrap_err(),
        dir.write_atomic("f", b"x", 0o644).unwrap_err(),
        dir.open_read("f").unwrap_err(),
        dir.remove("f", Kind::File).unwrap_err(),
        dir.set_owner_mode("f", Kind::File, None, 0o777)
            .unwrap_err(),
    ] {
        assert!(matches!(e.problem, Problem::Symlink), "{e}");
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
    assert_ne!(mode, 0o777);
    // The link itself can be removed when a link is what the caller expects.
    assert_eq!(dir.remove("f", Kind::Symlink).unwrap(), Removed::Removed);
    assert!(victim.exists());
}

#[test]
fn a_fifo_never_blocks_and_is_refused_where_a_file_is_expected() {
    let d = scratch("fifo");
    mkfifo(&d.join("p"));
    let dir = Dir::open(&d).unwrap();
    let e = dir.open_append("p", 0o600).unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::WrongKind {
                found: Kind::Fifo,
                ..
            }
        ),
        "{e}"
    );
    let e = dir.open_read("p").unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::WrongKind {
                found: Kind::Fifo,
                ..
            }
        ),
        "{e}"
    );
    let e = read_regular_bounded(&d.join("p"), 10).unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::WrongKind {
                found: Kind::Fifo,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn reads_are_bounded_and_devices_refused() {
    let e = read_regular_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::WrongKind {
                found: Kind::CharDevice,
                ..
            }
        ),
        "{e}"
    );
    let d = scratch("bound");
    std::fs::write(d.join("big"), vec![b'a'; 100]).unwrap();
    let e = read_regular_bounded(&d.join("big"), 99).unwrap_err();
    assert!(matches!(e.problem, Problem::TooLarge(99)), "{e}");
    assert_eq!(
        read_regular_bounded(&d.join("big"), 100).unwrap().len(),
        100
    );
    let dir = Dir::open(&d).unwrap();
    assert!(matches!(
        dir.read_bounded("big", 10).unwrap_err().problem,
        Problem::TooLarge(10)
    ));
}

#[test]
fn write_atomic_replaces_files_only_and_leaves_no_temp() {
    let d = scratch("atomic");
    let dir = Dir::open(&d).unwrap();
    dir.write_atomic("a.json", b"one", 0o444).unwrap();
    dir.write_atomic("a.json", b"two", 0o444).unwrap();
    assert_eq!(std::fs::read(d.join("a.json")).unwrap(), b"two");
    assert_eq!(
        std::fs::metadata(d.join("a.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o444
    );
    assert_eq!(dir.names().unwrap(), vec!["a.json".to_string()]);
    std::fs::create_dir(d.join("sub")).unwrap();
    let e = dir.write_atomic("sub", b"x", 0o644).unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::WrongKind {
                found: Kind::Dir,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(dir.names().unwrap().len(), 2, "no temp file left");
}

#[test]
fn remove_and_rename_check_the_kind() {
    let d = scratch("kinds");
    let dir = Dir::open(&d).unwrap();
    let _l = UnixListener::bind(d.join("s.sock")).unwrap();
    std::fs::write(d.join("plain"), b"").unwrap();
    let e = dir.remove("plain", Kind::Socket).unwrap_err();
    assert!(
        matches!(
            e.problem,
            Problem::WrongKind {
                found: Kind::File,
                expected: Kind::Socket
            }
        ),
        "{e}"
    );
    assert!(d.join("plain").exists());
    let (sub, created) = dir.create_dir("pod", 0o700).unwrap();
    assert!(created);
    let e = dir.rename_to("plain", Kind::Socket, &sub, "x").unwrap_err();
    assert!(matches!(e.problem, Problem::WrongKind { .. }), "{e}");
    dir.rename_to("s.sock", Kind::Socket, &sub, "x").unwrap();
    assert_eq!(sub.kind("x").unwrap(), Some(Kind::Socket));
    sub.set_owner_mode("x", Kind::Socket, Some(0), 0o660)
        .unwrap();
    assert_eq!(dir.remove("pod", Kind::Dir).unwrap(), Removed::NotEmpty);
    assert_eq!(sub.remove("x", Kind::Socket).unwrap(), Removed::Removed);
    assert_eq!(sub.remove("x", Kind::Socket).unwrap(), Removed::Absent);
    assert_eq!(dir.remove("pod", Kind::Dir).unwrap(), Removed::Removed);
    for bad in ["", ".", "..", "a/b"] {
        assert!(matches!(
            dir.remove(bad, Kind::File).unwrap_err().problem,
            Problem::NotAllowed(_)
        ));
    }
}

#[test]
fn a_place_takes_only_paths_strictly_below_its_roots() {
    let d = scratch("place");
    let root = d.join("devinfo");
    let place = Place::new("runtimeConfig.CNIDeviceInfoFile", [root.clone()]);
    for bad in [
        PathBuf::from("/etc/passwd"),
        root.clone(),
        root.join("../x"),
        root.join("./x"),
        PathBuf::from("relative/x"),
        PathBuf::from(format!("{}x/y", root.display())),
    ] {
        let e = place.check(&bad).unwrap_err();
        assert!(
            matches!(e.problem, Problem::NotAllowed(_)),
            "{}: {e}",
            bad.display()
        );
        assert!(
            e.to_string().contains("runtimeConfig.CNIDeviceInfoFile"),
            "{e}"
        );
    }
    let (dir, name) = place
        .open_parent(&root.join("cni/a.json"), Some(0o755))
        .unwrap();
    assert_eq!(name, "a.json");
    assert_eq!(dir.path(), root.join("cni"));
    std::fs::create_dir_all(d.join("elsewhere")).unwrap();
    symlink(d.join("elsewhere"), root.join("evil")).unwrap();
    let e = place
        .open_parent(&root.join("evil/a.json"), Some(0o755))
        .unwrap_err();
    assert!(matches!(e.problem, Problem::Symlink), "{e}");
    let e = place
        .open_parent(&root.join("missing/a.json"), None)
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
}

#[test]
fn set_symlink_replaces_only_a_symlink_and_never_follows_one() {
    let d = scratch("symlinks");
    let dir = Dir::open(&d).unwrap();
    dir.set_symlink("l", Path::new("/nonexistent/a")).unwrap();
    assert_eq!(
        std::fs::read_link(d.join("l")).unwrap(),
        Path::new("/nonexistent/a")
    );
    // An old link is replaced, whatever it points to; its target is never touched.
    std::fs::write(d.join("target"), b"keep").unwrap();
    std::fs::remove_file(d.join("l")).unwrap();
    symlink(d.join("target"), d.join("l")).unwrap();
    dir.set_symlink("l", Path::new("/nonexistent/b")).unwrap();
    assert_eq!(
        std::fs::read_link(d.join("l")).unwrap(),
        Path::new("/nonexistent/b")
    );
    assert_eq!(std::fs::read(d.join("target")).unwrap(), b"keep");
    // Anything else by that name is refused and left.
    std::fs::write(d.join("f"), b"file").unwrap();
    let e = dir.set_symlink("f", Path::new("/x")).unwrap_err();
    assert!(matches!(e.problem, Problem::WrongKind { .. }), "{e}");
    assert_eq!(std::fs::read(d.join("f")).unwrap(), b"file");
    std::fs::create_dir(d.join("sub")).unwrap();
    assert!(dir.set_symlink("sub", Path::new("/x")).is_err());
    assert!(d.join("sub").is_dir());
    assert!(matches!(
        dir.set_symlink("a/b", Path::new("/x")).unwrap_err().problem,
        Problem::NotAllowed(_)
    ));
    assert_eq!(dir.remove("l", Kind::Symlink).unwrap(), Removed::Removed);
    let mut names = dir.names().unwrap();
    names.sort();
    assert_eq!(names, ["f", "sub", "target"], "no temp link left");
}
