//! Bind mounts on Windows: Docker on Windows refuses a bind whose host directory does not exist
//! (moby `volume/mounts/windows_parser.go`, `errBindSourceDoesNotExist`), where Docker on
//! Linux creates it. So the container script creates each bind's host directory first.

/// The host directory of a bind (`C:\logs:C:\inetpub\logs[:ro]` → `C:\logs`); `None` for a
/// named volume (`name:C:\data`), a named pipe or a container path alone. As moby's Windows
/// parser reads it (`rxHostDir`): a drive letter, `:`, a slash, then a path that holds no `:`,
/// so the host path ends at the next `:`, which starts the container path.
pub(super) fn host_dir(bind: &str) -> Option<&str> {
    let start = if bind.starts_with(r"\\?\") { 4 } else { 0 };
    let b = bind.as_bytes();
    let drive = b.get(start).is_some_and(u8::is_ascii_alphabetic)
        && b.get(start + 1) == Some(&b':')
        && matches!(b.get(start + 2), Some(b'\\' | b'/'));
    if !drive {
        return None;
    }
    let end = start + 2 + bind[start + 2..].find(':')?;
    Some(&bind[..end])
}

#[cfg(test)]
mod tests {
    use super::host_dir;

    #[test]
    fn the_host_directory_is_the_drive_path_before_the_container_path() {
        assert_eq!(
            host_dir(r"C:\rwin\web:C:\inetpub\logs"),
            Some(r"C:\rwin\web")
        );
        assert_eq!(host_dir(r"c:/data/x:c:\data:ro"), Some("c:/data/x"));
        assert_eq!(host_dir(r"\\?\C:\long:C:\x"), Some(r"\\?\C:\long"));
        assert_eq!(host_dir(r"data:C:\data"), None, "a named volume");
        assert_eq!(host_dir(r"C:\data"), None, "a container path alone");
        assert_eq!(
            host_dir(r"\\.\pipe\docker_engine:\\.\pipe\docker_engine"),
            None
        );
        assert_eq!(host_dir("/var/lib/x:/x"), None, "not a Windows path");
    }
}
