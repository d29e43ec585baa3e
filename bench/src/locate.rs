//! Which `hookwire` binary to benchmark, built first when the bench runs under cargo.

use std::path::{Path, PathBuf};

/// The hookwire binary: `--hookwire`, else `hookwire` beside this executable. Under
/// cargo (`cargo run -p hookwire-bench`, or its tests: cargo sets `CARGO` and
/// `CARGO_MANIFEST_DIR`), that one is first built with this executable's profile, since cargo
/// builds only the bench's own package.
pub fn locate(arg: Option<&Path>, build: bool) -> Result<PathBuf, String> {
    if let Some(p) = arg {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("--hookwire {}: no such file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own path: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    if build {
        build_sibling(dir)?;
    }
    let candidate = dir.join(format!("hookwire{}", std::env::consts::EXE_SUFFIX));
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "no hookwire binary at {}: build both with `cargo build --release --workspace`, \
             or pass --hookwire PATH",
            candidate.display()
        ))
    }
}

/// Runs `cargo build -p hookwire --bin hookwire` for the profile of `dir` (`target/<profile>`,
/// shared by the workspace) when this process was started by cargo; does nothing otherwise.
fn build_sibling(dir: &Path) -> Result<(), String> {
    let (Some(cargo), Some(manifest_dir)) = (
        std::env::var_os("CARGO"),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) else {
        return Ok(());
    };
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => return Ok(()),
    };
    let manifest = Path::new(&manifest_dir).join("Cargo.toml");
    eprintln!("hookwire-bench: cargo build --profile {profile} -p hookwire --bin hookwire");
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "hookwire",
            "--bin",
            "hookwire",
            "--profile",
            profile,
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .status()
        .map_err(|e| format!("cannot run cargo to build hookwire: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building hookwire failed ({status})"))
    }
}
