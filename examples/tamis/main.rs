//! `cargo run --release --example tamis`: the one-command media data space.
//!
//! The data space is `passerelle demo` (an authority with its federated catalogue, a distributor, a subtitling
//! lab and a broadcaster on loopback, and the story played between them). Its services are processes of the
//! `passerelle` executable, and `cargo run --example` builds only the example, so this launcher first has cargo
//! bring the `passerelle` binary of the same profile up to date, then runs `passerelle demo` with the arguments
//! given after `--` (e.g. `-- --exit-when-done`, `-- --dir ./space`) and exits with its code. Ctrl-C reaches the
//! demo too (same process group), which stops every service.
//!
//! `PASSERELLE_EXE` names an already built `passerelle` to use instead (the test suite sets it, so that no second
//! cargo runs inside the tests).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let exe = match std::env::var_os("PASSERELLE_EXE") {
        Some(exe) => PathBuf::from(exe),
        None => match build_passerelle() {
            Ok(exe) => exe,
            Err(message) => {
                eprintln!("tamis: {message}");
                return ExitCode::from(1);
            }
        },
    };
    let status = Command::new(&exe).arg("demo").args(std::env::args_os().skip(1)).status();
    match status {
        Ok(status) => ExitCode::from(status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)),
        Err(e) => {
            eprintln!("tamis: cannot run {}: {e}", exe.display());
            ExitCode::from(1)
        }
    }
}

/// Builds `passerelle` in the profile this example was built in (the folder above `examples/`) and returns its
/// path.
fn build_passerelle() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot tell where this example runs from: {e}"))?;
    let profile_dir = me
        .parent()
        .filter(|dir| dir.file_name().is_some_and(|name| name == "examples"))
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in a cargo `examples` folder: set PASSERELLE_EXE", me.display()))?;
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    // `cargo run` tells the program it runs which cargo it is; a plain `cargo` otherwise.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.current_dir(env!("CARGO_MANIFEST_DIR")).args(["build", "--bin", "passerelle"]);
    match profile {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    if let Some(target_dir) = profile_dir.parent() {
        build.arg("--target-dir").arg(target_dir);
    }
    eprintln!("tamis: building the `passerelle` binary ({profile}) the demo's services run as…");
    let status = build.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("`cargo build --bin passerelle` failed ({status})"));
    }
    let exe = profile_dir.join(format!("passerelle{}", std::env::consts::EXE_SUFFIX));
    if exe.is_file() { Ok(exe) } else { Err(format!("cargo built no {}", exe.display())) }
}
