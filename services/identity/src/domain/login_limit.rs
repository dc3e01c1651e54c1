//! Abuse limits: growing back-off after failed logins: the first `free` failures cost nothing; each further
//! failure doubles the wait from 1 s, capped; registrations per client address are counted in a
//! fixed window.

/// Returns the seconds to wait after `failures` consecutive failures.
pub fn backoff_secs(failures: u64, free: u64, max_secs: u64) -> u64 {
    if failures < free {
        return 0;
    }
    let exp = (failures - free).min(30);
    (1_u64 << exp).min(max_secs)
}

/// Returns the bucket a client address is limited in: the IPv4 address, or the /64 prefix of an
/// IPv6 address (one subscriber gets a whole /64, so counting single v6 addresses would let a
/// bot rotate through them); anything unparsable is its own bucket.
pub fn address_bucket(address: &str) -> String {
    match address.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(ip) => ip.to_string(),
        Err(_) => address.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_share_their_64_prefix() {
        assert_eq!(
            address_bucket("2408:8207:1:2:aaaa::1"),
            address_bucket("2408:8207:1:2:bbbb::9")
        );
        assert_ne!(
            address_bucket("2408:8207:1:2::1"),
            address_bucket("2408:8207:1:3::1")
        );
        assert_eq!(address_bucket(" 10.1.2.3 "), "10.1.2.3");
        assert_eq!(address_bucket("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(address_bucket("unknown"), "unknown");
    }

    #[test]
    fn back_off_starts_after_free_attempts_and_doubles_up_to_the_cap() {
        assert_eq!(backoff_secs(4, 5, 900), 0);
        assert_eq!(backoff_secs(5, 5, 900), 1);
        assert_eq!(backoff_secs(6, 5, 900), 2);
        assert_eq!(backoff_secs(9, 5, 900), 16);
        assert_eq!(backoff_secs(100, 5, 900), 900);
    }
}
