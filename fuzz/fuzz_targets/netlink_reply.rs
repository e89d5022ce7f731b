#![no_main]
// The body lives in crates/fuzz-targets, where `cargo test` replays testdata/fuzz/netlink_reply/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| nfv_fuzz_targets::run("netlink_reply", data));
