//! `anp completions SHELL` (clap_complete) and `anp man [--dir DIR]` (clap_mangen): both are
//! generated from the same clap definition as the binary, at run time, so they always match it.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Command};

use crate::output;

/// Options of `anp completions`.
#[derive(ClapArgs, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// Options of `anp man`.
#[derive(ClapArgs, Debug)]
pub struct ManArgs {
    /// Write anp.1 and one page per subcommand (anp-jobs-list.1, …) into this folder instead of
    /// printing anp.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script of `cmd` for a shell.
pub fn completions(mut cmd: Command, a: CompletionsArgs) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "anp", &mut buf);
    output::out(&String::from_utf8_lossy(&buf))
}

/// Prints the man page of `cmd` (roff), or writes every page into `--dir`.
pub fn man(cmd: Command, a: ManArgs) -> anyhow::Result<()> {
    if let Some(dir) = a.dir {
        let unwritable = |e: std::io::Error| {
            alphanode::Error::read_only(
                "man",
                format!("{}: {e}: expected a writable folder", dir.display()),
            )
        };
        std::fs::create_dir_all(&dir).map_err(unwritable)?;
        clap_mangen::generate_to(cmd, &dir).map_err(unwritable)?;
        return Ok(());
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf)?;
    output::out(&String::from_utf8_lossy(&buf))
}
