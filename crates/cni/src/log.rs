//! Plugin logging: `logLevel` (error|warning|info|debug, default warning) and `logFile`
//! (default stderr). Nothing here ever writes to stdout, which is the protocol's.

use crate::error::{code, Error};
use std::fmt;
use std::io::Write;
use std::sync::{Mutex, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Info,
    Debug,
}

impl Level {
    pub fn parse(s: &str) -> Result<Level, Error> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warning" | "warn" => Ok(Level::Warning),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            _ => Err(Error::new(
                code::INVALID_CONFIG,
                format!("logLevel {s:?} is not a level: use error, warning, info or debug"),
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

struct Logger {
    level: Level,
    prefix: String,
    sink: Mutex<Box<dyn Write + Send>>,
}

/// The current logger. Replaced by each `init`, so a process that runs several invocations
/// (tests, a library caller) logs each with its own verb and attachment.
static LOGGER: RwLock<Option<Logger>> = RwLock::new(None);

/// Set up logging for an invocation. A log file that cannot be opened falls back to stderr
/// with a warning: a log path must not break pod networking.
pub fn init(level: Level, file: Option<&str>, prefix: String) {
    let mut warning = None;
    let sink: Box<dyn Write + Send> = match file.filter(|f| !f.is_empty()) {
        None => Box::new(std::io::stderr()),
        Some(path) => {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
            {
                Ok(f) => Box::new(f),
                Err(e) => {
                    warning = Some(format!(
                        "cannot open logFile {path:?} ({e}); logging to stderr"
                    ));
                    Box::new(std::io::stderr())
                }
            }
        }
    };
    if let Ok(mut slot) = LOGGER.write() {
        *slot = Some(Logger {
            level,
            prefix,
            sink: Mutex::new(sink),
        });
    }
    if let Some(w) = warning {
        log(Level::Warning, format_args!("{w}"));
    }
}

/// Is this level enabled? (Before `init`, warnings and errors go to stderr.)
pub fn enabled(level: Level) -> bool {
    match LOGGER.read() {
        Ok(guard) => guard
            .as_ref()
            .map_or(level <= Level::Warning, |l| level <= l.level),
        Err(_) => level <= Level::Warning,
    }
}

pub fn log(level: Level, args: fmt::Arguments<'_>) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let Ok(guard) = LOGGER.read() else { return };
    match guard.as_ref() {
        Some(l) if level <= l.level => {
            let line = format!("{secs:.3} {} [{}] {args}\n", l.prefix, level.as_str());
            if let Ok(mut w) = l.sink.lock() {
                let _ = w.write_all(line.as_bytes());
                let _ = w.flush();
            }
        }
        Some(_) => {}
        None if level <= Level::Warning => {
            let line = format!("{secs:.3} [{}] {args}\n", level.as_str());
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        None => {}
    }
}

/// Log at error level: `nfv_cni::error!("moving {vf}: {e}")`.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Error, format_args!($($t)*)) };
}
/// Log at warning level.
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warning, format_args!($($t)*)) };
}
/// Log at info level.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Info, format_args!($($t)*)) };
}
/// Log at debug level.
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Debug, format_args!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(Level::parse("DEBUG").unwrap(), Level::Debug);
        assert_eq!(Level::parse("warn").unwrap(), Level::Warning);
        assert_eq!(Level::parse("verbose").unwrap_err().code, 7);
        assert!(Level::Error < Level::Debug);
    }
}
