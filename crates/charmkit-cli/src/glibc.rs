//! Which glibc a binary needs, and which a base has: a binary linked on a newer system can need
//! symbol versions (`GLIBC_2.38`…) an older base does not have, and then fails to start there.
//! `pack` refuses to put such a binary in a charm for that base.

use object::read::elf::ElfFile64;
use object::Endianness;

/// A glibc version, `(major, minor)`.
pub type Version = (u32, u32);

/// The `GLIBC_x.y` versions an ELF executable needs, read from its `.gnu.version_r` section;
/// empty for a static binary. An error for what is not a 64-bit ELF file.
pub fn needs(elf: &[u8]) -> Result<Vec<Version>, String> {
    let file = ElfFile64::<Endianness>::parse(elf).map_err(|e| e.to_string())?;
    let endian = file.endian();
    let sections = file.elf_section_table();
    let Some((mut needs, link)) = sections
        .gnu_verneed(endian, elf)
        .map_err(|e| e.to_string())?
    else {
        return Ok(Vec::new());
    };
    let strings = sections
        .strings(endian, elf, link)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some((_file, mut aux)) = needs.next().map_err(|e| e.to_string())? {
        while let Some(a) = aux.next().map_err(|e| e.to_string())? {
            let name = a.name(endian, strings).map_err(|e| e.to_string())?;
            if let Some(v) = std::str::from_utf8(name)
                .ok()
                .and_then(|n| n.strip_prefix("GLIBC_"))
            {
                let mut parts = v.split('.').map(|p| p.parse::<u32>());
                if let (Some(Ok(major)), minor) = (parts.next(), parts.next()) {
                    out.push((major, minor.and_then(Result::ok).unwrap_or(0)));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The glibc an Ubuntu release ships (`ldd --version` there); `None` for a base we do not know.
pub fn of_base(os: &str, channel: &str) -> Option<Version> {
    if os != "ubuntu" {
        return None;
    }
    Some(match channel {
        "20.04" => (2, 31),
        "22.04" => (2, 35),
        "24.04" => (2, 39),
        "24.10" => (2, 40),
        "25.04" => (2, 41),
        "25.10" => (2, 42),
        _ => return None,
    })
}

/// `GLIBC_2.35`.
pub fn show((major, minor): Version) -> String {
    format!("GLIBC_{major}.{minor}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_needs_some_glibc() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let v = needs(&me).unwrap();
        assert!(v.iter().any(|v| v.0 == 2), "{v:?}");
        assert!(
            v.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates: {v:?}"
        );
        assert!(needs(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn bases() {
        assert_eq!(of_base("ubuntu", "22.04"), Some((2, 35)));
        assert_eq!(of_base("ubuntu", "24.04"), Some((2, 39)));
        assert_eq!(of_base("ubuntu", "18.04"), None);
        assert_eq!(of_base("centos", "7"), None);
        assert_eq!(show((2, 34)), "GLIBC_2.34");
    }
}
