//! Which version of the `latchkey:policy` world a component was built for, read from
//! the versions of the world's interfaces it imports, and whether this host has an
//! adapter for it. A version without one is refused at install.

use crate::error::{Error, Field, Result};

/// The package every version of the world belongs to.
pub const WORLD: &str = "latchkey:policy";

/// The stable code that starts the refusal of a component built for a world version
/// this host has no adapter for.
pub const PLUGIN_WORLD_UNSUPPORTED: &str = "plugin_world_unsupported";

/// A world version this host has an adapter for (`wasm/v0_1.rs`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorldVersion {
    /// `latchkey:policy@0.1.x` (`sdk/wit/since_v0.1.0/`).
    V0_1,
}

impl WorldVersion {
    /// Every version this host runs, oldest first.
    pub const SUPPORTED: [WorldVersion; 1] = [WorldVersion::V0_1];

    /// The release the adapter was written against.
    pub fn release(self) -> &'static str {
        match self {
            WorldVersion::V0_1 => "0.1.0",
        }
    }

    /// True when a component declaring `declared` runs on this adapter: the same
    /// major.minor (the world's patch releases are compatible).
    fn runs(self, declared: &str) -> bool {
        major_minor(declared).is_some_and(|mm| Some(mm) == major_minor(self.release()))
    }
}

/// The world a component uses: the adapter's version and the version it declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    pub version: WorldVersion,
    /// As the component declares it, e.g. "0.1.0".
    pub declared: String,
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{WORLD}@{}", self.declared)
    }
}

/// `(major, minor)` of a `major.minor.patch[-pre][+build]` version.
fn major_minor(v: &str) -> Option<(u64, u64)> {
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || patch.parse::<u64>().is_err() {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Reads the world version from a component's import names (`latchkey:policy/types@0.1.0`,
/// `wasi:...` and others are ignored) and picks the adapter for it.
pub fn detect<'a>(imports: impl IntoIterator<Item = &'a str>) -> Result<World> {
    let prefix = format!("{WORLD}/");
    let mut declared: Option<&str> = None;
    for name in imports.into_iter().filter(|n| n.starts_with(&prefix)) {
        let version = name.split_once('@').map(|(_, v)| v).unwrap_or("");
        match declared {
            Some(d) if d != version => {
                return Err(unsupported(format!("imports {WORLD}@{d} and {WORLD}@{version} at once")));
            }
            _ => declared = Some(version),
        }
    }
    let Some(declared) = declared else {
        return Err(Error::invalid(Field::Plugin, format!("does not use the {WORLD} world")));
    };
    match WorldVersion::SUPPORTED.into_iter().find(|w| w.runs(declared)) {
        Some(version) => Ok(World { version, declared: declared.to_string() }),
        None => {
            let speaks: Vec<String> =
                WorldVersion::SUPPORTED.iter().map(|w| format!("{WORLD}@{}", w.release())).collect();
            Err(unsupported(format!("built for {WORLD}@{declared}; this host speaks {}", speaks.join(", "))))
        }
    }
}

fn unsupported(detail: String) -> Error {
    Error::invalid(Field::Plugin, format!("{PLUGIN_WORLD_UNSUPPORTED}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(imports: &[&str]) -> String {
        match detect(imports.iter().copied()) {
            Err(Error::Invalid { reason, .. }) => reason,
            other => panic!("{imports:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn w3_the_world_version_is_read_from_the_policy_imports() {
        let w = detect(["wasi:io/streams@0.2.6", "latchkey:policy/types@0.1.0"]).unwrap();
        assert_eq!((w.version, w.declared.as_str()), (WorldVersion::V0_1, "0.1.0"));
        assert_eq!(w.to_string(), "latchkey:policy@0.1.0");
        // A patch release of 0.1 runs on the 0.1 adapter.
        assert_eq!(detect(["latchkey:policy/types@0.1.7"]).unwrap().version, WorldVersion::V0_1);
    }

    #[test]
    fn w3_a_version_without_an_adapter_is_refused_with_a_stable_code() {
        for (declared, imports) in [
            ("0.2.0", vec!["latchkey:policy/types@0.2.0"]),
            ("9.0.0", vec!["latchkey:policy/types@9.0.0"]),
            ("1.1.0", vec!["latchkey:policy/types@1.1.0"]),
            ("0.1", vec!["latchkey:policy/types@0.1"]),
            ("", vec!["latchkey:policy/types"]),
        ] {
            let reason = refusal(&imports);
            assert!(reason.starts_with(PLUGIN_WORLD_UNSUPPORTED), "{declared}: {reason}");
            assert!(reason.contains(&format!("built for latchkey:policy@{declared};")), "{declared}: {reason}");
            assert!(reason.ends_with("this host speaks latchkey:policy@0.1.0"), "{reason}");
        }
    }

    #[test]
    fn w3_mixed_versions_and_components_of_no_policy_world_are_refused() {
        let mixed = refusal(&["latchkey:policy/types@0.1.0", "latchkey:policy/extra@0.2.0"]);
        assert!(mixed.starts_with(PLUGIN_WORLD_UNSUPPORTED), "{mixed}");
        let none = refusal(&["wasi:cli/environment@0.2.6", "latchkey:policyx/types@0.1.0"]);
        assert_eq!(none, "does not use the latchkey:policy world");
    }

    #[test]
    fn w3_versions_compare_by_major_and_minor() {
        assert_eq!(major_minor("0.1.0"), Some((0, 1)));
        assert_eq!(major_minor("0.1.3-rc.1+b7"), Some((0, 1)));
        assert_eq!(major_minor("10.20.30"), Some((10, 20)));
        for bad in ["", "0.1", "0.1.0.0", "a.b.c", "0.1.x"] {
            assert_eq!(major_minor(bad), None, "{bad}");
        }
    }
}
