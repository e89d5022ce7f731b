//! The CNI_* environment: which variables each verb needs and how they are validated,
//! as the reference runtime library (skel) does it.

use crate::error::{code, Error};
use std::path::PathBuf;

/// The verb a runtime asks for (`CNI_COMMAND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Add,
    Del,
    Check,
    Gc,
    Status,
    Version,
}

impl Command {
    pub fn parse(s: &str) -> Result<Command, Error> {
        Ok(match s {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "GC" => Command::Gc,
            "STATUS" => Command::Status,
            "VERSION" => Command::Version,
            other => {
                return Err(
                    Error::new(code::INVALID_ENV, format!("unknown CNI_COMMAND: {other}"))
                        .with_details(
                            "CNI_COMMAND must be one of ADD, DEL, CHECK, GC, STATUS, VERSION",
                        ),
                )
            }
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Gc => "GC",
            Command::Status => "STATUS",
            Command::Version => "VERSION",
        }
    }

    /// Does this verb act on one attachment (container + interface)?
    pub fn is_attachment_verb(&self) -> bool {
        matches!(self, Command::Add | Command::Del | Command::Check)
    }

    /// The variables this verb requires, in the order the reference lists them when missing.
    fn required(&self) -> &'static [&'static str] {
        match self {
            Command::Add | Command::Check => {
                &["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]
            }
            Command::Del => &["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
            Command::Gc => &["CNI_PATH"],
            Command::Status | Command::Version => &[],
        }
    }
}

/// `CNI_ARGS`: `K=V;K2=V2`, kept in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniArgs(pub Vec<(String, String)>);

impl CniArgs {
    pub fn parse(s: &str) -> Result<CniArgs, Error> {
        let mut out = Vec::new();
        for pair in s.split(';').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some((k, v)) if !k.is_empty() && !v.contains('=') => {
                    out.push((k.to_string(), v.to_string()))
                }
                _ => {
                    return Err(Error::new(
                        code::INVALID_ENV,
                        format!(
                            "CNI_ARGS: invalid pair {pair:?}: use KEY=VALUE pairs separated by ';'"
                        ),
                    ))
                }
            }
        }
        Ok(CniArgs(out))
    }

    /// The last value given for a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `IgnoreUnknown=1|true`: the runtime asks the plugin to ignore keys it does not know.
    pub fn ignore_unknown(&self) -> Result<bool, Error> {
        match self.get("IgnoreUnknown") {
            None => Ok(false),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" => Ok(true),
                "0" | "false" => Ok(false),
                _ => Err(Error::new(
                    code::INVALID_ENV,
                    format!(
                        "CNI_ARGS: IgnoreUnknown={v:?} is not a boolean: use 1, 0, true or false"
                    ),
                )),
            },
        }
    }

    /// Fail on keys outside `known` unless `IgnoreUnknown` is set, as the reference plugins do.
    /// `IgnoreUnknown` itself is always known.
    pub fn ensure_known(&self, known: &[&str]) -> Result<(), Error> {
        if self.ignore_unknown()? {
            return Ok(());
        }
        let unknown: Vec<&str> = self
            .0
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| *k != "IgnoreUnknown" && !known.contains(k))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(Error::new(
                code::INVALID_ENV,
                format!("CNI_ARGS: unknown args {unknown:?}: this plugin knows {known:?}; add IgnoreUnknown=1 to pass others through"),
            ))
        }
    }
}

/// The parsed environment of one invocation.
#[derive(Debug, Clone)]
pub struct Env {
    pub command: Command,
    pub container_id: Option<String>,
    pub netns: Option<PathBuf>,
    pub ifname: Option<String>,
    pub args: CniArgs,
    pub path: Vec<PathBuf>,
}

/// Read and validate the environment through `get` (so tests need not touch the process env).
/// `CNI_COMMAND` is parsed first; missing variables are reported together, in the reference's order.
pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Env, Error> {
    let var = |name: &str| get(name).filter(|v| !v.is_empty());
    let command = match var("CNI_COMMAND") {
        None => return Err(missing(&["CNI_COMMAND"])),
        Some(c) => Command::parse(&c)?,
    };
    let absent: Vec<&str> = command
        .required()
        .iter()
        .copied()
        .filter(|n| var(n).is_none())
        .collect();
    if !absent.is_empty() {
        return Err(missing(&absent));
    }
    let container_id = var("CNI_CONTAINERID");
    let ifname = var("CNI_IFNAME");
    let args = CniArgs::parse(&var("CNI_ARGS").unwrap_or_default())?;
    let path = var("CNI_PATH")
        .map(|p| {
            p.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(Env {
        command,
        container_id,
        netns: var("CNI_NETNS").map(PathBuf::from),
        ifname,
        args,
        path,
    })
}

impl Env {
    /// ADD, DEL and CHECK: the container ID and interface name must be well formed.
    /// (The runner calls this after the config parsed, in the reference's order.)
    pub fn validate_attachment(&self) -> Result<(), Error> {
        if self.command.is_attachment_verb() {
            validate_container_id(self.container_id.as_deref().unwrap_or(""))?;
            validate_ifname(self.ifname.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

fn missing(names: &[&str]) -> Error {
    Error::new(
        code::INVALID_ENV,
        format!("required env variables [{}] missing", names.join(",")),
    )
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-'
}

/// `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`, the reference runtime's pattern for IDs and network names.
pub fn matches_id_pattern(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b[0].is_ascii_alphanumeric() && b.iter().all(|&c| is_name_char(c))
}

/// Container ID: empty is code 3 (unknown container), bad characters code 4.
pub fn validate_container_id(id: &str) -> Result<(), Error> {
    if id.is_empty() {
        return Err(Error::new(code::UNKNOWN_CONTAINER, "missing containerID"));
    }
    if !matches_id_pattern(id) {
        return Err(Error::new(
            code::INVALID_ENV,
            format!("invalid characters in containerID {id:?}: it must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"),
        ));
    }
    Ok(())
}

/// Interface name: 1-15 bytes, not `.` or `..`, no `/`, `:`, NUL or whitespace (code 4). The
/// same rule as `nfv_netlink::validate_ifname`: both are tested against testdata/ifnames/names.tsv.
pub fn validate_ifname(name: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::new(code::INVALID_ENV, format!("interface name {name:?} {why}"));
    if name.is_empty() {
        return Err(Error::new(code::INVALID_ENV, "interface name is empty"));
    }
    if name.len() > 15 {
        return Err(bad("is too long: Linux allows at most 15 bytes"));
    }
    if name == "." || name == ".." {
        return Err(bad("is . or .."));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
    {
        return Err(bad("contains /, :, NUL or whitespace characters"));
    }
    Ok(())
}

/// Network name (config `name`): code 7 when empty or with characters outside the ID pattern.
pub fn validate_network_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::new(code::INVALID_CONFIG, "missing network name")
            .with_details("set \"name\" in the network configuration"));
    }
    if !matches_id_pattern(name) {
        return Err(Error::new(
            code::INVALID_CONFIG,
            format!("invalid characters found in network name {name:?}: it must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<Env, Error> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_lookup(&move |k| m.get(k).cloned())
    }

    const FULL: [(&str, &str); 5] = [
        ("CNI_CONTAINERID", "c1"),
        ("CNI_NETNS", "/run/netns/x"),
        ("CNI_IFNAME", "net1"),
        ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
        ("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.0.0.5"),
    ];

    fn with(cmd: &str, drop: &[&str]) -> Result<Env, Error> {
        let mut v: Vec<(&str, &str)> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| !drop.contains(k))
            .collect();
        v.push(("CNI_COMMAND", cmd));
        env(&v)
    }

    #[test]
    fn full_add() {
        let e = with("ADD", &[]).unwrap();
        assert_eq!(e.command, Command::Add);
        assert_eq!(e.path.len(), 2);
        assert_eq!(e.args.get("IP"), Some("10.0.0.5"));
        assert!(e.args.ignore_unknown().unwrap());
    }

    #[test]
    fn required_per_verb() {
        let e = with("ADD", &["CNI_NETNS", "CNI_PATH"]).unwrap_err();
        assert_eq!(
            (e.code, e.msg.as_str()),
            (4, "required env variables [CNI_NETNS,CNI_PATH] missing")
        );
        assert!(
            with("DEL", &["CNI_NETNS"]).is_ok(),
            "DEL without netns is fine"
        );
        assert_eq!(with("DEL", &["CNI_IFNAME"]).unwrap_err().code, 4);
        assert_eq!(with("CHECK", &["CNI_NETNS"]).unwrap_err().code, 4);
        assert!(env(&[("CNI_COMMAND", "GC"), ("CNI_PATH", "/x")]).is_ok());
        assert_eq!(env(&[("CNI_COMMAND", "GC")]).unwrap_err().code, 4);
        assert!(env(&[("CNI_COMMAND", "STATUS")]).is_ok());
        assert!(env(&[("CNI_COMMAND", "VERSION")]).is_ok());
        assert_eq!(
            env(&[]).unwrap_err().msg,
            "required env variables [CNI_COMMAND] missing"
        );
        assert_eq!(env(&[("CNI_COMMAND", "FOO")]).unwrap_err().code, 4);
    }

    #[test]
    fn container_id_and_ifname() {
        let e = env(&[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "-x"),
            ("CNI_NETNS", "n"),
            ("CNI_IFNAME", "e"),
            ("CNI_PATH", "p"),
        ])
        .unwrap();
        assert_eq!(e.validate_attachment().unwrap_err().code, 4);
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "abcdefghijklmnop"] {
            assert_eq!(validate_ifname(bad).unwrap_err().code, 4, "{bad:?}");
        }
        assert!(validate_ifname("abcdefghijklmno").is_ok());
        for (ok, name) in ifname_table() {
            assert_eq!(validate_ifname(&name).is_ok(), ok, "{name:?}");
        }
        assert_eq!(validate_container_id("").unwrap_err().code, 3);
        assert_eq!(validate_container_id("a;b").unwrap_err().code, 4);
        assert!(validate_container_id("0123abc_.-x").is_ok());
    }

    #[test]
    fn args_parsing() {
        assert_eq!(CniArgs::parse("A").unwrap_err().code, 4);
        assert_eq!(CniArgs::parse("A=1=2").unwrap_err().code, 4);
        assert_eq!(CniArgs::parse("=1").unwrap_err().code, 4);
        let a = CniArgs::parse("A=1;;B=").unwrap();
        assert_eq!(a.get("B"), Some(""));
        assert!(a.ensure_known(&["A"]).is_err());
        assert!(a.ensure_known(&["A", "B"]).is_ok());
        assert!(CniArgs::parse("A=1;IgnoreUnknown=true")
            .unwrap()
            .ensure_known(&[])
            .is_ok());
        assert_eq!(
            CniArgs::parse("IgnoreUnknown=yes")
                .unwrap()
                .ignore_unknown()
                .unwrap_err()
                .code,
            4
        );
    }

    #[test]
    fn network_names() {
        assert_eq!(validate_network_name("").unwrap_err().code, 7);
        assert_eq!(validate_network_name("../x").unwrap_err().code, 7);
        assert!(validate_network_name("sriov-net.1_a").is_ok());
    }

    /// testdata/ifnames/names.tsv: (accepted?, name).
    pub(crate) fn ifname_table() -> Vec<(bool, String)> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/ifnames/names.tsv"
        );
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                let (k, n) = l.split_once('\t').unwrap();
                (k == "ok", serde_json::from_str(n).unwrap())
            })
            .collect()
    }
}
