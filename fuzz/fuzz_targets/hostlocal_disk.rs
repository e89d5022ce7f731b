#![no_main]
// The body lives in crates/fuzz-targets, where `cargo test` replays testdata/fuzz/hostlocal_disk/.
libfuzzer_sys::fuzz_target!(|data: &[u8]| nfv_fuzz_targets::run("hostlocal_disk", data));
