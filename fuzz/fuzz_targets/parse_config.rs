//! Feed arbitrary text to the config parser, the writer and the updater.
//! Properties: no panic; whatever parses survives write -> parse unchanged.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lxcbox::config::{update_legacy, write, Config};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // lxc.include would read the fuzzer's file system: leave it out.
    if text.contains("lxc.include") {
        return;
    }
    if let Ok(c) = Config::parse_str(text, "fuzz", Path::new("/nonexistent")) {
        let again = Config::parse_str(&write(&c), "written", Path::new("/nonexistent"))
            .expect("written config must parse");
        assert_eq!(again, c, "round trip changed the config");
    }
    let _ = update_legacy(text, "fuzz");
});
