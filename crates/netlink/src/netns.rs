//! Network namespaces: open one by path, enter it with a guard that restores the original on
//! drop, run a closure inside, and create/delete namespaces (for tests and tools).
//!
//! The rule (STYLE.md convention 2): reach a namespace through a netlink socket opened inside it
//! ([`crate::Netlink::open_in`]); only work that needs the thread itself inside (sysctl, /proc)
//! goes through [`Netns::run_in`]. Never spawn threads while inside: a new thread would inherit
//! the pod's namespace and outlive the guard.
//!
//! All of it is safe code through `nix` (setns, unshare, mount), so this crate needs no `unsafe`.

use std::fs::{File, OpenOptions};
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::sched::{setns, unshare, CloneFlags};

use crate::error::{Error, Result};

/// Where `ip netns add` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// An open network namespace. The namespace lives at least as long as this value.
#[derive(Debug)]
pub struct Netns {
    file: File,
    path: PathBuf,
}

impl Netns {
    /// Open a namespace by path (`/run/netns/<name>`, `/proc/<pid>/ns/net`, or the path a
    /// runtime passes in CNI_NETNS). Fails with ENOENT (see [`Error::is_not_found`]) when the
    /// path is gone, and with a clear message when the file is not a namespace (a stale
    /// `/run/netns` entry whose mount was removed).
    pub fn open(path: impl AsRef<Path>) -> Result<Netns> {
        let path = path.as_ref();
        let op = || format!("opening network namespace {}", path.display());
        let file = File::open(path).map_err(|e| Error::io(op(), e))?;
        let fs = nix::sys::statfs::fstatfs(&file).map_err(|e| Error::io(op(), e.into()))?;
        if fs.filesystem_type() != nix::sys::statfs::NSFS_MAGIC {
            return Err(Error::invalid(
                op(),
                "the file is not a namespace (an unmounted /run/netns entry left behind by a deleted namespace?)",
            ));
        }
        Ok(Netns {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The namespace the calling thread is in now. Its [`Netns::path`] is the kernel's name for
    /// it (`net:[<inode>]`), not a path to reopen: `/proc/thread-self/...` would name whatever
    /// namespace the reopening thread is in.
    pub fn current() -> Result<Netns> {
        let mut ns = Netns::open("/proc/thread-self/ns/net")?;
        let ino = ns
            .file
            .metadata()
            .map_err(|e| Error::io("reading the current network namespace", e))?
            .ino();
        ns.path = PathBuf::from(format!("net:[{ino}]"));
        Ok(ns)
    }

    /// The path this namespace was opened from (`net:[<inode>]` for [`Netns::current`] and
    /// anonymous namespaces). For messages; reopen a namespace with [`Netns::try_clone`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Another handle to the same namespace.
    pub fn try_clone(&self) -> Result<Netns> {
        let file = self.file.try_clone().map_err(|e| {
            Error::io(
                format!("duplicating the handle of {}", self.path.display()),
                e,
            )
        })?;
        Ok(Netns {
            file,
            path: self.path.clone(),
        })
    }

    /// Whether both handles refer to the same namespace (same nsfs inode).
    pub fn same_as(&self, other: &Netns) -> Result<bool> {
        let a = self
            .file
            .metadata()
            .map_err(|e| Error::io("comparing namespaces", e))?;
        let b = other
            .file
            .metadata()
            .map_err(|e| Error::io("comparing namespaces", e))?;
        Ok(a.dev() == b.dev() && a.ino() == b.ino())
    }

    /// Move the calling thread into this namespace until the guard is dropped.
    pub fn enter(&self) -> Result<NetnsGuard> {
        let original =
            Netns::current().map_err(|e| e.context("remembering the current network namespace"))?;
        setns(&self.file, CloneFlags::CLONE_NEWNET).map_err(|e| {
            Error::io(
                format!("entering network namespace {}", self.path.display()),
                e.into(),
            )
        })?;
        Ok(NetnsGuard {
            original,
            _not_send: PhantomData,
        })
    }

    /// Run `f` with the calling thread inside this namespace, then come back. For sysctl and
    /// /proc work only; netlink work should use a socket opened in the namespace instead.
    /// `f` must not spawn threads.
    pub fn run_in<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let guard = self.enter()?;
        let out = f();
        drop(guard);
        Ok(out)
    }

    /// A new, unnamed namespace that lives as long as the returned handle. When it dies,
    /// physical links in it (VFs) fall back to the initial namespace; veths are destroyed.
    ///
    /// Created on a short-lived helper thread so the caller's thread never changes namespace.
    pub fn new_anonymous() -> Result<Netns> {
        std::thread::spawn(|| -> Result<Netns> {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::io("creating a network namespace (unshare)", e.into()))?;
            Netns::current()
        })
        .join()
        .map_err(|_| {
            Error::protocol("creating a network namespace", "the helper thread panicked")
        })?
    }

    /// Create a named namespace like `ip netns add <name>`: `/run/netns/<name>` bind-mounted
    /// over a new namespace. Fails with EEXIST when the name is taken.
    pub fn create_named(name: &str) -> Result<Netns> {
        validate_netns_name(name)?;
        let path = Path::new(NETNS_RUN_DIR).join(name);
        let op = format!("creating network namespace {}", path.display());
        std::fs::create_dir_all(NETNS_RUN_DIR).map_err(|e| Error::io(op.clone(), e))?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(op.clone(), e))?;
        let target = path.clone();
        let mounted = std::thread::spawn(move || -> Result<()> {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::io("creating a network namespace (unshare)", e.into()))?;
            nix::mount::mount(
                Some("/proc/thread-self/ns/net"),
                &target,
                None::<&str>,
                nix::mount::MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| Error::io("bind-mounting the namespace", e.into()))
        })
        .join()
        .map_err(|_| Error::protocol(op.clone(), "the helper thread panicked"))?;
        if let Err(e) = mounted {
            let _ = std::fs::remove_file(&path);
            return Err(e.context(op));
        }
        Netns::open(&path)
    }

    /// Delete a named namespace like `ip netns delete <name>`. Already gone is success.
    pub fn delete_named(name: &str) -> Result<()> {
        validate_netns_name(name)?;
        let path = Path::new(NETNS_RUN_DIR).join(name);
        let op = format!("deleting network namespace {}", path.display());
        match nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => return Err(Error::io(op, e.into())),
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(op, e)),
        }
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

fn validate_netns_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Error::invalid(
            format!("network namespace name {name:?}"),
            "must be a non-empty file name without '/'",
        ));
    }
    Ok(())
}

/// The calling thread is inside another namespace while this lives; dropping it returns the
/// thread to where it was. Not `Send`: it must be dropped on the thread that entered.
///
/// If returning fails (it cannot, short of the process losing CAP_SYS_ADMIN while inside) the
/// process aborts: carrying on would configure the pod's namespace while believing it is the
/// host's, which is worse than a crash the runtime will retry.
#[derive(Debug)]
#[must_use = "the thread leaves the namespace when the guard is dropped"]
pub struct NetnsGuard {
    original: Netns,
    _not_send: PhantomData<*const ()>,
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        if let Err(e) = setns(&self.original.file, CloneFlags::CLONE_NEWNET) {
            eprintln!("fatal: cannot return to the original network namespace: {e}");
            std::process::abort();
        }
    }
}

/// Run `f` inside `netns` (see [`Netns::run_in`]).
pub fn run_in<T>(netns: &Netns, f: impl FnOnce() -> T) -> Result<T> {
    netns.run_in(f)
}
