//! Every fuzz target's body over every file of its corpus in `testdata/fuzz/<target>/` (seeds
//! and, under `regressions/`, the inputs of crashes found and fixed): the fuzz targets as
//! plain tests on the stable toolchain, in `make unit`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.file_name().is_some_and(|n| n != "README.md") {
            out.push(p);
        }
    }
}

fn replay(target: &str) {
    let body = nfv_fuzz_targets::target(target).unwrap();
    let dir = root().join("testdata/fuzz").join(target);
    let mut inputs = Vec::new();
    files(&dir, &mut inputs);
    inputs.sort();
    assert!(
        !inputs.is_empty(),
        "{}: no seed inputs (make fuzz-seeds)",
        dir.display()
    );
    let mut failed = Vec::new();
    for p in &inputs {
        let data = std::fs::read(p).unwrap();
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            failed.push(p.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs fail:\n{}",
        failed.len(),
        inputs.len(),
        failed.join("\n")
    );
}

macro_rules! corpus {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_test_here() {
            let here = [$(stringify!($name)),*];
            for (t, _) in nfv_fuzz_targets::TARGETS {
                assert!(here.contains(t), "add {t} to corpus! in tests/corpus.rs");
            }
        }
    };
}

corpus!(
    netconf_sriov,
    netconf_vdpa,
    netconf_userspace,
    netconf_host_local,
    result,
    cni_args,
    ovsdb_stream,
    ovsdb_reply,
    netlink_reply,
    genl_vdpa,
    hostlocal_disk,
);

/// `fuzz/` builds one binary per target, and `testdata/fuzz/` holds no directory of a target
/// that is gone.
#[test]
fn fuzz_project_and_corpus_match_the_targets() {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    for (t, _) in nfv_fuzz_targets::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{t}\"")),
            "fuzz/Cargo.toml has no [[bin]] {t}"
        );
        let src = root().join(format!("fuzz/fuzz_targets/{t}.rs"));
        let text = std::fs::read_to_string(&src).unwrap();
        assert!(
            text.contains(&format!("nfv_fuzz_targets::run(\"{t}\", ")),
            "{} does not run {t}",
            src.display()
        );
    }
    for e in std::fs::read_dir(root().join("testdata/fuzz")).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            let name = e.file_name().into_string().unwrap();
            assert!(
                nfv_fuzz_targets::target(&name).is_some(),
                "testdata/fuzz/{name} belongs to no target"
            );
        }
    }
}
