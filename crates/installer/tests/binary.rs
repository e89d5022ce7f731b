//! The built `nfv-install` run against a scratch directory standing in for the node's
//! /opt/cni/bin: fresh install, a repeat that writes nothing, taking over the Go plugin, an
//! upgrade, someone else's binary left alone, uninstall putting the Go plugin back byte for
//! byte (the very inode), sriov-cni's entrypoint arguments, and SIGKILL at many points of a
//! large copy with a reader that must never see anything but a whole binary.
//! No root needed. deployment/tests/image.sh runs the same cases through podman on the image.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_nfv-install");
const PLUGINS: [&str; 4] = ["host-local", "sriov", "vdpa", "userspace"];

struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nfv-install-{test}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("image")).unwrap();
        Scratch { dir }
    }
    fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }
    fn image(&self) -> PathBuf {
        self.dir.join("image")
    }
    /// The image's plugins, each `<name> <version>` as content.
    fn image_version(&self, version: &str) {
        for p in PLUGINS {
            write_exec(&self.image().join(p), format!("{p} {version}\n").as_bytes());
        }
    }
    fn run(&self, args: &[&str]) -> Output {
        let bin_dir = format!("--cni-bin-dir={}", self.bin().display());
        let from = format!("--from={}", self.image().display());
        let mut a: Vec<&str> = args.to_vec();
        if matches!(args.first(), Some(&"install" | &"uninstall" | &"status")) {
            a.push(&bin_dir);
        }
        if args.first() == Some(&"install") {
            a.push(&from);
        }
        Command::new(BIN).args(&a).output().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_exec(path: &Path, content: &[u8]) {
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "exit {:?}: {text}", out.status);
    text
}

/// (inode, mtime in ns) of every plugin name.
fn stamps(bin: &Path) -> Vec<(u64, i64)> {
    PLUGINS
        .iter()
        .map(|p| {
            let m = fs::metadata(bin.join(p)).unwrap();
            (m.ino(), m.mtime() * 1_000_000_000 + m.mtime_nsec())
        })
        .collect()
}

#[test]
fn fresh_install_then_a_repeat_rewrites_nothing() {
    let s = Scratch::new("fresh");
    s.image_version("v1");
    let text = ok(&s.run(&["install"]));
    assert_eq!(text.matches(": installed (sha256").count(), 4, "{text}");
    for p in PLUGINS {
        let m = fs::metadata(s.bin().join(p)).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o755, "{p}");
        assert_eq!(
            fs::read(s.bin().join(p)).unwrap(),
            format!("{p} v1\n").as_bytes()
        );
    }
    let before = stamps(&s.bin());
    let state = s.bin().join(".nfv-cni");
    let records: Vec<_> = fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let record_stamps: Vec<_> = records
        .iter()
        .map(|r| fs::metadata(r).unwrap().mtime_nsec())
        .collect();
    std::thread::sleep(Duration::from_millis(20));

    let text = ok(&s.run(&["install"]));
    assert_eq!(text.matches(": unchanged").count(), 4, "{text}");
    assert_eq!(stamps(&s.bin()), before, "nothing rewritten");
    let again: Vec<_> = records
        .iter()
        .map(|r| fs::metadata(r).unwrap().mtime_nsec())
        .collect();
    assert_eq!(again, record_stamps, "records not rewritten either");
    let entries: Vec<_> = fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        entries.iter().all(|e| e.ends_with(".record")),
        "{entries:?}"
    );
}

#[test]
fn takes_over_the_go_plugin_upgrades_and_uninstall_puts_it_back() {
    let s = Scratch::new("takeover");
    let go = b"\x7fELF the Go sriov-cni binary\n".repeat(1000);
    write_exec(&s.bin().join("sriov"), &go);
    write_exec(&s.bin().join("bridge"), b"someone else's bridge plugin\n");
    let go_ino = fs::metadata(s.bin().join("sriov")).unwrap().ino();
    let bridge_before = fs::metadata(s.bin().join("bridge")).unwrap();

    s.image_version("v1");
    let text = ok(&s.run(&["install"]));
    assert!(
        text.contains("sriov: installed over the binary that was there"),
        "{text}"
    );
    assert_eq!(fs::read(s.bin().join("sriov")).unwrap(), b"sriov v1\n");
    assert_eq!(
        fs::read(s.bin().join(".nfv-cni/sriov.previous")).unwrap(),
        go
    );

    s.image_version("v2");
    let text = ok(&s.run(&["install"]));
    assert_eq!(text.matches(": upgraded").count(), 4, "{text}");
    assert_eq!(fs::read(s.bin().join("sriov")).unwrap(), b"sriov v2\n");
    assert_eq!(
        fs::read(s.bin().join(".nfv-cni/sriov.previous")).unwrap(),
        go
    );
    let status = ok(&s.run(&["status"]));
    assert!(
        status.contains("sriov: ours") && status.contains("puts back"),
        "{status}"
    );

    let text = ok(&s.run(&["uninstall"]));
    assert!(text.contains("sriov: put back"), "{text}");
    assert_eq!(
        text.matches(": removed (the name was free").count(),
        3,
        "{text}"
    );
    let back = fs::metadata(s.bin().join("sriov")).unwrap();
    assert_eq!(
        fs::read(s.bin().join("sriov")).unwrap(),
        go,
        "byte for byte"
    );
    assert_eq!(back.ino(), go_ino, "the very file that was there");
    assert_eq!(back.permissions().mode() & 0o7777, 0o755);
    for p in ["host-local", "vdpa", "userspace"] {
        assert!(!s.bin().join(p).exists(), "{p}");
    }
    assert!(!s.bin().join(".nfv-cni").exists());
    let bridge = fs::metadata(s.bin().join("bridge")).unwrap();
    assert_eq!(
        (bridge.ino(), bridge.mtime_nsec()),
        (bridge_before.ino(), bridge_before.mtime_nsec())
    );
    // Uninstalling again: nothing is ours any more.
    let text = ok(&s.run(&["uninstall"]));
    assert!(
        text.contains("sriov: not installed by nfv-install"),
        "{text}"
    );
    assert_eq!(fs::read(s.bin().join("sriov")).unwrap(), go);
}

#[test]
fn a_binary_someone_else_wrote_after_ours_is_left_alone() {
    let s = Scratch::new("foreign");
    s.image_version("v1");
    ok(&s.run(&["install"]));
    // sriov-cni's own entrypoint (cp -f) writing over ours in place.
    fs::write(s.bin().join("sriov"), b"another installer's sriov\n").unwrap();
    s.image_version("v2");
    let out = s.run(&["install"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sriov holds a binary nfv-install did not write"),
        "{err}"
    );
    assert_eq!(
        fs::read(s.bin().join("sriov")).unwrap(),
        b"another installer's sriov\n"
    );
    assert_eq!(
        fs::read(s.bin().join("vdpa")).unwrap(),
        b"vdpa v2\n",
        "the others go on"
    );
    let out = s.run(&["uninstall"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        fs::read(s.bin().join("sriov")).unwrap(),
        b"another installer's sriov\n"
    );
    assert!(!s.bin().join("vdpa").exists());
}

#[test]
fn a_symlink_or_directory_under_a_plugin_name_is_never_touched() {
    let s = Scratch::new("symlink");
    s.image_version("v1");
    std::os::unix::fs::symlink("/usr/lib/cni/host-local", s.bin().join("host-local")).unwrap();
    fs::create_dir(s.bin().join("vdpa")).unwrap();
    let out = s.run(&["install"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("host-local is a symbolic link"), "{err}");
    assert!(err.contains("vdpa is a directory"), "{err}");
    assert_eq!(
        fs::read_link(s.bin().join("host-local")).unwrap(),
        Path::new("/usr/lib/cni/host-local")
    );
    assert_eq!(fs::read(s.bin().join("sriov")).unwrap(), b"sriov v1\n");
}

#[test]
fn sriov_cni_entrypoint_arguments() {
    let s = Scratch::new("entrypoint");
    s.image_version("v1");
    let dir_arg = format!("--cni-bin-dir={}", s.bin().display());
    let file_arg = format!("--sriov-bin-file={}", s.image().join("sriov").display());

    let out = Command::new(BIN)
        .args([&dir_arg, &file_arg, "--no-sleep"])
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(fs::read(s.bin().join("sriov")).unwrap(), b"sriov v1\n");
    assert!(
        !s.bin().join("host-local").exists(),
        "only the sriov binary"
    );

    let out = Command::new(BIN)
        .args(["--no-sleep", "--bogus=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown parameter \"--bogus\""));
    let out = Command::new(BIN)
        .args([
            &dir_arg,
            "--sriov-bin-file=/nonexistent/sriov",
            "--no-sleep",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/sriov does not exist"));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--sriov-bin-file"));

    // Without --no-sleep: installs, then waits until stopped (SIGTERM ends it at once, 0).
    s.image_version("v2");
    let mut child = Command::new(BIN)
        .args([&dir_arg, &file_arg])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::read(s.bin().join("sriov")).unwrap() != b"sriov v2\n" {
        assert!(Instant::now() < deadline, "not installed");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().unwrap().is_none(), "it sleeps");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigkill_during_a_large_copy_never_leaves_a_partial_binary_under_the_name() {
    let s = Scratch::new("crash");
    let old: Vec<u8> = (0..2u32 << 20).map(|i| (i % 251) as u8).collect();
    let new: Vec<u8> = (0..2u32 << 20).map(|i| (i % 241) as u8).collect();
    write_exec(&s.bin().join("sriov"), &old);
    write_exec(&s.image().join("sriov"), &new);

    // A reader that keeps opening the name the runtime execs: whole old or whole new only.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, path, old, new) = (
            stop.clone(),
            s.bin().join("sriov"),
            old.clone(),
            new.clone(),
        );
        std::thread::spawn(move || {
            let mut reads = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let seen = fs::read(&path).unwrap();
                assert!(
                    seen == old || seen == new,
                    "a partial binary of {} bytes",
                    seen.len()
                );
                reads += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            reads
        })
    };
    let args = [
        "install".to_string(),
        "--plugins=sriov".to_string(),
        format!("--cni-bin-dir={}", s.bin().display()),
        format!("--from={}", s.image().display()),
    ];
    // Kill the installer when its temp file has reached 1/10, 3/10, ... 9/10 of the binary.
    let temp_size = |dir: &Path| -> Option<u64> {
        fs::read_dir(dir.join(".nfv-cni"))
            .ok()?
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().contains(".new-"))
            .and_then(|e| e.metadata().ok())
            .map(|m| m.len())
    };
    let mut killed_mid_copy = 0;
    for tenth in [1u64, 3, 5, 7, 9] {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let goal = new.len() as u64 * tenth / 10;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if temp_size(&s.bin()).is_some_and(|n| n >= goal) {
                child.kill().unwrap();
                let size = temp_size(&s.bin()).unwrap_or(0);
                killed_mid_copy += u32::from(size < new.len() as u64);
                break;
            }
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.kill();
        child.wait().unwrap();
        let now = fs::read(s.bin().join("sriov")).unwrap();
        assert!(now == old || now == new);
        if now == new {
            break;
        }
    }
    assert!(killed_mid_copy > 0, "no kill landed during the copy");
    // The next run finishes the job and leaves no temp file behind.
    let out = Command::new(BIN).args(&args).output().unwrap();
    ok(&out);
    stop.store(true, Ordering::SeqCst);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    assert_eq!(fs::read(s.bin().join("sriov")).unwrap(), new);
    assert_eq!(
        fs::read(s.bin().join(".nfv-cni/sriov.previous")).unwrap(),
        old
    );
    let left: Vec<_> = fs::read_dir(s.bin().join(".nfv-cni"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    let names: Vec<_> = fs::read_dir(s.bin())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "only sriov and .nfv-cni: {names:?}");
    eprintln!(
        "reliability: {{\"kind\":\"crash\",\"plugin\":\"nfv-install\",\"points\":[\"mid-copy\"],\"outcome\":\"{killed_mid_copy} SIGKILLs during the copy, {reads} reads of the name saw only whole binaries\"}}"
    );
}
