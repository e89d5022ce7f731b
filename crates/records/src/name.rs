//! File names made from device names.

/// A file-name-safe form of a device name: ASCII letters, digits and `-_.:` are kept, anything
/// else becomes `_`, so `vdpa:0000:65:00.2` and PCI addresses stay readable and unchanged.
pub fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_stay_readable_and_paths_cannot_escape() {
        assert_eq!(file_safe("0000:01:10.0"), "0000:01:10.0");
        assert_eq!(file_safe("vdpa:0000:65:00.2"), "vdpa:0000:65:00.2");
        assert_eq!(file_safe("vdpa-sim_0"), "vdpa-sim_0");
        assert_eq!(file_safe("../etc/x y"), ".._etc_x_y");
        assert_eq!(file_safe("é"), "_");
    }
}
