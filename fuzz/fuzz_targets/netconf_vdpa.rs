#![no_main]
// The body lives in crates/fuzz-targets, where `cargo test` replays testdata/fuzz/netconf_vdpa/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| nfv_fuzz_targets::run("netconf_vdpa", data));
