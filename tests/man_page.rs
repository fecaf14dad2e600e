//! The man page (`man/wasi-httpd.8`) and the README document the command line
//! that `src/process/cli.rs` declares and the units in `systemd/`.
//!
//! The real binary is asked for `--help`, `serve --help` and `check --help`;
//! every long flag (`--xxx`) and every `WASI_HTTPD_*` variable in that output
//! must appear in the man page and in the README, and the README must name
//! every command. Every `.socket` and `.service` file in `systemd/` must be
//! named in both, and every error status the daemon answers with (a
//! `StatusCode::` constant in `src/`, and the 431 hyper sends for
//! `--max-header-size`) must be in both status-code tables. No WebAssembly
//! is involved, so this runs in a second.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The help texts of the binary: top level and each command.
fn help_outputs() -> Vec<(String, String)> {
    [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["check", "--help"],
    ]
    .into_iter()
    .map(|args| {
        let output = Command::new(env!("CARGO_BIN_EXE_wasi-httpd"))
            .args(&args)
            // No COLUMNS, no WASI_HTTPD_* values shown in `[env: ...]`.
            .env_clear()
            .output()
            .expect("run wasi-httpd");
        let shown = args.join(" ");
        assert!(
            output.status.success(),
            "`wasi-httpd {shown}` exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).expect("help is UTF-8");
        (shown, text)
    })
    .collect()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Every `--long-flag` in `text`.
fn long_flags(text: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + 2..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(after.len());
        let name = &after[..len];
        if !before.is_some_and(is_name_char) && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            flags.insert(format!("--{name}"));
        }
        rest = &after[len..];
    }
    flags
}

/// Every `WASI_HTTPD_*` variable name in `text`.
fn env_vars(text: &str) -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("WASI_HTTPD_") {
        let after = &rest[at..];
        let len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        vars.insert(after[..len].to_owned());
        rest = &after[len..];
    }
    vars
}

/// The command names listed under `Commands:` in the top-level help.
fn commands(top_help: &str) -> Vec<String> {
    top_help
        .lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Roff source as a reader would search it: `\-` is `-`, and font and
/// zero-width escapes are dropped.
fn roff_to_text(roff: &str) -> String {
    roff.replace("\\-", "-")
        .replace("\\&", "")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "")
}

/// True when `needle` occurs in `haystack` not followed by a name character
/// (so `--log` is not found in `--log-level`).
fn mentions(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        !haystack[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(is_name_char)
    })
}

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The names from the help output that `document` does not mention.
fn missing_from(document: &str, helps: &[(String, String)]) -> Vec<String> {
    let mut names = BTreeSet::new();
    for (_, text) in helps {
        names.extend(long_flags(text));
        names.extend(env_vars(text));
    }
    names
        .into_iter()
        .filter(|name| !mentions(document, name))
        .collect()
}

#[test]
fn help_output_lists_flags_and_variables() {
    // Guards the extraction itself: an empty set would make the tests below pass vacuously.
    let helps = help_outputs();
    let all: String = helps.iter().map(|(_, text)| text.as_str()).collect();
    assert!(long_flags(&all).contains("--help"), "{all}");
    assert!(long_flags(&all).len() >= 4, "{all}");
    assert!(!env_vars(&all).is_empty(), "{all}");
    assert!(!commands(&helps[0].1).is_empty(), "{}", helps[0].1);
}

#[test]
fn man_page_documents_every_flag_and_variable() {
    let helps = help_outputs();
    let man = roff_to_text(&read("man/wasi-httpd.8"));
    let missing = missing_from(&man, &helps);
    assert!(
        missing.is_empty(),
        "man/wasi-httpd.8 does not document these, which `wasi-httpd --help`, \
         `serve --help` or `check --help` show: {}\n\
         Add each to OPTIONS (flags, with their variable and default) and to ENVIRONMENT.",
        missing.join(", ")
    );
}

#[test]
fn man_page_documents_every_command() {
    let helps = help_outputs();
    let man = roff_to_text(&read("man/wasi-httpd.8"));
    let missing: Vec<String> = commands(&helps[0].1)
        .into_iter()
        .filter(|command| !man.contains(&format!(".B {command}\n")))
        .collect();
    assert!(
        missing.is_empty(),
        "man/wasi-httpd.8 has no COMMANDS entry (`.B <command>`) for: {}",
        missing.join(", ")
    );
}

#[test]
fn readme_documents_every_command_flag_and_variable() {
    let helps = help_outputs();
    let readme = read("README.md");
    let mut missing: Vec<String> = commands(&helps[0].1)
        .into_iter()
        .filter(|command| !readme.contains(&format!("`{command}`")))
        .collect();
    missing.extend(missing_from(&readme, &helps));
    assert!(
        missing.is_empty(),
        "README.md does not mention these (commands as `name`, flags and variables \
         from --help): {}",
        missing.join(", ")
    );
}

/// The file names of the units shipped in `systemd/`.
fn unit_files() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    let mut units: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".socket") || name.ends_with(".service"))
        .collect();
    units.sort();
    units
}

#[test]
fn man_page_and_readme_name_every_unit() {
    let units = unit_files();
    assert!(!units.is_empty(), "no units found in systemd/");
    let man = roff_to_text(&read("man/wasi-httpd.8"));
    let readme = read("README.md");
    let missing: Vec<String> = units
        .iter()
        .flat_map(|unit| {
            let mut gaps = Vec::new();
            if !man.contains(unit.as_str()) {
                gaps.push(format!("{unit} (man page)"));
            }
            if !readme.contains(unit.as_str()) {
                gaps.push(format!("{unit} (README)"));
            }
            gaps
        })
        .collect();
    assert!(
        missing.is_empty(),
        "these units in systemd/ are not named in the documentation (the man page \
         lists them under FILES and SYSTEMD, the README in its layout table): {}",
        missing.join(", ")
    );
}

/// The `StatusCode::NAME` constants used in `src/`, as numbers; the name is
/// matched against the code's canonical reason (`PAYLOAD_TOO_LARGE` is
/// "Payload Too Large").
fn status_codes_in_sources() -> BTreeSet<u16> {
    fn rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                rust_files(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let by_name: std::collections::BTreeMap<String, u16> = (100..1000)
        .filter_map(|n| http::StatusCode::from_u16(n).ok())
        .filter_map(|code| {
            let name = code
                .canonical_reason()?
                .to_ascii_uppercase()
                .replace([' ', '-'], "_")
                .replace('\'', "");
            Some((name, code.as_u16()))
        })
        .collect();
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut codes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (at, _) in text.match_indices("StatusCode::") {
            let after = &text[at + "StatusCode::".len()..];
            let len = after
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..len];
            if name.is_empty() {
                continue;
            }
            let code = by_name.get(name).unwrap_or_else(|| {
                panic!(
                    "{}: unknown status constant StatusCode::{name}",
                    file.display()
                )
            });
            codes.insert(*code);
        }
    }
    codes
}

#[test]
fn man_page_and_readme_list_every_error_status() {
    let mut codes = status_codes_in_sources();
    assert!(
        codes.contains(&404),
        "no StatusCode:: constants found in src/"
    );
    // Sent by hyper, not by our code: a request head over --max-header-size.
    codes.insert(431);
    let codes: Vec<u16> = codes.into_iter().filter(|code| *code >= 400).collect();
    let man = read("man/wasi-httpd.8");
    let section = man
        .split("\n.SH STATUS CODES\n")
        .nth(1)
        .and_then(|rest| rest.split("\n.SH ").next())
        .expect("man/wasi-httpd.8 has a STATUS CODES section");
    let readme = read("README.md");
    let mut missing = Vec::new();
    for code in codes {
        if !section.contains(&format!("\n.B {code}\n")) {
            missing.push(format!(
                "{code} (man page, STATUS CODES: `.TP` / `.B {code}`)"
            ));
        }
        if !readme.contains(&format!("\n| {code} |")) {
            missing.push(format!(
                "{code} (README, status codes table: `| {code} | ...`)"
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "error statuses the daemon answers with are not documented: {}",
        missing.join(", ")
    );
}
