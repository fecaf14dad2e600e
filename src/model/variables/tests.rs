//! Unit tests of variable resolution, templates and the `--variable` flag.

use super::*;

/// A scratch directory removed on drop (tests run in parallel: names are unique).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("wasi-httpd-variables-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn required() -> VariableSpec {
    VariableSpec {
        default: None,
        required: true,
        secret: false,
    }
}

fn with_default(value: &str) -> VariableSpec {
    VariableSpec {
        default: Some(value.into()),
        required: false,
        secret: false,
    }
}

fn secret() -> VariableSpec {
    VariableSpec {
        secret: true,
        ..required()
    }
}

fn app(vars: &[(&str, VariableSpec)]) -> BTreeMap<String, VariableSpec> {
    vars.iter()
        .map(|(name, spec)| (name.to_string(), spec.clone()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn providers(flags: &[(&str, &str)], env: &[(&str, &str)], creds: Option<&TempDir>) -> Providers {
    Providers {
        flags: map(flags),
        env: map(env),
        credentials_dir: creds.map(|d| d.0.clone()),
    }
}

#[test]
fn flag_beats_credential_env_and_default() {
    let creds = TempDir::new("flag-first");
    creds.write("api_key", "from-credential\n");
    let p = providers(
        &[("api_key", "from-flag")],
        &[("SPIN_VARIABLE_API_KEY", "from-env")],
        Some(&creds),
    );
    let r = resolve(&app(&[("api_key", with_default("from-default"))]), &p).unwrap();
    assert_eq!(r.get("api_key"), Some("from-flag"));
    assert_eq!(r.source("api_key"), Some(Source::Flag));
}

#[test]
fn credential_beats_env_and_default() {
    let creds = TempDir::new("cred-second");
    creds.write("api_key", "from-credential\n");
    let p = providers(&[], &[("SPIN_VARIABLE_API_KEY", "from-env")], Some(&creds));
    let r = resolve(&app(&[("api_key", with_default("from-default"))]), &p).unwrap();
    assert_eq!(r.get("api_key"), Some("from-credential"));
    assert_eq!(r.source("api_key"), Some(Source::Credential));
}

#[test]
fn env_beats_default() {
    let creds = TempDir::new("env-third");
    let p = providers(&[], &[("SPIN_VARIABLE_API_KEY", "from-env")], Some(&creds));
    let r = resolve(&app(&[("api_key", with_default("from-default"))]), &p).unwrap();
    assert_eq!(r.get("api_key"), Some("from-env"));
    assert_eq!(r.source("api_key"), Some(Source::Env));
}

#[test]
fn default_is_used_when_no_provider_has_a_value() {
    let r = resolve(
        &app(&[("host", with_default("example.com"))]),
        &Providers::default(),
    )
    .unwrap();
    assert_eq!(r.get("host"), Some("example.com"));
    assert_eq!(r.source("host"), Some(Source::Default));
    assert_eq!(r.get("other"), None);
    assert_eq!(r.names().collect::<Vec<_>>(), ["host"]);
}

#[test]
fn env_var_name_is_the_prefix_and_the_upper_cased_name() {
    assert_eq!(env_var_name("api_key"), "SPIN_VARIABLE_API_KEY");
    assert_eq!(env_var_name("db2_url"), "SPIN_VARIABLE_DB2_URL");
    // Only the exact upper-cased name counts.
    let p = providers(
        &[],
        &[
            ("SPIN_VARIABLE_api_key", "lower"),
            ("API_KEY", "unprefixed"),
        ],
        None,
    );
    assert!(resolve(&app(&[("api_key", required())]), &p).is_err());
}

#[test]
fn empty_values_count_as_set() {
    let p = providers(&[("a", "")], &[("SPIN_VARIABLE_B", "")], None);
    let r = resolve(&app(&[("a", required()), ("b", with_default("x"))]), &p).unwrap();
    assert_eq!(r.get("a"), Some(""));
    assert_eq!(r.get("b"), Some(""));
}

#[test]
fn missing_required_variable_error_names_it_and_every_way_to_set_it() {
    let creds = TempDir::new("missing");
    let err = resolve(
        &app(&[("api_key", required())]),
        &providers(&[], &[], Some(&creds)),
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "required application variable `api_key` has no value",
        "--variable api_key=VALUE",
        "credential named `api_key`",
        "LoadCredential=api_key:",
        "SPIN_VARIABLE_API_KEY",
        creds.0.to_str().unwrap(),
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    let err = resolve(&app(&[("api_key", required())]), &Providers::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("$CREDENTIALS_DIRECTORY is not set"), "{err}");
}

#[test]
fn every_missing_required_variable_is_reported() {
    let err = resolve(
        &app(&[
            ("a", required()),
            ("b", with_default("ok")),
            ("c", secret()),
        ]),
        &Providers::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("2 required application variables"), "{err}");
    assert!(err.contains("`a`, `c`"), "{err}");
    assert!(err.contains("SPIN_VARIABLE_C"), "{err}");
    assert!(!err.contains("`b`"), "{err}");
}

#[test]
fn spec_without_default_is_required_even_if_not_marked() {
    let spec = VariableSpec::default();
    assert!(resolve(&app(&[("x", spec)]), &Providers::default()).is_err());
}

#[test]
fn credential_file_loses_one_trailing_newline_only() {
    let creds = TempDir::new("trim");
    creds.write("plain", "value\n");
    creds.write("crlf", "value\r\n");
    creds.write("two", "value\n\n");
    creds.write("none", "  value  ");
    creds.write("inner", "line1\nline2\n");
    let names = ["plain", "crlf", "two", "none", "inner"];
    let specs: Vec<(&str, VariableSpec)> = names.iter().map(|n| (*n, required())).collect();
    let r = resolve(&app(&specs), &providers(&[], &[], Some(&creds))).unwrap();
    assert_eq!(r.get("plain"), Some("value"));
    assert_eq!(r.get("crlf"), Some("value"));
    assert_eq!(r.get("two"), Some("value\n"));
    assert_eq!(r.get("none"), Some("  value  "));
    assert_eq!(r.get("inner"), Some("line1\nline2"));
}

#[test]
fn absent_credential_file_falls_through_to_the_environment() {
    let creds = TempDir::new("absent");
    creds.write("other", "x");
    let p = providers(&[], &[("SPIN_VARIABLE_TOKEN", "env")], Some(&creds));
    let r = resolve(&app(&[("token", required())]), &p).unwrap();
    assert_eq!(r.source("token"), Some(Source::Env));
    // A credentials directory that does not exist is the same as no file.
    let p = Providers {
        credentials_dir: Some(creds.0.join("nope")),
        ..p
    };
    assert_eq!(
        resolve(&app(&[("token", required())]), &p)
            .unwrap()
            .get("token"),
        Some("env")
    );
}

#[test]
fn unreadable_credential_is_an_error_naming_the_file() {
    let creds = TempDir::new("unreadable");
    std::fs::create_dir(creds.0.join("token")).unwrap();
    std::fs::write(creds.0.join("binary"), [0xff, 0xfe]).unwrap();
    let p = providers(&[], &[], Some(&creds));
    let err = format!(
        "{:#}",
        resolve(&app(&[("token", required())]), &p).unwrap_err()
    );
    assert!(err.contains("cannot read the systemd credential"), "{err}");
    assert!(
        err.contains(creds.0.join("token").to_str().unwrap()),
        "{err}"
    );
    let err = resolve(&app(&[("binary", required())]), &p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not valid UTF-8"), "{err}");
}

#[test]
fn secret_values_are_redacted_in_debug() {
    let p = providers(
        &[("api_key", "hunter2-flag")],
        &[("SPIN_VARIABLE_PASSWORD", "hunter2-env")],
        None,
    );
    let r = resolve(
        &app(&[
            ("api_key", secret()),
            (
                "password",
                VariableSpec {
                    default: Some("hunter2-default".into()),
                    ..secret()
                },
            ),
            ("host", with_default("example.com")),
        ]),
        &p,
    )
    .unwrap();
    let shown = format!("{r:?} {r:#?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("<secret> (--variable flag)"), "{shown}");
    assert!(
        shown.contains("\"example.com\" (manifest default)"),
        "{shown}"
    );
    // Neither the providers nor a secret spec print values either.
    let shown = format!("{p:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("api_key"),
        "{shown}"
    );
    let spec = VariableSpec {
        default: Some("hunter2".into()),
        ..secret()
    };
    assert!(!format!("{spec:?}").contains("hunter2"));
    assert!(format!("{:?}", with_default("shown")).contains("shown"));
}

fn sample() -> Resolved {
    resolve(
        &app(&[
            ("host", with_default("api.example.com")),
            ("port", with_default("8443")),
            ("name", with_default("world")),
        ]),
        &Providers::default(),
    )
    .unwrap()
}

#[test]
fn templates_mix_several_variables_and_literal_text() {
    let r = sample();
    assert_eq!(
        r.render("https://{{ host }}:{{ port }}/v1").unwrap(),
        "https://api.example.com:8443/v1"
    );
    assert_eq!(
        r.render("prefix-{{ name }}-suffix").unwrap(),
        "prefix-world-suffix"
    );
    assert_eq!(r.render("{{ name }}{{ name }}").unwrap(), "worldworld");
    assert_eq!(r.render("{{ name }}").unwrap(), "world");
}

#[test]
fn template_spaces_inside_braces_are_optional() {
    let r = sample();
    for t in ["{{name}}", "{{ name }}", "{{   name\t}}"] {
        assert_eq!(r.render(t).unwrap(), "world", "{t}");
    }
}

#[test]
fn literal_templates_and_lone_closing_braces_pass_through() {
    let r = sample();
    assert_eq!(r.render("").unwrap(), "");
    assert_eq!(r.render("plain value").unwrap(), "plain value");
    assert_eq!(r.render("a }} b { c }").unwrap(), "a }} b { c }");
    assert_eq!(r.render("{{ name }}}").unwrap(), "world}");
}

#[test]
fn template_naming_an_unknown_variable_is_an_error_naming_it() {
    let err = sample()
        .render("https://{{ hots }}")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown application variable `hots`"), "{err}");
    assert!(err.contains("declared: host, name, port"), "{err}");
    let empty = resolve(&BTreeMap::new(), &Providers::default()).unwrap();
    let err = empty.render("{{ x }}").unwrap_err().to_string();
    assert!(err.contains("declares no variables"), "{err}");
}

#[test]
fn malformed_templates_are_errors() {
    let r = sample();
    let err = r.render("{{ name }} {{ unmatched").unwrap_err().to_string();
    assert!(err.contains("unmatched '{{'"), "{err}");
    let err = r.render("{{ }}").unwrap_err().to_string();
    assert!(err.contains("not a variable name"), "{err}");
    let err = r.render("{{ Name }}").unwrap_err().to_string();
    assert!(err.contains("not a variable name"), "{err}");
}

#[test]
fn variable_names_follow_spins_key_rule() {
    for ok in ["a", "abc", "a1b2c3", "a_1", "a_1_b_3", "api_key"] {
        validate_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y", "API_KEY"] {
        assert!(validate_name(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn invalid_app_variable_name_is_rejected() {
    let err = resolve(
        &app(&[("ApiKey", with_default("x"))]),
        &Providers::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("invalid application variable name `ApiKey`"),
        "{err}"
    );
}

#[test]
fn unknown_flags_are_reported_for_a_warning() {
    let p = providers(&[("host", "h"), ("hots", "typo")], &[], None);
    let r = resolve(&app(&[("host", required())]), &p).unwrap();
    assert_eq!(r.unknown_flags(), ["hots"]);
}

#[test]
fn variable_flag_parses_name_and_value() {
    assert_eq!(
        parse_variable_flag("api_key=abc"),
        Ok(("api_key".into(), "abc".into()))
    );
    assert_eq!(parse_variable_flag("k=a=b"), Ok(("k".into(), "a=b".into())));
    assert_eq!(parse_variable_flag("k="), Ok(("k".into(), String::new())));
    assert_eq!(
        parse_variable_flag("k= spaced "),
        Ok(("k".into(), " spaced ".into()))
    );
}

#[test]
fn variable_flag_errors_say_the_expected_form() {
    let err = parse_variable_flag("api_key").unwrap_err();
    assert!(
        err.contains("name=value") && err.contains("no `=`"),
        "{err}"
    );
    let err = parse_variable_flag("API_KEY=x").unwrap_err();
    assert!(
        err.contains("invalid variable name `API_KEY`") && err.contains("did you mean `api_key`"),
        "{err}"
    );
    let err = parse_variable_flag("api-key=x").unwrap_err();
    assert!(err.contains("did you mean `api_key`"), "{err}");
    let err = parse_variable_flag("=x").unwrap_err();
    assert!(err.contains("must not be empty"), "{err}");
    let err = parse_variable_flag("@vars.json").unwrap_err();
    assert!(err.contains("not supported"), "{err}");
    // The value never appears in an error.
    let err = parse_variable_flag("Bad=hunter2").unwrap_err();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn variable_flag_reads_at_file_as_is() {
    let dir = TempDir::new("flag-file");
    let path = dir.write("token.txt", "file-value\n");
    let arg = format!("token=@{}", path.display());
    assert_eq!(
        parse_variable_flag(&arg),
        Ok(("token".into(), "file-value\n".into()))
    );
    let missing = format!("token=@{}", dir.0.join("nope").display());
    let err = parse_variable_flag(&missing).unwrap_err();
    assert!(err.contains("cannot read") && err.contains("nope"), "{err}");
}
