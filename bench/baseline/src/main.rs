//! An empty Rust program, built as ours: the size and peak RSS every plugin pays before any
//! code of ours (std's start-up, static glibc, the runtime's stdin and stdout). It reads its
//! stdin to the end, as a plugin reads its config, and prints one line, as a plugin prints its
//! result. Measured by bench/baseline.py; nothing here may grow beyond that.

use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    let read = std::io::stdin().read_to_end(&mut input).is_ok();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{{\"read\":{read},\"bytes\":{}}}", input.len());
}
