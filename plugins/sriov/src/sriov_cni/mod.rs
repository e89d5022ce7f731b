//! Taking over the pods sriov-cni attached (an operator replaced its binary with pods
//! running): its cache ([`cache`], the format; [`files`], where it lies) tells DEL, CHECK and
//! GC what the VF looked like before sriov-cni's ADD, when this plugin has no record of its
//! own. The cache is another program's file: read within a bound, never through a symlink,
//! every field validated, and only files named after the attachment (and the VF) removed.

pub mod cache;
pub mod files;

pub use cache::Cache;
pub use files::{SriovCniFiles, CACHE_DIR};
