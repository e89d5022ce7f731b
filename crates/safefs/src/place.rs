//! [`Place`]: where one kind of file may live. A config path is checked lexically against the
//! place's roots (absolute, no "." or "..", strictly below a root), then reached from the root
//! without following symlinks. The roots themselves are the plugin's own constants and are
//! opened as trusted (`/var/run` is a symlink to `/run` on most nodes).

use std::path::{Path, PathBuf};

use crate::dir::Dir;
use crate::error::{FsError, Problem};

#[derive(Debug, Clone)]
pub struct Place {
    /// What the path is, for messages: "runtimeConfig.CNIDeviceInfoFile".
    what: &'static str,
    roots: Vec<PathBuf>,
}

impl Place {
    pub fn new(what: &'static str, roots: impl IntoIterator<Item = impl Into<PathBuf>>) -> Place {
        Place {
            what,
            roots: roots.into_iter().map(Into::into).collect(),
        }
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Which root `path` lies strictly below, and the rest of it, or why it may not be used.
    pub fn check<'p>(&self, path: &'p Path) -> Result<(&Path, &'p Path), FsError> {
        let refuse = |why: String| FsError::new("using", path, Problem::NotAllowed(why));
        let s = path
            .to_str()
            .ok_or_else(|| refuse(format!("{} must be valid UTF-8", self.what)))?;
        if !path.is_absolute()
            || s.contains("/./")
            || s.contains("/../")
            || s.ends_with("/.")
            || s.ends_with("/..")
            || s.contains('\0')
        {
            return Err(refuse(format!(
                "{} must be an absolute path without '.' or '..' components",
                self.what
            )));
        }
        for root in &self.roots {
            if let Ok(rest) = path.strip_prefix(root) {
                if rest.as_os_str().is_empty() {
                    continue;
                }
                return Ok((root.as_path(), rest));
            }
        }
        Err(refuse(format!(
            "{} must lie below {}",
            self.what,
            self.roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        )))
    }

    /// Opens the directory that holds `path` and returns it with the file's name. Missing
    /// directories below the root are created with `create_mode` when one is given (and the
    /// root itself, which is ours to create); otherwise a missing one is an error.
    pub fn open_parent(
        &self,
        path: &Path,
        create_mode: Option<u32>,
    ) -> Result<(Dir, String), FsError> {
        let (root, rest) = self.check(path)?;
        let mut parts: Vec<&str> = rest
            .components()
            .map(|c| c.as_os_str().to_str().unwrap_or_default())
            .collect();
        let Some(name) = parts.pop() else {
            return Err(FsError::new(
                "using",
                path,
                Problem::NotAllowed(format!("{} names no file", self.what)),
            ));
        };
        let mut dir = match (Dir::open_trusted(root), create_mode) {
            (Ok(d), _) => d,
            (Err(e), Some(mode)) if e.is_not_found() => {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(mode)
                    .create(root)
                    .map_err(|e| FsError::new("creating", root, Problem::Io(e)))?;
                Dir::open_trusted(root)?
            }
            (Err(e), _) => return Err(e),
        };
        for part in parts {
            dir = match create_mode {
                Some(mode) => dir.create_dir(part, mode)?.0,
                None => dir.open_dir(part)?,
            };
        }
        Ok((dir, name.to_string()))
    }
}
