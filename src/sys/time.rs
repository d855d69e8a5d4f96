//! Local time for the timestamps LXC writes (snapshot `ts` files).

/// Broken-down local time of `secs` since the epoch: (year, month 1-12,
/// day, hour, minute, second), by the C library's time zone rules
/// (TZ, /etc/localtime).
pub fn local(secs: i64) -> Option<(i32, u32, u32, u32, u32, u32)> {
    #[allow(deprecated)] // 64-bit on musl >= 1.2, which Rust's musl target uses
    let t = secs as libc::time_t;
    // SAFETY: tm is plain integers (all-zero is valid); localtime_r writes
    // only into it and reads `t`, both live for the call.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return None;
        }
        Some((
            tm.tm_year + 1900,
            (tm.tm_mon + 1) as u32,
            tm.tm_mday as u32,
            tm.tm_hour as u32,
            tm.tm_min as u32,
            tm.tm_sec as u32,
        ))
    }
}
