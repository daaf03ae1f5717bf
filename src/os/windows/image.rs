//! Choosing a component's image for a Windows host. Under process isolation a container's
//! base image must match the host build (a mismatch fails with 0xc0370101); a 2025 host
//! (26100) also runs 2022 (20348) images. Hyper-V isolation runs images *older* than the host,
//! never newer (Microsoft's version-compatibility docs).

use std::collections::BTreeMap;

/// Release names as image tags spell them, and their builds.
const NAMES: [(&str, u32); 3] = [
    ("ltsc2019", 17763),
    ("ltsc2022", 20348),
    ("ltsc2025", 26100),
];

/// The build an `images` key stands for: a number ("20348") or a release name ("ltsc2022").
fn key_build(key: &str) -> Option<u32> {
    let k = key.trim();
    k.parse().ok().or_else(|| {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, b)| *b)
    })
}

fn describe(build: u32) -> String {
    match NAMES.iter().find(|(_, b)| *b == build) {
        Some((n, _)) => format!("{build} ({n})"),
        None => build.to_string(),
    }
}

/// The image for a host of `build` from `images` (keyed by build or release name).
///
/// Rule: an image for exactly the host's build; else, on a 26100 host, a 20348 image; else,
/// when `hyperv` isolation is allowed, the newest image whose build is not newer than the
/// host's (Hyper-V runs older images, not newer ones). Otherwise an error that names the host
/// build and the images there are.
pub fn select_image(
    build: u32,
    images: &BTreeMap<String, String>,
    hyperv: bool,
) -> Result<String, String> {
    let known: Vec<(u32, &String)> = images
        .iter()
        .filter_map(|(k, img)| key_build(k).map(|b| (b, img)))
        .collect();
    let pick = |b: u32| {
        known
            .iter()
            .find(|(kb, _)| *kb == b)
            .map(|(_, i)| (*i).clone())
    };
    if let Some(img) = pick(build) {
        return Ok(img);
    }
    if build == 26100 {
        if let Some(img) = pick(20348) {
            return Ok(img);
        }
    }
    if hyperv {
        if let Some((_, img)) = known
            .iter()
            .filter(|(b, _)| *b <= build)
            .max_by_key(|(b, _)| *b)
        {
            return Ok((*img).clone());
        }
    }
    let mut available: Vec<String> = known.iter().map(|(b, _)| describe(*b)).collect();
    available.sort();
    available.dedup();
    let available = if available.is_empty() {
        "none (keys must be builds such as 20348 or names such as ltsc2022)".to_string()
    } else {
        available.join(", ")
    };
    let hint = if hyperv {
        "Hyper-V isolation cannot run an image newer than the host: add an image for this build"
    } else {
        "add an image for this build, or set isolation: hyperv to run an older image"
    };
    Err(format!(
        "no image for Windows build {}: images exist for {available}; {hint}",
        describe(build)
    ))
}
