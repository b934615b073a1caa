//! Builds the policy plugins (`plugins/`, a separate workspace) to wasm32-wasip2
//! components, so `cargo build` and `cargo test` need no manual step. rustup does not
//! add the target listed in rust-toolchain.toml to an installed toolchain, so this
//! adds it. The components land in `$OUT_DIR/plugins`, and LATCHKEY_PLUGIN_DIR points
//! there (the bundled ones are embedded with include_bytes!, tests load the others).

// A build script reports failure by panicking; that is its interface.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("workspace root").to_path_buf();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for dir in ["plugins", "sdk"] {
        watch(&root.join(dir));
    }
    ensure_target();
    let target_dir = out.join("plugins-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--locked", "--target", TARGET, "--manifest-path"])
        .arg(root.join("plugins/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's settings are for the host; keep them out of the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO_PROFILE_") || k.starts_with("CARGO_CFG_") || k.starts_with("CARGO_FEATURE_") {
            cmd.env_remove(k);
        }
    }
    // A 64 KiB stack (instead of 1 MiB) keeps the pages a hook touches (stack, data,
    // first heap pages) inside the region the host resets without page faults.
    cmd.env("RUSTFLAGS", "-C link-arg=-zstack-size=65536");
    let status = cmd.status().expect("running cargo for the plugins");
    assert!(status.success(), "building the policy plugins for {TARGET} failed");
    let built = target_dir.join(TARGET).join("release");
    let dest = out.join("plugins");
    std::fs::create_dir_all(&dest).expect("plugins dir");
    for entry in std::fs::read_dir(&built).expect("plugin build output") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "wasm") {
            std::fs::copy(&path, dest.join(path.file_name().expect("name"))).expect("copy plugin");
        }
    }
    println!("cargo:rustc-env=LATCHKEY_PLUGIN_DIR={}", dest.display());
}

/// Adds the wasm32-wasip2 target to the active toolchain if it is missing.
fn ensure_target() {
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    let mut list = Command::new("rustup");
    list.args(["target", "list", "--installed"]);
    if let Some(t) = &toolchain {
        list.args(["--toolchain", t]);
    }
    let installed =
        list.output().map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET)).unwrap_or(false);
    if installed {
        return;
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", TARGET]);
    if let Some(t) = &toolchain {
        add.args(["--toolchain", t]);
    }
    let ok = add.status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "could not add the {TARGET} target with rustup; run `rustup target add {TARGET}`");
}

fn watch(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "target" {
            continue;
        }
        if p.is_dir() {
            watch(&p);
        } else {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}
