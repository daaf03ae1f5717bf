//! Where request MessageIDs come from: random UUIDv4s in real use, a counter in tests so
//! envelope snapshots stay stable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of unique message ids (the part after `uuid:`).
pub trait IdSource: Send + Sync {
    fn next_id(&self) -> String;
}

/// Random version-4 UUIDs from the operating system's generator.
#[derive(Debug, Default)]
pub struct RandomIds {
    fallback: AtomicU64,
}

impl IdSource for RandomIds {
    fn next_id(&self) -> String {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // A MessageID only has to be unique, not secret: time plus a counter will do
            // when the OS generator is unavailable.
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let n = self.fallback.fetch_add(1, Ordering::Relaxed);
            bytes[..8].copy_from_slice(&(nanos as u64).to_be_bytes());
            bytes[8..].copy_from_slice(&(n ^ u64::from(std::process::id())).to_be_bytes());
        }
        format_uuid_v4(bytes)
    }
}

/// `00000000-0000-4000-8000-000000000001`, `…002`, …: deterministic ids for tests.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdSource for SequentialIds {
    fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        format!("00000000-0000-4000-8000-{n:012X}")
    }
}

/// Set the version (4) and variant (RFC 4122) bits and print as Windows does: upper case.
fn format_uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_v4_uuids_and_differ() {
        let ids = RandomIds::default();
        let a = ids.next_id();
        let b = ids.next_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "A" | "B"));
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn sequential_ids_count_up() {
        let ids = SequentialIds::default();
        assert_eq!(ids.next_id(), "00000000-0000-4000-8000-000000000001");
        assert_eq!(ids.next_id(), "00000000-0000-4000-8000-000000000002");
    }
}
