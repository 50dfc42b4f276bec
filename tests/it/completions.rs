//! `coursesync completions SHELL` and the manual pages: the bash script, loaded into a real bash,
//! completes every subcommand and every flag of the command-line definition; every shell gets a
//! script; `docs/man/` holds what the code generates.

use std::path::Path;
use std::process::Command;

use clap::CommandFactory as _;

use crate::schema::stale;
use crate::support::{coursesync, stdout};

/// What bash's completion offers after `words` (the last one being completed).
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"source '{}'
COMP_WORDS=({})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
_coursesync coursesync "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script.display(),
        quoted.join(" ")
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{out:?}");
    stdout(&out).lines().map(str::to_string).collect()
}

/// Every command path with subcommands, and each one's visible subcommands and long flags,
/// from the command-line definition.
fn tree(cmd: &clap::Command, path: &[String], out: &mut Vec<(Vec<String>, clap::Command)>) {
    out.push((path.to_vec(), cmd.clone()));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut p = path.to_vec();
        p.push(sub.get_name().to_string());
        tree(sub, &p, out);
    }
}

#[test]
fn bash_completes_every_subcommand_and_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = coursesync(dir.path(), &["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = dir.path().join("coursesync.bash");
    std::fs::write(&script, &out.stdout).unwrap();

    let mut commands = Vec::new();
    tree(&coursesync::cli::Cli::command(), &[], &mut commands);
    let names: Vec<String> = commands.iter().map(|(p, _)| p.join(" ")).collect();
    for expected in [
        "validate",
        "plan",
        "apply",
        "schema",
        "completions",
        "state list",
    ] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    for (path, cmd) in &commands {
        let mut words: Vec<&str> = std::iter::once("coursesync")
            .chain(path.iter().map(String::as_str))
            .collect();
        words.push("");
        let offered = bash_complete(&script, &words);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            assert!(
                offered.iter().any(|o| o == sub.get_name()),
                "`{}` does not offer `{}`: {offered:?}",
                words.join(" "),
                sub.get_name()
            );
        }
        *words.last_mut().unwrap() = "--";
        let offered = bash_complete(&script, &words);
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                let flag = format!("--{long}");
                assert!(
                    offered.contains(&flag),
                    "`{}` does not offer {flag}: {offered:?}",
                    words.join(" ")
                );
            }
        }
    }
    // Values of an enum option are completed too.
    let offered = bash_complete(&script, &["coursesync", "plan", "--format", ""]);
    assert_eq!(offered, ["human", "json", "markdown"]);
}

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = coursesync(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = stdout(&out);
        for name in ["validate", "plan", "apply", "schema", "init", "completions"] {
            assert!(text.contains(name), "{shell} script lacks {name}");
        }
    }
    let out = coursesync(dir.path(), &["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown shell is a usage error"
    );
}

#[test]
fn committed_manual_pages_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let pages = coursesync::cli::man::pages();
    let mut problems: Vec<String> = pages
        .iter()
        .filter_map(|(name, text)| stale(&dir.join(name), &String::from_utf8_lossy(text)))
        .collect();
    // A page of a command that no longer exists is stale too.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !pages.iter().any(|(n, _)| *n == name) {
            problems.push(format!("docs/man/{name} belongs to no command: delete it"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn man_prints_the_top_page_and_writes_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = coursesync(dir.path(), &["man"]);
    assert_eq!(out.status.code(), Some(0));
    let top = stdout(&out);
    assert!(
        top.starts_with(".ie") && top.contains(".TH coursesync 1"),
        "{top}"
    );
    let out = coursesync(dir.path(), &["man", "--dir", "pages"]);
    assert_eq!(out.status.code(), Some(0));
    let written = std::fs::read_to_string(dir.path().join("pages/coursesync-validate.1")).unwrap();
    assert!(written.contains("\\-\\-strict"), "{written}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("pages")).unwrap().count(),
        coursesync::cli::man::pages().len()
    );
}
