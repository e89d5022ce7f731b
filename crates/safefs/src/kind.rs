//! The type of a directory entry, as `lstat` reports it (a symlink is a symlink, never its target).

use nix::sys::stat::{FileStat, SFlag};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Socket,
    Fifo,
    Symlink,
    CharDevice,
    BlockDevice,
}

impl Kind {
    pub fn of(st: &FileStat) -> Kind {
        let fmt = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        match fmt {
            SFlag::S_IFDIR => Kind::Dir,
            SFlag::S_IFSOCK => Kind::Socket,
            SFlag::S_IFIFO => Kind::Fifo,
            SFlag::S_IFLNK => Kind::Symlink,
            SFlag::S_IFCHR => Kind::CharDevice,
            SFlag::S_IFBLK => Kind::BlockDevice,
            _ => Kind::File,
        }
    }

    /// Words for an operator: "a regular file", "a symbolic link".
    pub fn words(self) -> &'static str {
        match self {
            Kind::File => "a regular file",
            Kind::Dir => "a directory",
            Kind::Socket => "a unix socket",
            Kind::Fifo => "a FIFO",
            Kind::Symlink => "a symbolic link",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
        }
    }
}
