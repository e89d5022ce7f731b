//! Shared helpers for the black-box suites: they run the built plugin binaries the way a
//! container runtime does (env + stdin, result or error JSON on stdout) inside throwaway
//! network namespaces, and compare what comes back with expected JSON in `testdata/conformance/`.
//!
//! Nothing here links the plugins: every check goes through a process boundary.

pub mod binaries;
pub mod expected;
pub mod fixture;
pub mod invocation;
pub mod libcni_driver;
pub mod netns;
pub mod prerequisites;
pub mod scratch;

pub use invocation::{Invocation, Outcome};
pub use netns::Netns;
pub use scratch::ScratchDir;
