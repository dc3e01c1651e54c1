//! Growing back-off after failed logins: the first `free` failures cost nothing; each further
//! failure doubles the wait from 1 s, capped.

/// Returns the seconds to wait after `failures` consecutive failures.
pub fn backoff_secs(failures: u64, free: u64, max_secs: u64) -> u64 {
    if failures < free {
        return 0;
    }
    let exp = (failures - free).min(30);
    (1_u64 << exp).min(max_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_starts_after_free_attempts_and_doubles_up_to_the_cap() {
        assert_eq!(backoff_secs(4, 5, 900), 0);
        assert_eq!(backoff_secs(5, 5, 900), 1);
        assert_eq!(backoff_secs(6, 5, 900), 2);
        assert_eq!(backoff_secs(9, 5, 900), 16);
        assert_eq!(backoff_secs(100, 5, 900), 900);
    }
}
