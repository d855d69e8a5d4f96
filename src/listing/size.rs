//! LXC's size formats.

/// lxc-info's humanized size: "N bytes", "N.NN KiB", "N.NN MiB", "N.NN GiB",
/// with exactly LXC's integer arithmetic (rounding on KiB/MiB, truncation
/// on GiB) so outputs match byte for byte.
pub fn humanize(val: u64) -> String {
    if val > 1 << 30 {
        let frac = (val & ((1 << 30) - 1)) / 10_737_419;
        format!("{}.{:02} GiB", val >> 30, frac)
    } else if val > 1 << 20 {
        let x = val + 5243;
        format!("{}.{:02} MiB", x >> 20, ((x & ((1 << 20) - 1)) * 100) >> 20)
    } else if val > 1 << 10 {
        let x = val + 5;
        format!("{}.{:02} KiB", x >> 10, ((x & ((1 << 10) - 1)) * 100) >> 10)
    } else {
        format!("{val} bytes")
    }
}

/// lxc-ls's RAM/SWAP cell: megabytes with two decimals and "MB".
pub fn megabytes(bytes: u64) -> String {
    format!("{:.2}MB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_matches_lxc() {
        assert_eq!(humanize(0), "0 bytes");
        assert_eq!(humanize(1024), "1024 bytes");
        assert_eq!(humanize(1025), "1.00 KiB");
        assert_eq!(humanize(1229), "1.20 KiB");
        assert_eq!(humanize(1_289_748), "1.23 MiB");
        assert_eq!(humanize(3 << 30), "3.00 GiB");
        // LXC truncates GiB fractions (2^29 / 10737419 = 49.99...).
        assert_eq!(humanize((1 << 30) + (1 << 29)), "1.49 GiB");
    }

    #[test]
    fn megabytes_two_decimals() {
        assert_eq!(megabytes(0), "0.00MB");
        assert_eq!(megabytes(3 << 19), "1.50MB");
    }
}
