//! The `gantry` binary: everything lives in `gantry-cli`.

fn main() -> std::process::ExitCode {
    gantry_cli::main()
}
