//! The CNI spec as a library: configuration, results of every version (0.1.0 to 1.1.0),
//! errors, the CNI_* environment, the plugin runner, IPAM delegation and logging.
//!
//! A plugin implements [`Plugin`] and its `main` is `nfv_cni::run(&MyPlugin, "about")`.

pub mod config;
pub mod env;
pub mod error;
pub mod gojson;
pub mod ipam;
pub mod log;
pub mod result;
pub mod runner;
pub mod version;

pub use config::{Attachment, NetConf};
pub use env::{CniArgs, Command, Env};
pub use error::{code, Error};
pub use result::Success;
pub use runner::{dispatch, run, Outcome, Plugin, Request};
