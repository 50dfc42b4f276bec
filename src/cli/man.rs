//! `coursesync man [--dir DIR]`: the manual pages (roff, clap_mangen), one per command, generated
//! from the command-line definition, for packagers and for `man -l`. The repository keeps the
//! generated pages in `docs/man/` (a test fails when they are stale).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::CommandFactory as _;

/// Options of `coursesync man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write every page (coursesync.1, coursesync-validate.1, ...) into DIR instead of printing
    /// coursesync.1.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}

/// Every manual page as (file name, roff text): the top command's, then each visible
/// subcommand's, depth first (`coursesync-state-list.1`).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    fn walk(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
        let subcommands: Vec<clap::Command> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .cloned()
            .collect();
        let man = clap_mangen::Man::new(cmd);
        let mut text = Vec::new();
        man.render(&mut text).expect("rendering into memory");
        out.push((man.get_filename(), text));
        for sub in subcommands {
            walk(sub, out);
        }
    }
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(cmd, &mut out);
    out
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    use std::io::Write as _;
    let pages = pages();
    match &args.dir {
        None => {
            let (_, top) = pages.first().expect("the top command has a page");
            std::io::stdout().write_all(top)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            for (name, text) in &pages {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            eprintln!("Wrote {} manual pages to {}.", pages.len(), dir.display());
        }
    }
    Ok(crate::exit::OK)
}
