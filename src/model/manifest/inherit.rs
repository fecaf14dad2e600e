//! `inherit_configuration`: which of its component's configuration keys a
//! dependency may use, and the host interfaces each key governs, as Spin's
//! `spin-capabilities` groups them. The composition enforces it
//! (with the names of [`super::deny`]).

/// Configuration keys and the interfaces (without versions) they govern.
pub const CAPABILITIES: &[(&str, &[&str])] = &[
    ("ai_models", &["fermyon:spin/llm"]),
    (
        "allowed_outbound_hosts",
        &[
            "fermyon:spin/http",
            "fermyon:spin/mysql",
            "fermyon:spin/postgres",
            "fermyon:spin/redis",
            "fermyon:spin/mqtt",
            "spin:mqtt/mqtt",
            "spin:mysql/mysql",
            "spin:postgres/postgres",
            "spin:redis/redis",
            "wasi:http/client",
            "wasi:http/outgoing-handler",
            "wasi:sockets/ip-name-lookup",
            "wasi:sockets/tcp-create-socket",
            "wasi:sockets/tcp",
            "wasi:sockets/udp-create-socket",
            "wasi:sockets/udp",
        ],
    ),
    ("environment", &["wasi:cli/environment"]),
    ("files", &["wasi:filesystem/preopens"]),
    (
        "key_value_stores",
        &[
            "fermyon:spin/key-value",
            "spin:key-value/key-value",
            "wasi:keyvalue/store",
        ],
    ),
    (
        "sqlite_databases",
        &["fermyon:spin/sqlite", "spin:sqlite/sqlite"],
    ),
    (
        "variables",
        &[
            "fermyon:spin/config",
            "fermyon:spin/variables",
            "spin:variables/variables",
            "wasi:config/store",
        ],
    ),
];

/// The configuration key that governs an import (`wasi:cli/environment@0.2.6`
/// → `environment`), if any.
pub fn capability_of(import: &str) -> Option<&'static str> {
    let base = import.split_once('@').map_or(import, |(base, _)| base);
    CAPABILITIES
        .iter()
        .find(|(_, interfaces)| interfaces.contains(&base))
        .map(|(key, _)| *key)
}

/// What a dependency inherits: every key, or only the listed ones.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Inherit {
    All,
    Only(Vec<String>),
}
