//! `coursesync init` with the real binary: the scaffold validates and applies on the local
//! platform; nothing is ever overwritten; the editor mapping points at the schemas; every
//! `coursesync` command in the CI files runs with the real binary; and the CI scripts that commit
//! the state back are run for real against git repositories (a rejected push is rebased and
//! retried, a push that keeps failing fails loudly).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coursesync::ops::init::{self, GITHUB_WORKFLOW, GITLAB_CI};
use coursesync::ops::schema::{Kind, generate};
use serde_yaml_ng::Value as Yaml;

use crate::support::{coursesync, stderr, stdout};

fn code(out: &Output, expected: i32) {
    assert_eq!(
        out.status.code(),
        Some(expected),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// A fresh repository made by the real `coursesync init DIR`.
fn initialised() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = coursesync(tmp.path(), &["init", "repo"]);
    code(&out, 0);
    let repo = tmp.path().join("repo");
    (tmp, repo)
}

#[test]
fn init_then_validate_and_apply_on_the_local_platform() {
    let (_tmp, repo) = initialised();
    for file in init::files() {
        let written = std::fs::read(repo.join(file.path)).unwrap();
        assert_eq!(written, file.contents.as_ref(), "{}", file.path);
    }
    let settings = std::fs::read_to_string(repo.join("coursesync.toml")).unwrap();
    assert!(settings.contains("environment = \"local\""), "{settings}");

    let out = coursesync(&repo, &["validate"]);
    code(&out, 0);
    assert!(
        stdout(&out).contains("1 course file, 1 valid: 0 errors, 0 warnings"),
        "{}",
        stdout(&out)
    );
    let out = coursesync(&repo, &["apply", "--auto-approve"]);
    code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("+ example-101 示例课程"), "{text}");
    assert!(
        text.contains(
            "Apply complete: 1 of 1 courses done, 0 failed; 3 of 3 uploads done, 0 failed"
        ),
        "{text}"
    );
    let out = coursesync(&repo, &["plan", "--detailed-exitcode"]);
    code(&out, 0);
    assert!(stdout(&out).contains("Plan: 0 to add"), "{}", stdout(&out));
}

#[test]
fn init_without_dir_scaffolds_the_current_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = coursesync(tmp.path(), &["init"]);
    code(&out, 0);
    assert!(tmp.path().join("coursesync.toml").is_file());
    assert!(tmp.path().join(GITHUB_WORKFLOW).is_file());
    code(&coursesync(tmp.path(), &["validate"]), 0);
}

/// Every path below `dir`, with each file's bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut all: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .map(|e| {
            let bytes = e
                .file_type()
                .is_file()
                .then(|| std::fs::read(e.path()).unwrap());
            (e.path().to_path_buf(), bytes)
        })
        .collect();
    all.sort();
    all
}

#[test]
fn init_refuses_to_overwrite_anything_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(".gitignore"), "target/\n").unwrap();
    std::fs::create_dir_all(tmp.path().join("schema")).unwrap();
    std::fs::write(tmp.path().join("schema/course.schema.json"), "{}").unwrap();
    let before = snapshot(tmp.path());
    let out = coursesync(tmp.path(), &["init"]);
    code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("refusing to overwrite: .gitignore, schema/course.schema.json already exist"),
        "{err}"
    );
    assert!(err.contains("hint: nothing was written"), "{err}");
    assert_eq!(snapshot(tmp.path()), before, "init changed the directory");

    // A file where init needs a directory, and DIR itself a file.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("docs"), "a file").unwrap();
    let before = snapshot(tmp.path());
    let out = coursesync(tmp.path(), &["init"]);
    code(&out, 1);
    assert!(
        stderr(&out).contains("docs already exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(tmp.path()), before);
    let out = coursesync(tmp.path(), &["init", "docs"]);
    code(&out, 1);
    assert!(
        stderr(&out).contains("docs is not a directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn the_editor_mapping_points_at_the_schemas_init_wrote() {
    let (_tmp, repo) = initialised();
    let taplo: toml::Value =
        toml::from_str(&std::fs::read_to_string(repo.join(".taplo.toml")).unwrap()).unwrap();
    let rules = taplo["rule"].as_array().unwrap();
    let schema_for = |glob: &str| -> PathBuf {
        let rule = rules
            .iter()
            .find(|r| {
                r["include"]
                    .as_array()
                    .is_some_and(|i| i.iter().any(|g| g.as_str() == Some(glob)))
            })
            .unwrap_or_else(|| panic!("no rule includes {glob}"));
        repo.join(rule["schema"]["path"].as_str().unwrap())
    };
    let course = schema_for("catalog/**/*.toml");
    let settings = schema_for("coursesync.toml");
    assert_eq!(
        std::fs::read_to_string(course).unwrap(),
        generate(Kind::Course)
    );
    assert_eq!(
        std::fs::read_to_string(settings).unwrap(),
        generate(Kind::Settings)
    );

    // The example course and the settings pass their schemas.
    for (file, kind) in [
        ("catalog/example-101.toml", Kind::Course),
        ("coursesync.toml", Kind::Settings),
    ] {
        let schema: serde_json::Value = serde_json::from_str(&generate(kind)).unwrap();
        let validator = jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let value: toml::Value =
            toml::from_str(&std::fs::read_to_string(repo.join(file)).unwrap()).unwrap();
        let json = coursesync::schema::toml_to_json(&value);
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

// ---- the CI files ------------------------------------------------------------------------

fn yaml(repo: &Path, file: &str) -> Yaml {
    serde_yaml_ng::from_str(&std::fs::read_to_string(repo.join(file)).unwrap())
        .unwrap_or_else(|e| panic!("{file} is not YAML: {e}"))
}

/// Every shell script in a CI file: GitHub steps' `run`, GitLab jobs' `before_script` and
/// `script` items.
fn scripts(ci: &Yaml) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(jobs) = ci.get("jobs").and_then(Yaml::as_mapping) {
        for job in jobs.values() {
            for step in job
                .get("steps")
                .and_then(Yaml::as_sequence)
                .into_iter()
                .flatten()
            {
                out.extend(step.get("run").and_then(Yaml::as_str).map(str::to_string));
            }
        }
    }
    let Some(top) = ci.as_mapping() else {
        return out;
    };
    for job in top.values() {
        for key in ["before_script", "script"] {
            for item in job
                .get(key)
                .and_then(Yaml::as_sequence)
                .into_iter()
                .flatten()
            {
                out.extend(item.as_str().map(str::to_string));
            }
        }
    }
    out
}

/// The `coursesync` command lines in shell scripts: each line that runs `coursesync`, cut before
/// any redirection, pipe or `||` / `&&`.
fn coursesync_lines(scripts: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in scripts.iter().flat_map(|s| s.lines()) {
        let line = line.trim();
        if !line.starts_with("coursesync ") {
            continue;
        }
        let end = [" ||", " &&", " |", " >", " 2>", ";"]
            .iter()
            .filter_map(|op| line.find(op))
            .min()
            .unwrap_or(line.len());
        out.push(line[..end].trim().to_string());
    }
    out
}

/// A directory for PATH holding `coursesync` (the real binary) and a `sleep` that returns at
/// once, so that retry loops run without waiting.
fn shims(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_coursesync"), bin.join("coursesync")).unwrap();
    std::fs::write(bin.join("sleep"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(bin.join("sleep"), std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// bash as CI runs it (`-eo pipefail`), in `dir`, with the shims first on PATH, no COURSESYNC_*
/// variables from outside, and `env`.
fn bash(dir: &Path, bin: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("NO_COLOR", "1")
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com");
    for (key, _) in std::env::vars() {
        if key.starts_with("COURSESYNC_") || key.starts_with("GIT_CONFIG_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Runs each command line with the real binary in `repo`; an error names each line that failed.
fn run_all(repo: &Path, bin: &Path, lines: &[String]) -> Result<(), String> {
    let mut failed = Vec::new();
    for line in lines {
        let out = bash(repo, bin, line, &[]);
        let usage = stderr(&out).contains("Usage:");
        if !out.status.success() || usage {
            failed.push(format!(
                "`{line}` exited {:?}: {}",
                out.status.code(),
                stderr(&out)
            ));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

#[test]
fn every_coursesync_command_in_the_ci_files_runs_with_the_real_binary() {
    let (tmp, repo) = initialised();
    let bin = shims(tmp.path());
    for file in [GITHUB_WORKFLOW, GITLAB_CI] {
        let lines = coursesync_lines(&scripts(&yaml(&repo, file)));
        let commands: Vec<&str> = lines
            .iter()
            .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
            .collect();
        assert_eq!(
            commands,
            ["validate", "plan", "validate", "apply"],
            "{file}: {lines:#?}"
        );
        // Each runs for real, in order, on the local platform: the apply applies the example.
        run_all(&repo, &bin, &lines).unwrap_or_else(|e| panic!("{file}:\n{e}"));
    }
    let out = coursesync(&repo, &["status", "--format", "json"]);
    code(&out, 0);
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(status["courses"][0]["product_id"].is_i64(), "{status}");

    // The check is not a formality: a wrong flag or command in a workflow fails it.
    let workflow = std::fs::read_to_string(repo.join(GITHUB_WORKFLOW)).unwrap();
    for broken in [
        workflow.replace("--format markdown", "--fromat markdown"),
        workflow.replace("coursesync validate", "coursesync check"),
        workflow.replace("--auto-approve", "--yes"),
    ] {
        let lines = coursesync_lines(&scripts(&serde_yaml_ng::from_str(&broken).unwrap()));
        assert!(
            run_all(&repo, &bin, &lines).is_err(),
            "a broken workflow passed"
        );
    }
}

fn job<'a>(ci: &'a Yaml, name: &str) -> &'a Yaml {
    ci.get("jobs")
        .and_then(|j| j.get(name))
        .or_else(|| ci.get(name))
        .unwrap_or_else(|| panic!("no job {name}"))
}

fn step<'a>(job: &'a Yaml, name: &str) -> (usize, &'a str) {
    let steps = job["steps"].as_sequence().unwrap();
    let (i, found) = steps
        .iter()
        .enumerate()
        .find(|(_, s)| s.get("name").and_then(Yaml::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no step {name}"));
    (i, found["run"].as_str().unwrap())
}

#[test]
fn the_github_workflow_has_the_shape_ci_needs() {
    let (_tmp, repo) = initialised();
    let ci = yaml(&repo, GITHUB_WORKFLOW);
    let on = ci.get("on").expect("an `on:` key");
    assert!(on.get("pull_request").is_some());
    assert_eq!(on["push"]["branches"][0].as_str(), Some("main"));

    let plan = job(&ci, "plan");
    assert_eq!(plan["permissions"]["pull-requests"].as_str(), Some("write"));
    let (write_at, write) = step(plan, "Plan");
    let (post_at, post) = step(plan, "Post the plan (one comment, updated in place)");
    assert!(write_at < post_at);
    let marker = "<!-- coursesync-plan -->";
    assert!(write.contains(&format!("echo '{marker}'")), "{write}");
    assert!(
        post.contains(marker) && post.contains("startswith"),
        "{post}"
    );
    assert!(
        post.contains("--method PATCH") && post.contains("--method POST"),
        "{post}"
    );

    let apply = job(&ci, "apply");
    assert_eq!(
        apply["concurrency"]["group"].as_str(),
        Some("coursesync-apply")
    );
    assert_eq!(
        apply["concurrency"]["cancel-in-progress"].as_bool(),
        Some(false)
    );
    let (fetch_at, fetch) = step(apply, "Start from the newest main");
    let (apply_at, _) = step(apply, "Apply");
    let (commit_at, commit) = step(apply, "Commit state/ back to main");
    assert!(fetch.contains("git fetch origin main"), "{fetch}");
    assert!(fetch_at < apply_at && apply_at < commit_at);
    assert!(commit.contains("git add state/") && commit.contains("git pull --rebase"));
}

#[test]
fn the_github_plan_step_writes_the_marked_plan_even_when_the_plan_fails() {
    let (tmp, repo) = initialised();
    let bin = shims(tmp.path());
    let ci = yaml(&repo, GITHUB_WORKFLOW);
    let plan_job = job(&ci, "plan");
    let (_, script) = step(plan_job, "Plan");
    let (_, fail) = step(plan_job, "Fail when the plan failed");
    assert!(fail.contains("exit 1"), "{fail}");
    let fail_if = plan_job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some("Fail when the plan failed"))
        .and_then(|s| s["if"].as_str())
        .unwrap();
    assert!(
        fail_if.contains("steps.plan.outputs.status != '0'"),
        "{fail_if}"
    );

    let runner = tmp.path().join("runner");
    std::fs::create_dir_all(&runner).unwrap();
    let run_step = |round: &str| {
        let output = runner.join(format!("output-{round}"));
        let summary = runner.join(format!("summary-{round}"));
        let out = bash(
            &repo,
            &bin,
            script,
            &[
                ("RUNNER_TEMP", runner.to_str().unwrap()),
                ("GITHUB_OUTPUT", output.to_str().unwrap()),
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ],
        );
        code(&out, 0);
        let plan = std::fs::read_to_string(runner.join("plan.md")).unwrap();
        assert_eq!(std::fs::read_to_string(summary).unwrap(), plan);
        (plan, std::fs::read_to_string(output).unwrap())
    };
    let (plan, output) = run_step("ok");
    assert!(
        plan.starts_with("<!-- coursesync-plan -->\n### coursesync plan\n"),
        "{plan}"
    );
    assert!(plan.contains("**Plan: 1 to add"), "{plan}");
    assert_eq!(output, "status=0\n");

    // A plan that fails is posted all the same, saying so; the status fails the check later.
    let course = repo.join("catalog/example-101.toml");
    let text = std::fs::read_to_string(&course).unwrap();
    std::fs::write(
        &course,
        text.replace("real_price = 990", "real_price = 9990"),
    )
    .unwrap();
    let (plan, output) = run_step("failed");
    assert!(plan.starts_with("<!-- coursesync-plan -->\n"), "{plan}");
    assert!(plan.contains("**coursesync plan exited 1**"), "{plan}");
    assert_eq!(output, "status=1\n");
}

/// A bare `origin` holding a fresh init'd repository on `main`, and two clones of it: `a` (the
/// CI job) and `b` (someone merging at the same time).
struct Remote {
    _tmp: tempfile::TempDir,
    bin: PathBuf,
    origin: PathBuf,
    a: PathBuf,
    b: PathBuf,
}

impl Remote {
    fn new() -> Remote {
        let tmp = tempfile::tempdir().unwrap();
        let bin = shims(tmp.path());
        let origin = tmp.path().join("origin.git");
        let seed = tmp.path().join("seed");
        let ok = |out: Output| {
            assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        };
        ok(bash(
            tmp.path(),
            &bin,
            "git init -q --bare -b main origin.git && coursesync init seed >/dev/null",
            &[],
        ));
        ok(bash(
            &seed,
            &bin,
            "git init -q -b main && git add -A && git commit -qm init \
             && git push -q ../origin.git main && cd .. \
             && git clone -q origin.git a && git clone -q origin.git b",
            &[],
        ));
        Remote {
            a: tmp.path().join("a"),
            b: tmp.path().join("b"),
            _tmp: tmp,
            bin,
            origin,
        }
    }

    fn git_log(&self) -> String {
        let out = bash(&self.origin, &self.bin, "git log --format=%s main", &[]);
        stdout(&out)
    }

    /// Someone else merges into main while the job runs.
    fn concurrent_merge(&self) {
        let out = bash(
            &self.b,
            &self.bin,
            "echo '# notes' > catalog/NOTES.md && git add -A && git commit -qm 'other merge' \
             && git push -q origin main",
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }

    fn reject_every_push(&self) {
        let hook = self.origin.join("hooks/pre-receive");
        std::fs::write(&hook, "#!/bin/sh\necho 'protected branch' >&2\nexit 1\n").unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn the_github_state_commit_is_rebased_and_retried_and_fails_loudly_when_it_cannot_push() {
    let r = Remote::new();
    let ci = yaml(&r.a, GITHUB_WORKFLOW);
    let (_, commit) = step(job(&ci, "apply"), "Commit state/ back to main");
    let env = [("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")];

    let out = bash(&r.a, &r.bin, "coursesync apply --auto-approve", &[]);
    code(&out, 0);
    r.concurrent_merge();
    let out = bash(&r.a, &r.bin, commit, &env);
    code(&out, 0);
    assert!(
        stdout(&out).contains("::warning::the state push was rejected (attempt 1 of 5)"),
        "{}",
        stdout(&out)
    );
    let log = r.git_log();
    assert!(
        log.starts_with("coursesync: state after applying 0123456789ab\nother merge\ninit"),
        "{log}"
    );
    let tracked = bash(
        &r.origin,
        &r.bin,
        "git ls-tree -r --name-only main state/",
        &[],
    );
    assert!(
        stdout(&tracked).contains("state/coursesync.db"),
        "{}",
        stdout(&tracked)
    );

    // Nothing changed: nothing to commit.
    let out = bash(&r.a, &r.bin, commit, &env);
    code(&out, 0);
    assert!(
        stdout(&out).contains("state/ is unchanged"),
        "{}",
        stdout(&out)
    );

    // A push that keeps failing fails the job, loudly, after a bounded number of attempts.
    let out = bash(
        &r.a,
        &r.bin,
        "sed -i 's/real_price = 990/real_price = 890/' catalog/example-101.toml \
         && git commit -qam 'price' && coursesync apply --auto-approve >/dev/null",
        &[],
    );
    code(&out, 0);
    r.reject_every_push();
    let out = bash(&r.a, &r.bin, commit, &env);
    code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("(attempt 5 of 5)"), "{text}");
    assert!(!text.contains("attempt 6"), "{text}");
    assert!(
        text.contains("::error::the state commit could not be pushed"),
        "{text}"
    );
}

#[test]
fn the_gitlab_apply_job_applies_commits_and_retries_the_state_push() {
    let r = Remote::new();
    let ci = yaml(&r.a, GITLAB_CI);
    let apply = job(&ci, "coursesync-apply");
    assert_eq!(apply["resource_group"].as_str(), Some("coursesync-apply"));
    let script: Vec<&str> = apply["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(script[0].starts_with("git fetch origin"), "{script:?}");
    let plan = job(&ci, "coursesync-plan");
    let plan_script: String = plan["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(plan_script.matches("<!-- coursesync-plan -->").count(), 2);

    // The whole job script, run for real: the remote URL it builds is mapped to `origin`.
    let remote_url = "https://oauth2:token@gitlab.invalid/group/catalog.git";
    let origin = r.origin.display().to_string();
    let env = [
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_COMMIT_SHORT_SHA", "0123abcd"),
        ("CI_SERVER_HOST", "gitlab.invalid"),
        ("CI_PROJECT_PATH", "group/catalog"),
        ("COURSESYNC_GITLAB_TOKEN", "token"),
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", &format!("url.{origin}.insteadOf")),
        ("GIT_CONFIG_VALUE_0", remote_url),
    ];
    r.concurrent_merge();
    let steps = script.join("\n");
    // The push from `a` is rejected once: `b` merges after the job fetched.
    let racing = steps.replacen(
        "coursesync apply --auto-approve --color never || status=$?",
        "coursesync apply --auto-approve --color never || status=$?\n\
         (cd ../b && echo x >> catalog/NOTES.md && git commit -qam 'racing merge' && git push -q origin main)",
        1,
    );
    assert_ne!(racing, steps);
    let out = bash(&r.a, &r.bin, &racing, &env);
    code(&out, 0);
    assert!(
        stdout(&out).contains("Apply complete: 1 of 1 courses done"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("the state push was rejected (attempt 1 of 5)"),
        "{}",
        stdout(&out)
    );
    let log = r.git_log();
    assert!(
        log.starts_with(
            "coursesync: state after applying 0123abcd [skip ci]\nracing merge\nother merge\ninit"
        ),
        "{log}"
    );
}
