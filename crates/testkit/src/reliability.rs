//! The one line a crash test or storm prints when it has passed, for `make reliability`
//! (conformance/reliability/report.py collects every such line into docs/reliability.md).

use serde_json::Value;

/// Print `reliability: <compact JSON>` on stderr.
pub fn report(line: Value) {
    eprintln!("reliability: {line}");
}
