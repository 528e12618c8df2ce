//! Wall-clock time as epoch milliseconds, the one time format the store uses.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// An epoch-millisecond time as people read it, in UTC (`Mon, 07 Dec 2026 10:33:47 GMT`, the
/// HTTP date format): for records that outlive a day, such as the audit log and tokens.
pub fn format_utc(at_ms: i64) -> String {
    let at = UNIX_EPOCH + std::time::Duration::from_millis(at_ms.max(0) as u64);
    httpdate::fmt_http_date(at)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(super::format_utc(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(super::format_utc(1_796_639_627_000), "Mon, 07 Dec 2026 10:33:47 GMT");
    }
}
