//! IPv4 prefix arithmetic the cmdlets and effects share.

use std::net::Ipv4Addr;

/// `10.42.3.7`, 24 → `10.42.3.0/24` (the input unchanged when it is not IPv4).
pub fn network_of(ip: &str, len: u8) -> String {
    match ip.parse::<Ipv4Addr>() {
        Ok(a) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            format!("{}/{len}", Ipv4Addr::from(u32::from(a) & mask))
        }
        Err(_) => format!("{ip}/{len}"),
    }
}

/// True when `ip` lies inside `prefix` (`a.b.c.d/n`).
pub fn contains(prefix: &str, ip: &str) -> bool {
    let Some((net, len)) = prefix.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    network_of(ip, len) == network_of(net, len)
}

/// Checks `a.b.c.d/n`.
pub fn valid_prefix(p: &str) -> bool {
    p.split_once('/').is_some_and(|(a, l)| {
        a.parse::<Ipv4Addr>().is_ok() && l.parse::<u8>().is_ok_and(|l| l <= 32)
    })
}
