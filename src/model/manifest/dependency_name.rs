//! Dependency names (the keys of `[component.<id>.dependencies]`) and how
//! they match a component's import names, as Spin's `spin-serde` and
//! `spin-compose` define them:
//!
//! - a plain name (`my-lib`) matches the import of exactly that name;
//! - `ns:pkg` matches every interface of that package, any version;
//! - `ns:pkg/iface` matches that interface, any version;
//! - `ns:pkg@1.2.3` and `ns:pkg/iface@1.2.3` match only that exact version.

use std::fmt;

use semver::Version;

/// A parsed dependency (or import) name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    Plain(String),
    Package {
        /// `ns:pkg`.
        package: String,
        interface: Option<String>,
        version: Option<Version>,
    },
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Plain(name) => f.write_str(name),
            Name::Package {
                package,
                interface,
                version,
            } => {
                f.write_str(package)?;
                if let Some(interface) = interface {
                    write!(f, "/{interface}")?;
                }
                if let Some(version) = version {
                    write!(f, "@{version}")?;
                }
                Ok(())
            }
        }
    }
}

/// The hint given with every invalid name.
pub const NAME_HINT: &str = "a dependency name is a plain kebab-case name (`my-lib`), a \
    package (`my:lib`, `my:lib@1.0.0`) or an interface (`my:lib/greet`, `my:lib/greet@1.0.0`)";

/// A WIT identifier: lowercase kebab-case words, each starting with a
/// letter (later ones may start with a digit).
fn check_kebab(word: &str, what: &str) -> Result<(), String> {
    let ok = !word.is_empty()
        && word.split('-').enumerate().all(|(i, part)| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || (i > 0 && c.is_ascii_digit()))
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {word:?} is not lowercase kebab-case (e.g. `my-lib`)"
        ))
    }
}

impl Name {
    /// Parses a name; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<Name, String> {
        if !s.contains([':', '/', '@']) {
            check_kebab(s, "the name")?;
            return Ok(Name::Plain(s.to_owned()));
        }
        let (rest, version) = match s.split_once('@') {
            Some((rest, v)) => {
                let version = Version::parse(v)
                    .map_err(|e| format!("the version {v:?} is not a semantic version: {e}"))?;
                (rest, Some(version))
            }
            None => (s, None),
        };
        let (package, interface) = match rest.split_once('/') {
            Some((p, i)) => {
                check_kebab(i, "the interface")?;
                (p, Some(i.to_owned()))
            }
            None => (rest, None),
        };
        let Some((namespace, name)) = package.split_once(':') else {
            return Err(format!(
                "the package {package:?} has no namespace (write `namespace:package`)"
            ));
        };
        check_kebab(namespace, "the namespace")?;
        check_kebab(name, "the package name")?;
        Ok(Name::Package {
            package: package.to_owned(),
            interface,
            version,
        })
    }

    /// Whether this dependency name satisfies the import called `import`.
    pub fn matches(&self, import: &str) -> bool {
        let Ok(import) = Name::parse(import) else {
            return false;
        };
        match (self, import) {
            (Name::Plain(a), Name::Plain(b)) => *a == b,
            (
                Name::Package {
                    package,
                    interface,
                    version,
                },
                Name::Package {
                    package: import_package,
                    interface: import_interface,
                    version: import_version,
                },
            ) => {
                *package == import_package
                    && interface
                        .as_ref()
                        .is_none_or(|i| Some(i) == import_interface.as_ref())
                    && version
                        .as_ref()
                        .is_none_or(|v| Some(v) == import_version.as_ref())
            }
            _ => false,
        }
    }

    /// Whether two names of one component could satisfy the same import
    /// (Spin's check that dependencies are disjoint): the same package,
    /// no different interfaces and no incompatible versions.
    pub fn overlaps(&self, other: &Name) -> bool {
        let (
            Name::Package {
                package: a,
                interface: ai,
                version: av,
            },
            Name::Package {
                package: b,
                interface: bi,
                version: bv,
            },
        ) = (self, other)
        else {
            return false;
        };
        let compatible = |x: &Version, y: &Version| {
            if !x.pre.is_empty() || !y.pre.is_empty() {
                // A prerelease is compatible only with itself.
                x == y
            } else if x.major > 0 || y.major > 0 {
                x.major == y.major
            } else if x.minor > 0 || y.minor > 0 {
                x.minor == y.minor
            } else {
                x.patch == y.patch
            }
        };
        a == b
            && !matches!((ai, bi), (Some(x), Some(y)) if x != y)
            && !matches!((av, bv), (Some(x), Some(y)) if !compatible(x, y))
    }

    /// A package name with no interface (`ns:pkg`, `ns:pkg@1.0.0`), which
    /// may satisfy several imports and so cannot name one export.
    pub fn is_whole_package(&self) -> bool {
        matches!(
            self,
            Name::Package {
                interface: None,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Name;

    #[test]
    fn matching_follows_spin() {
        for (dependency, imports) in [
            ("foo:bar/baz@0.1.0", vec!["foo:bar/baz@0.1.0"]),
            ("foo:bar/baz", vec!["foo:bar/baz@0.1.0", "foo:bar/baz"]),
            ("foo:bar", vec!["foo:bar/baz@0.1.0", "foo:bar/baz"]),
            ("foo:bar@0.1.0", vec!["foo:bar/baz@0.1.0"]),
            ("foo-bar", vec!["foo-bar"]),
        ] {
            let name = Name::parse(dependency).unwrap();
            for import in imports {
                assert!(name.matches(import), "{dependency} should match {import}");
            }
        }
        for (dependency, imports) in [
            ("foo:bar/baz@0.1.0", vec!["foo:bar/baz"]),
            ("foo:bar/baz", vec!["foo:bar/bub", "foo:bar/bub@0.1.0"]),
            ("foo:bar", vec!["foo:bub/bib"]),
            ("foo:bar@0.1.0", vec!["foo:bar/baz"]),
            ("foo:bar/baz", vec!["foo:bar/baz-bub", "foo-bar"]),
        ] {
            let name = Name::parse(dependency).unwrap();
            for import in imports {
                assert!(
                    !name.matches(import),
                    "{dependency} must not match {import}"
                );
            }
        }
    }

    #[test]
    fn invalid_names_say_why() {
        for (bad, why) in [
            ("Foo", "kebab-case"),
            ("foo:bar@x", "semantic version"),
            ("foobar/baz", "no namespace"),
            ("foo:bar/Baz", "interface"),
            ("foo:", "package name"),
        ] {
            let err = Name::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn overlapping_names_are_found() {
        let overlaps =
            |a: &str, b: &str| Name::parse(a).unwrap().overlaps(&Name::parse(b).unwrap());
        assert!(overlaps("foo:bar", "foo:bar/baz"));
        assert!(overlaps("foo:bar@1.0.0", "foo:bar@1.2.0"));
        assert!(!overlaps("foo:bar@1.0.0", "foo:bar@2.0.0"));
        assert!(!overlaps("foo:bar@0.3.0-rc-1", "foo:bar@0.3.0-rc-2"));
        assert!(!overlaps("foo:bar@1.0.0-rc", "foo:bar@1.0.0"));
        assert!(overlaps("foo:bar@1.0.0-rc", "foo:bar@1.0.0-rc"));
        assert!(!overlaps("foo:bar/a", "foo:bar/b"));
        assert!(!overlaps("foo:bar", "foo:baz"));
        assert!(!overlaps("my-lib", "my-lib"));
    }
}
