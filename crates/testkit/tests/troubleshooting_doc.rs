#![allow(clippy::unwrap_used)]
//! docs/troubleshooting.md has a row for every CNI error code a plugin defines, in that
//! plugin's section, under the constant's name, and no row for a code nobody defines. The
//! codes are read from the sources (`pub const NAME: u32 = N;`), so a code added to any
//! `codes.rs` (or to `nfv_cni::code`) fails here until its row is written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nfv_testkit::config_doc::workspace_root;

/// The doc's section heading and the source whose codes it lists.
const SECTIONS: [(&str, &str); 5] = [
    ("Codes every plugin uses", "crates/cni/src/error.rs"),
    ("sriov", "plugins/sriov/src/codes.rs"),
    ("vdpa", "crates/vdpa/src/codes.rs"),
    ("userspace", "plugins/userspace/src/codes.rs"),
    ("host-local", "plugins/host-local/src/codes.rs"),
];

/// `(N, NAME)` for every `pub const NAME: u32 = N;` in `file` (before its tests).
fn codes_in(file: &Path) -> BTreeSet<(u32, String)> {
    let src = std::fs::read_to_string(file).unwrap();
    let code = src.split("#[cfg(test)]").next().unwrap();
    code.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub const ")?;
            let (name, value) = rest.split_once(": u32 = ")?;
            let n = value.trim_end_matches(';').trim().parse().ok()?;
            Some((n, name.trim().to_string()))
        })
        .collect()
}

/// Every `codes.rs` under crates/ and plugins/.
fn codes_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "target") {
            codes_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "codes.rs") {
            out.push(p);
        }
    }
}

/// `(N, NAME)` of every row of section `heading` whose first cell is a number.
fn rows_in(doc: &str, heading: &str) -> BTreeSet<(u32, String)> {
    let start = format!("## {heading}\n");
    let body = doc
        .split_once(&start)
        .unwrap_or_else(|| panic!("docs/troubleshooting.md has no section \"## {heading}\""))
        .1;
    let body = body.split("\n## ").next().unwrap();
    body.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let n = cells.first()?.parse().ok()?;
            let name = cells.get(1)?.trim_matches('`').to_string();
            Some((n, name))
        })
        .collect()
}

#[test]
fn every_error_code_has_its_row_in_its_plugins_section() {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("docs/troubleshooting.md")).unwrap();

    let mut files = Vec::new();
    codes_files(&root.join("crates"), &mut files);
    codes_files(&root.join("plugins"), &mut files);
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !codes_in(f).is_empty() {
            assert!(
                SECTIONS.iter().any(|(_, s)| *s == rel),
                "{rel} defines error codes and docs/troubleshooting.md has no section for it: \
                 add one (and a line to SECTIONS here)"
            );
        }
    }

    let mut problems = Vec::new();
    for (heading, source) in SECTIONS {
        let defined = codes_in(&root.join(source));
        assert!(
            !defined.is_empty(),
            "{source} defines no codes: update SECTIONS"
        );
        let rows = rows_in(&doc, heading);
        for (n, name) in defined.difference(&rows) {
            problems.push(format!(
                "{source} defines {name} = {n}: add the row `| {n} | `{name}` | when | what to do |` under \"## {heading}\""
            ));
        }
        for (n, name) in rows.difference(&defined) {
            problems.push(format!(
                "\"## {heading}\" has a row {n} `{name}` that {source} does not define"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/troubleshooting.md: {problems:#?}"
    );
}
