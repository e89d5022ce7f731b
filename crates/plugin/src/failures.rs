//! Teardown failures: what DEL, GC or a rollback could not undo, kept typed (the step, the
//! device, the library error with its errno and kind) until they are printed as one CNI error,
//! like netavark's error list. Printed, each is the sentence the plugins always wrote.

use std::fmt;

use nfv_cni::Error;

/// Why a step failed: the library error as it came, so its errno and kind stay readable.
#[derive(Debug)]
pub enum Cause {
    /// The kernel refused a netlink request, or a namespace could not be reached.
    Netlink(nfv_netlink::Error),
    /// Sysfs: discovery, or rebinding a driver.
    Sysfs(nfv_pci::Error),
    /// The device-info file.
    DeviceInfo(nfv_devinfo::FileError),
    /// The record store.
    Store(nfv_records::StoreError),
    /// A file or directory reached through safefs (a socket directory, a link).
    File(nfv_safefs::FsError),
    /// A system call's errno with nothing else behind it (an unmount).
    Errno(nix::errno::Errno),
    /// Another verb's step (IPAM, the vdpa code), with its own CNI code; printed as its
    /// message, and its details in parentheses when it has some.
    Cni(Error),
    /// Any other typed error.
    Other(Box<dyn std::error::Error + Send + Sync>),
    /// No error behind it: the step's words say what is wrong (the device is nowhere).
    Stated,
    /// An error, then what failed in the next thing tried: `"{error}; {then}"`.
    Then(Box<Cause>, Box<Failure>),
    /// Several failures of the steps tried after the first: `"a; b"`.
    All(Failures),
}

impl Cause {
    /// The errno behind it, when the kernel or a system call gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Cause::Netlink(e) => e.errno(),
            Cause::Sysfs(nfv_pci::Error::Io { source, .. }) => source.raw_os_error(),
            Cause::DeviceInfo(e) => match &e.problem {
                nfv_devinfo::Problem::Io(io) => io.raw_os_error(),
                _ => None,
            },
            Cause::Store(nfv_records::StoreError::Io { source, .. }) => source.raw_os_error(),
            Cause::File(e) => match &e.problem {
                nfv_safefs::Problem::Io(io) => io.raw_os_error(),
                _ => None,
            },
            Cause::Errno(e) => Some(*e as i32),
            Cause::Then(first, _) => first.errno(),
            Cause::All(all) => all.iter().find_map(Failure::errno),
            _ => None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Netlink(e) => e.fmt(f),
            Cause::Sysfs(e) => e.fmt(f),
            Cause::DeviceInfo(e) => e.fmt(f),
            Cause::Store(e) => e.fmt(f),
            Cause::File(e) => e.fmt(f),
            Cause::Errno(e) => e.fmt(f),
            Cause::Cni(e) if e.details.is_empty() => f.write_str(&e.msg),
            Cause::Cni(e) => write!(f, "{} ({})", e.msg, e.details),
            Cause::Other(e) => e.fmt(f),
            Cause::Stated => Ok(()),
            Cause::Then(first, then) => write!(f, "{first}; {then}"),
            Cause::All(all) => all.fmt(f),
        }
    }
}

impl From<nfv_netlink::Error> for Cause {
    fn from(e: nfv_netlink::Error) -> Self {
        Cause::Netlink(e)
    }
}

impl From<nfv_pci::Error> for Cause {
    fn from(e: nfv_pci::Error) -> Self {
        Cause::Sysfs(e)
    }
}

impl From<nfv_devinfo::FileError> for Cause {
    fn from(e: nfv_devinfo::FileError) -> Self {
        Cause::DeviceInfo(e)
    }
}

impl From<nfv_records::StoreError> for Cause {
    fn from(e: nfv_records::StoreError) -> Self {
        Cause::Store(e)
    }
}

impl From<nfv_safefs::FsError> for Cause {
    fn from(e: nfv_safefs::FsError) -> Self {
        Cause::File(e)
    }
}

impl From<nix::errno::Errno> for Cause {
    fn from(e: nix::errno::Errno) -> Self {
        Cause::Errno(e)
    }
}

impl From<Error> for Cause {
    fn from(e: Error) -> Self {
        Cause::Cni(e)
    }
}

/// One step that did not work.
#[derive(Debug)]
pub struct Failure {
    /// Context the callers put in front, outermost first ("DEL without a record: ", "VF ").
    pub context: String,
    /// What was being done, in words ("renaming 0000:01:10.0 back to eth1"); empty when the
    /// error names it.
    pub step: String,
    /// The device it was done to (a VF's PCI address, a vDPA device, a netdev).
    pub device: String,
    pub cause: Cause,
}

impl Failure {
    /// `step` on `device` failed with `cause`: printed `"{step}: {cause}"`.
    pub fn new(
        step: impl Into<String>,
        device: impl Into<String>,
        cause: impl Into<Cause>,
    ) -> Self {
        Failure {
            context: String::new(),
            step: step.into(),
            device: device.into(),
            cause: cause.into(),
        }
    }

    /// An error that names its step itself: printed as the error alone.
    pub fn bare(device: impl Into<String>, cause: impl Into<Cause>) -> Self {
        Failure::new("", device, cause)
    }

    /// No error behind it: printed as `sentence` alone.
    pub fn stated(device: impl Into<String>, sentence: impl Into<String>) -> Self {
        Failure::new(sentence, device, Cause::Stated)
    }

    /// `context` in front of the whole sentence (`"VF "`, `"DEL without a record: "`).
    pub fn within(mut self, context: &str) -> Self {
        self.context.insert_str(0, context);
        self
    }

    /// The errno behind it, when the kernel or a system call gave one.
    pub fn errno(&self) -> Option<i32> {
        self.cause.errno()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)?;
        match (&self.cause, self.step.is_empty()) {
            (Cause::Stated, _) => f.write_str(&self.step),
            (cause, true) => cause.fmt(f),
            (cause, false) => write!(f, "{}: {cause}", self.step),
        }
    }
}

/// The failures of one teardown or rollback, in the order they happened (empty: all undone).
#[derive(Debug, Default)]
pub struct Failures(Vec<Failure>);

impl Failures {
    pub fn new() -> Self {
        Failures(Vec::new())
    }

    pub fn push(&mut self, f: Failure) {
        self.0.push(f);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Failure> {
        self.0.iter()
    }

    /// Every failure with `context` in front (see [`Failure::within`]).
    pub fn within(self, context: &str) -> Self {
        Failures(self.0.into_iter().map(|f| f.within(context)).collect())
    }

    /// The verb's answer: none is Ok; else one CNI error with the plugin's `code`, naming the
    /// count and the first failure, every failure in its details (`"; "` between them).
    pub fn into_result(self, verb: &str, code: u32) -> Result<(), Error> {
        let Some(first) = self.0.first() else {
            return Ok(());
        };
        Err(Error::new(
            code,
            format!("{verb}: {} step(s) failed: {first}", self.0.len()),
        )
        .with_details(self.to_string()))
    }
}

/// Each failure as the sentence it prints, `"; "` between them.
impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, x) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            x.fmt(f)?;
        }
        Ok(())
    }
}

impl Extend<Failure> for Failures {
    fn extend<I: IntoIterator<Item = Failure>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl From<Failure> for Failures {
    fn from(f: Failure) -> Self {
        Failures(vec![f])
    }
}

impl IntoIterator for Failures {
    type Item = Failure;
    type IntoIter = std::vec::IntoIter<Failure>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Failures {
    type Item = &'a Failure;
    type IntoIter = std::slice::Iter<'a, Failure>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::ops::Deref for Failures {
    type Target = [Failure];
    fn deref(&self) -> &[Failure] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(op: &str, errno: i32) -> nfv_netlink::Error {
        nfv_netlink::Error::Kernel {
            op: op.into(),
            errno,
            reason: nfv_netlink::explain(&nfv_netlink::Action::SetMtu, errno),
        }
    }

    #[test]
    fn a_failure_prints_its_sentence_and_keeps_the_errno() {
        let f = Failure::new(
            "restoring the MTU of eth1",
            "0000:01:10.0",
            refused("setting MTU 1500 on interface index 7", libc_ebusy()),
        );
        assert_eq!(f.errno(), Some(libc_ebusy()));
        assert_eq!(
            f.to_string(),
            format!(
                "restoring the MTU of eth1: {}",
                refused("setting MTU 1500 on interface index 7", libc_ebusy())
            )
        );
        let f = f.within("VF ").within("DEL without a record: ");
        assert!(
            f.to_string()
                .starts_with("DEL without a record: VF restoring the MTU of eth1: "),
            "{f}"
        );
        assert_eq!(
            Failure::stated("0000:01:10.0", "0000:01:10.0: not found").to_string(),
            "0000:01:10.0: not found"
        );
        let bare = Failure::bare("x", refused("op", 19));
        assert_eq!(bare.to_string(), refused("op", 19).to_string());
        assert_eq!(bare.errno(), Some(19));
    }

    #[test]
    fn chained_and_nested_causes_print_as_one_sentence() {
        let then = Failure::new("rebinding the VF driver", "0000:01:10.0", Cause::Stated);
        let f = Failure::new(
            "restoring the MAC of eth1",
            "0000:01:10.0",
            Cause::Then(Box::new(refused("set", 99).into()), Box::new(then)),
        );
        assert_eq!(
            f.to_string(),
            format!(
                "restoring the MAC of eth1: {}; rebinding the VF driver",
                refused("set", 99)
            )
        );
        assert_eq!(f.errno(), Some(99));
        let mut inner = Failures::new();
        inner.push(Failure::stated("d", "a"));
        inner.push(Failure::stated("d", "b"));
        let nested = Failure::new(
            "restoring the MAC of eth1",
            "d",
            Cause::Cni(Error::new(5, "after").with_details("x")),
        );
        assert_eq!(nested.to_string(), "restoring the MAC of eth1: after (x)");
        let all = Failure::new("after rebinding", "d", Cause::All(inner));
        assert_eq!(all.to_string(), "after rebinding: a; b");
    }

    #[test]
    fn the_verbs_answer_counts_names_the_first_and_lists_all() {
        assert!(Failures::new().into_result("DEL", 121).is_ok());
        let mut all = Failures::new();
        all.push(Failure::stated("d", "a"));
        all.push(Failure::stated("d", "b"));
        let e = all.into_result("GC", 121).unwrap_err();
        assert_eq!(
            (e.code, e.msg.as_str(), e.details.as_str()),
            (121, "GC: 2 step(s) failed: a", "a; b")
        );
        let mut one = Failures::new();
        one.push(Failure::stated("d", "a"));
        assert_eq!(one.to_string(), "a");
    }

    #[test]
    fn file_and_errno_causes_print_as_they_did_and_keep_the_errno() {
        let dir = std::env::temp_dir().join(format!("nfv-plugin-failures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = nfv_safefs::Dir::open(&dir).unwrap();
        let gone = root.open_dir("absent").unwrap_err();
        let printed = gone.to_string();
        let f = Failure::bare("absent", gone);
        assert_eq!(f.to_string(), printed);
        assert_eq!(f.errno(), Some(2));
        let e = nix::errno::Errno::EBUSY;
        let f = Failure::new("unmounting /run/x", "/run/x", e);
        assert_eq!(f.to_string(), format!("unmounting /run/x: {e}"));
        assert_eq!(f.errno(), Some(libc_ebusy()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn libc_ebusy() -> i32 {
        16
    }
}
