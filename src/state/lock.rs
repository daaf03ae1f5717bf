//! One rwin at a time per cluster: `up` and `remove-host` each rewrite the whole state file, so
//! two at once would lose what the first recorded (issue 13, point 7). The run holds an
//! exclusive `flock` on `<state>.lock` from before it reads the state until it has written it
//! for the last time, and writes who it is into that file so a second run can say so.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{FlockOperation, Mode, OFlags};

/// Held for the whole run; dropping it (or the process ending, however it ends) releases it.
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another rwin ({holder}) holds {path}; wait for it to finish. If that process is gone, the lock went with it: a process that still has the file open holds it (`fuser {path}` names it)")]
    Held { path: PathBuf, holder: String },
    #[error("cannot lock {path}: {reason}. rwin locks it so that two runs do not overwrite each other's state; check the directory's permissions")]
    Io { path: PathBuf, reason: String },
}

/// `<state>.lock`, next to the state file.
pub fn lock_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl StateLock {
    /// Take the lock of the state file at `state_path` for `command` (`rwin up`), or say who
    /// has it. Never waits.
    pub fn acquire(state_path: &Path, command: &str) -> Result<StateLock, LockError> {
        let path = lock_path(state_path);
        let io = |e: std::io::Error| LockError::Io {
            path: path.clone(),
            reason: e.to_string(),
        };
        // Not truncated on open: until the lock is ours, its text is the holder's.
        let fd = rustix::fs::open(
            &path,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| io(e.into()))?;
        let mut file = std::fs::File::from(fd);
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    holder: holder_of(&text),
                    path,
                });
            }
            Err(e) => return Err(io(e.into())),
        }
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let me = format!(
            "pid {}\ncommand {command}\nsince {since}\n",
            std::process::id()
        );
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()))
            .map_err(io)?;
        Ok(StateLock { _file: file })
    }
}

/// "pid 1234, `rwin up`, since 2026-05-01 12:03:04 UTC" from the lock file's text; "another
/// process" parts that are missing (it may be between locking and writing) are left out.
fn holder_of(text: &str) -> String {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map(|v| v.chars().filter(|c| !c.is_control()).collect::<String>())
    };
    let mut parts = Vec::new();
    if let Some(pid) = field("pid").filter(|p| p.parse::<u32>().is_ok()) {
        parts.push(format!("pid {pid}"));
    }
    if let Some(command) = field("command") {
        parts.push(format!("`{command}`"));
    }
    if let Some(secs) = field("since").and_then(|s| s.parse::<u64>().ok()) {
        parts.push(format!("since {}", utc(secs)));
    }
    if parts.is_empty() {
        "a process that has not said who it is yet".into()
    } else {
        parts.join(", ")
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the epoch (Howard Hinnant's civil_from_days).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("c.rwinstate");
        let first = StateLock::acquire(&state, "rwin up").unwrap();
        let e = StateLock::acquire(&state, "rwin remove-host n1")
            .unwrap_err()
            .to_string();
        let want = format!(
            "another rwin (pid {}, `rwin up`, since ",
            std::process::id()
        );
        assert!(e.starts_with(&want), "{e}");
        assert!(
            e.contains(&format!(
                "UTC) holds {}; wait for it to finish",
                dir.path().join("c.rwinstate.lock").display()
            )),
            "{e}"
        );
        drop(first);
        let _again = StateLock::acquire(&state, "rwin remove-host n1").unwrap();
    }

    #[test]
    fn the_holder_is_read_defensively() {
        assert_eq!(
            holder_of("pid 42\ncommand rwin up\nsince 1777636984\n"),
            "pid 42, `rwin up`, since 2026-05-01 12:03:04 UTC"
        );
        assert_eq!(holder_of(""), "a process that has not said who it is yet");
        assert_eq!(holder_of("pid x\ncommand a\u{1b}[2Jb\n"), "`a[2Jb`");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
