//! `--color auto|always|never` and `NO_COLOR`: one choice for everything coursesync prints.
//!
//! The choice is made global (anstream's), so every `anstream` stream and every "is colour on?"
//! question ([`stdout_enabled`]) follows it: `auto` colours a terminal unless `NO_COLOR` is set
//! (or `CLICOLOR_FORCE` asks for colour off a terminal), `always` and `never` are what they say
//! and win over the environment. Progress bars are another matter: they are drawn only on a
//! terminal, whatever the colour choice (see `apply::Progress`).

use std::ffi::OsString;

/// When to use colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always, even into a pipe or a file, and even with NO_COLOR set.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// Makes this the choice of every stream coursesync writes.
    pub fn apply(self) {
        anstream::ColorChoice::write_global(match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        });
    }

    /// The same choice for clap's own help and usage errors.
    pub fn for_clap(self) -> clap::ColorChoice {
        match self {
            ColorWhen::Auto => clap::ColorChoice::Auto,
            ColorWhen::Always => clap::ColorChoice::Always,
            ColorWhen::Never => clap::ColorChoice::Never,
        }
    }
}

/// The `--color` value on a command line, looked up before clap parses it so that clap's help
/// and errors follow it too; `None` when absent or not a valid value (clap then reports it).
pub fn from_args(args: &[OsString]) -> Option<ColorWhen> {
    let mut found = None;
    let mut iter = args.iter().skip(1).map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        let value = match arg {
            Some("--") => break,
            Some("--color") => iter.next().flatten(),
            Some(other) => other.strip_prefix("--color="),
            None => None,
        };
        if let Some(v) = value {
            found = <ColorWhen as clap::ValueEnum>::from_str(v, false).ok();
        }
    }
    found
}

/// Whether text written to stdout should be coloured, under the global choice.
pub fn stdout_enabled() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// Whether text written to stderr should be coloured, under the global choice.
pub fn stderr_enabled() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_the_flag_in_either_form_and_anywhere_before_a_double_dash() {
        let found = |list: &[&str]| from_args(&args(list));
        assert_eq!(found(&["cs", "plan"]), None);
        assert_eq!(
            found(&["cs", "--color", "never", "plan"]),
            Some(ColorWhen::Never)
        );
        assert_eq!(
            found(&["cs", "plan", "--color=always"]),
            Some(ColorWhen::Always)
        );
        assert_eq!(
            found(&["cs", "--color=never", "plan", "--color", "auto"]),
            Some(ColorWhen::Auto),
            "the last one wins, as clap does"
        );
        assert_eq!(found(&["cs", "plan", "--", "--color=never"]), None);
        assert_eq!(found(&["cs", "--color", "sometimes"]), None);
        assert_eq!(found(&["cs", "--color"]), None);
    }
}
