//! Fuzz target: the WAGI (CGI) output parser. Any program output must give
//! a response (502 or 500 for output that is not a CGI response), never a
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|output: &[u8]| {
    let response = wasi_httpd::fuzzing::cgi_response(output, "fuzz");
    let status = response.status().as_u16();
    assert!((100..1000).contains(&status), "status {status}");
});
