//! Colour and progress with the real binary: `--color auto|always|never` and `NO_COLOR` decide
//! colour; progress bars are drawn on a terminal only. A terminal is a real pseudo-terminal
//! (util-linux `script`), a pipe is what `Command::output` gives.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Project, base_course, stderr, stdout};

const ESC: &str = "\u{1b}[";

/// Leaves out colour and COURSESYNC_* variables from outside; sets a colour terminal and `env`.
fn environment(cmd: &mut Command, env: &[(&str, &str)]) {
    for (key, _) in std::env::vars() {
        if key.starts_with("COURSESYNC_")
            || ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM"].contains(&key.as_str())
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
}

/// Runs the real binary in `dir` with stdout and stderr piped.
fn piped(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coursesync"));
    cmd.current_dir(dir).args(args);
    environment(&mut cmd, env);
    cmd.output().unwrap()
}

/// Runs the real binary in `dir` with stdout and stderr on a pseudo-terminal; returns what the
/// terminal showed and the exit code.
fn on_terminal(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (String, Option<i32>) {
    let line = std::iter::once(env!("CARGO_BIN_EXE_coursesync"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script
        .current_dir(dir)
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .stdin(std::process::Stdio::null());
    environment(&mut script, env);
    let out = script.output().expect("util-linux `script` runs");
    (stdout(&out), out.status.code())
}

fn project() -> Project {
    let p = Project::new();
    p.course("a.toml", &base_course("a"));
    p
}

#[test]
fn piped_output_is_plain_unless_color_always() {
    let p = project();
    let plain = piped(p.root(), &["plan"], &[]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(
        stdout(&plain).contains("+ a 基础课程"),
        "{}",
        stdout(&plain)
    );
    assert!(!stdout(&plain).contains(ESC), "{}", stdout(&plain));

    for args in [
        &["--color", "always", "plan"][..],
        &["plan", "--color=always"],
    ] {
        let out = piped(p.root(), args, &[("NO_COLOR", "1")]);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            stdout(&out).contains(&format!("{ESC}1m")),
            "{args:?}: --color always wins over NO_COLOR: {}",
            stdout(&out)
        );
    }
}

#[test]
fn a_terminal_gets_colour_unless_no_color_or_color_never() {
    let p = project();
    let (shown, code) = on_terminal(p.root(), &["plan"], &[]);
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains(ESC), "no colour on a terminal: {shown}");

    let (shown, _) = on_terminal(p.root(), &["plan"], &[("NO_COLOR", "1")]);
    assert!(shown.contains("+ a 基础课程"), "{shown}");
    assert!(!shown.contains(ESC), "NO_COLOR: {shown}");

    let (shown, _) = on_terminal(p.root(), &["plan", "--color", "never"], &[]);
    assert!(shown.contains("+ a 基础课程"), "{shown}");
    assert!(!shown.contains(ESC), "--color never: {shown}");

    // Validate's findings (rendered by another library) follow the same choice.
    p.course(
        "b.toml",
        &base_course("b").replace("real_price = 4900", "real_price = 5100"),
    );
    let (shown, code) = on_terminal(p.root(), &["validate"], &[]);
    assert_eq!(code, Some(1));
    assert!(shown.contains("CS203") && shown.contains(ESC), "{shown}");
    let (shown, _) = on_terminal(p.root(), &["validate", "--color", "never"], &[]);
    assert!(shown.contains("CS203") && !shown.contains(ESC), "{shown}");
    let out = piped(p.root(), &["validate", "--color", "always"], &[]);
    assert!(stdout(&out).contains(ESC), "{}", stdout(&out));
}

#[test]
fn help_and_usage_errors_follow_the_flag() {
    let p = project();
    let (shown, code) = on_terminal(p.root(), &["--color", "never", "--help"], &[]);
    assert_eq!(code, Some(0));
    assert!(
        shown.contains("--color <WHEN>") && !shown.contains(ESC),
        "{shown}"
    );
    let out = piped(
        p.root(),
        &["plan", "--color", "always", "--frobnicate"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(ESC), "{}", stderr(&out));
    let out = piped(p.root(), &["plan", "--color", "sometimes"], &[]);
    assert_eq!(out.status.code(), Some(1), "a bad value is a usage error");
    assert!(stderr(&out).contains("sometimes"), "{}", stderr(&out));
}

/// indicatif draws to stderr only when it is a terminal (and TERM is not `dumb`).
#[test]
fn progress_bars_are_drawn_on_a_terminal_only() {
    let bar = "courses [";
    let p = project();
    let out = piped(p.root(), &["apply", "--auto-approve"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Apply complete: 1 of 1 courses done"),
        "{}",
        stdout(&out)
    );
    assert!(!stderr(&out).contains(bar), "{}", stderr(&out));
    assert!(!stderr(&out).contains('\r'), "{:?}", stderr(&out));

    let p = project();
    let (shown, code) = on_terminal(
        p.root(),
        &["apply", "--auto-approve", "--color", "never"],
        &[],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("Apply complete: 1 of 1 courses done"),
        "{shown}"
    );
    assert!(
        shown.contains(bar),
        "no progress bar on a terminal: {shown}"
    );
}
