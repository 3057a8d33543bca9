//! The kind of a storage instance: block device or filesystem.

use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// The kind of a storage instance (`storage-get kind`, `JUJU_STORAGE_KIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageKind {
    /// `block`: a block device; its location is the device path.
    Block,
    /// `filesystem`: a mounted filesystem; its location is the mount point.
    Filesystem,
    /// `unknown`: Juju does not know yet.
    Unknown,
}

impl StorageKind {
    /// Juju's name: `block`, `filesystem`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageKind::Block => "block",
            StorageKind::Filesystem => "filesystem",
            StorageKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for StorageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageKind {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        Ok(match s {
            "block" => StorageKind::Block,
            "filesystem" => StorageKind::Filesystem,
            "unknown" => StorageKind::Unknown,
            _ => return Err(ParseError::new("storage kind", s)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_kinds() {
        for k in [
            StorageKind::Block,
            StorageKind::Filesystem,
            StorageKind::Unknown,
        ] {
            assert_eq!(k.as_str().parse::<StorageKind>().unwrap(), k);
        }
        assert!("tape".parse::<StorageKind>().is_err());
    }
}
