//! `oldsdk` test guest: exports an interface named like the old Spin SDK's
//! `fermyon:spin/inbound-http` (a reduced form: only the export's name
//! matters), which wasi-httpd does not serve yet. Used by the test that the
//! load error names the export and says what to do.

wit_bindgen::generate!({
    inline: r#"
        package fermyon:spin;
        interface inbound-http {
            handle-request: func(path: string) -> string;
        }
        world old-sdk {
            export inbound-http;
        }
    "#,
});

struct OldSdk;

impl exports::fermyon::spin::inbound_http::Guest for OldSdk {
    fn handle_request(path: String) -> String {
        path
    }
}

export!(OldSdk);
