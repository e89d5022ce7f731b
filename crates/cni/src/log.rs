//! Plugin logging: `logLevel` (error|warning|info|debug, default warning) and `logFile`
//! (default stderr). Nothing here ever writes to stdout, which is the protocol's.
//!
//! Both come from the network config, which whoever may create a NetworkAttachmentDefinition
//! writes, while the plugin runs as root (docs/design.md, "Log files and log lines"):
//!
//! - `logFile` is used only as a regular file below [`LOG_ROOTS`] (`/var/log`), reached
//!   without following symlinks, named `*.log`, opened for appending with `O_NOFOLLOW | O_NONBLOCK` (a FIFO
//!   or a device is refused before it is opened, so nothing can block), created 0600. No
//!   directory is ever created for it. Anything else logs to stderr with one warning naming
//!   the field and the fix: a log path never breaks networking.
//! - Every record is one line: control characters in it (config values echoed in messages,
//!   the plugin `type` in the prefix) become visible escapes ([`escape_controls`]).

use crate::error::{code, Error};
use nfv_safefs::Place;
use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, RwLock};

/// Where `logFile` may be: strictly below these directories.
pub const LOG_ROOTS: [&str; 1] = ["/var/log"];

/// The place `logFile` must lie in ([`LOG_ROOTS`]).
pub fn log_place() -> Place {
    Place::new("logFile", LOG_ROOTS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Info,
    Debug,
}

impl Level {
    /// Strictly one of our four names (any case; `warn` too).
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

    /// `logLevel` as a config gives it, read the way the Go plugins read theirs: never
    /// refused (a log setting must not fail a verb, DEL least of all). Their other names map
    /// to the nearest level: sriov-cni's `panic` (and `fatal`) to error, userspace-cni's
    /// `verbose` (and `trace`) to debug; empty, unknown or not a string to the default,
    /// warning. Anything but one of our four names comes with one note saying so.
    pub fn from_config(v: Option<&serde_json::Value>) -> (Level, Option<String>) {
        const USE: &str = "use error, warning, info or debug";
        let s = match v {
            None | Some(serde_json::Value::Null) => return (Level::Warning, None),
            Some(serde_json::Value::String(s)) => s,
            Some(other) => {
                return (
                    Level::Warning,
                    Some(format!(
                        "logLevel {other} is not a string: read as warning ({USE})"
                    )),
                )
            }
        };
        if let Ok(level) = Level::parse(s) {
            return (level, None);
        }
        let (level, why) = match s.to_ascii_lowercase().as_str() {
            "panic" | "fatal" => (Level::Error, "the nearest level"),
            "verbose" | "trace" => (Level::Debug, "the nearest level"),
            "" => (Level::Warning, "the default"),
            _ => (Level::Warning, "the default"),
        };
        (
            level,
            Some(format!(
                "logLevel {s:?} is read as {} ({why}; {USE})",
                level.as_str()
            )),
        )
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

/// Opens `path` (the `logFile` value) in `place` for appending, creating it 0600; or says, in
/// words for the operator, why it is not used. Never blocks and never follows a symlink.
pub fn open_log_file(place: &Place, path: &str) -> Result<File, String> {
    let why = |e: nfv_safefs::FsError| {
        let not_found = e.is_not_found();
        let mut why = match e.problem {
            nfv_safefs::Problem::NotAllowed(why) => why,
            _ => e.to_string(),
        };
        if not_found {
            why.push_str(" (the plugin does not create directories for its log)");
        }
        format!(
            "logFile {path:?} is not used, logging to stderr: {why}. Fix: set logFile to a \
             regular file in an existing directory below {} (e.g. /var/log/<plugin>.log), or \
             remove logFile",
            LOG_ROOTS.join(" or ")
        )
    };
    let (dir, name) = place.open_parent(Path::new(path), None).map_err(why)?;
    if !name.ends_with(".log") || name == ".log" {
        // /var/log also holds files other software reads as records (wtmp, btmp, lastlog,
        // the journal): appending our lines there would corrupt them.
        return Err(why(nfv_safefs::FsError {
            op: "using",
            path: path.into(),
            problem: nfv_safefs::Problem::NotAllowed(
                "the file name must end in .log (other files below /var/log belong to other \
                 software, such as wtmp or the journal)"
                    .into(),
            ),
        }));
    }
    dir.open_append(&name, 0o600).map_err(why)
}

/// Set up logging for an invocation. A log file that cannot be used falls back to stderr
/// with one warning, written whatever the level: a log path must not break pod networking,
/// and the operator must learn why the file stays empty.
pub fn init(level: Level, file: Option<&str>, prefix: String) {
    let mut warning = None;
    let sink: Box<dyn Write + Send> = match file.filter(|f| !f.is_empty()) {
        None => Box::new(std::io::stderr()),
        Some(path) => match open_log_file(&log_place(), path) {
            Ok(f) => Box::new(f),
            Err(w) => {
                warning = Some(w);
                Box::new(std::io::stderr())
            }
        },
    };
    if let Ok(mut slot) = LOGGER.write() {
        *slot = Some(Logger {
            level,
            prefix,
            sink: Mutex::new(sink),
        });
    }
    if let Some(w) = warning {
        if let Ok(guard) = LOGGER.read() {
            if let Some(l) = guard.as_ref() {
                l.write(Level::Warning, format_args!("{w}"));
            }
        }
    }
}

/// `s` with every control character (C0, DEL, C1) and the Unicode line and paragraph
/// separators turned into a visible escape (`\n`, `\r`, `\t`, `\x1b`, `\u{85}`), so a log
/// record is one line whatever a config value holds. Anything else is kept as it is.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    let special = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !s.contains(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x80 && special(c) => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)))
            }
            c if special(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// One record: `<time> <prefix> [<level>] <message>`, escaped, one line.
fn record(prefix: Option<&str>, level: Level, args: fmt::Arguments<'_>) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let body = match prefix {
        Some(p) => format!("{p} [{}] {args}", level.as_str()),
        None => format!("[{}] {args}", level.as_str()),
    };
    format!("{secs:.3} {}\n", escape_controls(&body))
}

impl Logger {
    fn write(&self, level: Level, args: fmt::Arguments<'_>) {
        let line = record(Some(&self.prefix), level, args);
        if let Ok(mut w) = self.sink.lock() {
            let _ = w.write_all(line.as_bytes());
            let _ = w.flush();
        }
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
    let Ok(guard) = LOGGER.read() else { return };
    match guard.as_ref() {
        Some(l) if level <= l.level => l.write(level, args),
        Some(_) => {}
        None if level <= Level::Warning => {
            let line = record(None, level, args);
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
    fn control_characters_become_visible_escapes() {
        assert!(matches!(escape_controls("plain ü ✓"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("x\nssh-ed25519 AAAA \n\r\t\u{1b}[2J\u{7f}\u{85}\u{9b}\u{2028}\0"),
            "x\\nssh-ed25519 AAAA \\n\\r\\t\\x1b[2J\\x7f\\u{85}\\u{9b}\\u{2028}\\x00"
        );
        let line = record(
            Some("host-local\n[1] ADD c/eth0"),
            Level::Debug,
            format_args!("subnet {:?}", "x\nssh-ed25519 AAAA\n"),
        );
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(line.ends_with('\n'));
        assert!(
            line.contains("host-local\\n[1] ADD c/eth0 [debug] subnet"),
            "{line}"
        );
    }

    /// A scratch log root: (dir, place rooted at `<dir>/log`).
    fn scratch(name: &str) -> (std::path::PathBuf, Place) {
        let d = std::env::temp_dir().join(format!("nfv-cni-log-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("log")).unwrap();
        let place = Place::new("logFile", [d.join("log")]);
        (d, place)
    }

    #[test]
    fn a_log_file_below_the_root_is_created_0600_and_appended() {
        use std::os::unix::fs::PermissionsExt;
        let (d, place) = scratch("ok");
        let p = d.join("log/sriov.log");
        let mut f = open_log_file(&place, p.to_str().unwrap()).unwrap();
        f.write_all(b"one\n").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut f = open_log_file(&place, p.to_str().unwrap()).unwrap();
        f.write_all(b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "one\ntwo\n");
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Hostile: anything but a regular file below the root is refused at once (a FIFO is
    /// never opened, so it cannot block), with a message naming logFile and the fix.
    #[test]
    fn other_log_paths_are_refused_naming_the_field_and_the_fix() {
        let (d, place) = scratch("bad");
        let victim = d.join("authorized_keys");
        std::fs::write(&victim, b"").unwrap();
        std::os::unix::fs::symlink(&victim, d.join("log/link.log")).unwrap();
        std::os::unix::fs::symlink(&d, d.join("log/linkdir")).unwrap();
        nix::unistd::mkfifo(
            &d.join("log/fifo.log"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        std::fs::create_dir_all(d.join("log/dir.log")).unwrap();
        std::fs::write(d.join("log/wtmp"), b"").unwrap();
        let cases = [
            (victim.clone(), "must lie below"),
            (d.join("log/link.log"), "symbolic link"),
            (d.join("log/linkdir/authorized_keys"), "symbolic link"),
            (d.join("log/fifo.log"), "a FIFO"),
            (d.join("log/dir.log"), "a directory"),
            (d.join("log/wtmp"), "must end in .log"),
            (d.join("log/.log"), "must end in .log"),
            (d.join("log/missing/x.log"), "does not create directories"),
            (d.join("log/../authorized_keys"), "'..'"),
            (std::path::PathBuf::from("relative.log"), "absolute"),
        ];
        for (path, why) in cases {
            let started = std::time::Instant::now();
            let e = open_log_file(&place, path.to_str().unwrap()).unwrap_err();
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
            assert!(
                e.starts_with(&format!("logFile {:?} is not used", path.to_str().unwrap()))
                    && e.contains(why)
                    && e.contains("Fix: set logFile to a regular file"),
                "{}: {e}",
                path.display()
            );
        }
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"",
            "nothing written through a link"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn levels() {
        assert_eq!(Level::parse("DEBUG").unwrap(), Level::Debug);
        assert_eq!(Level::parse("warn").unwrap(), Level::Warning);
        assert_eq!(Level::parse("verbose").unwrap_err().code, 7);
        assert!(Level::Error < Level::Debug);
    }

    /// What the Go plugins accept is never refused: their names map to the nearest level,
    /// anything else to the default, each with one note; our four names need no note.
    #[test]
    fn config_levels_as_the_go_plugins_accept_them() {
        use serde_json::json;
        for (v, want, noted) in [
            (None, Level::Warning, false),
            (Some(json!(null)), Level::Warning, false),
            (Some(json!("debug")), Level::Debug, false),
            (Some(json!("Warning")), Level::Warning, false),
            (Some(json!("panic")), Level::Error, true),
            (Some(json!("fatal")), Level::Error, true),
            (Some(json!("verbose")), Level::Debug, true),
            (Some(json!("")), Level::Warning, true),
            (Some(json!("loud")), Level::Warning, true),
            (Some(json!(5)), Level::Warning, true),
        ] {
            let (level, note) = Level::from_config(v.as_ref());
            assert_eq!(level, want, "{v:?}");
            assert_eq!(note.is_some(), noted, "{v:?}: {note:?}");
            if let Some(n) = note {
                assert!(
                    n.starts_with("logLevel ") && n.contains("use error, warning, info or debug"),
                    "{n}"
                );
            }
        }
    }
}
