//! The README's curl walk-throughs, run as written against a fresh server (they
//! once failed verbatim: `uuidgen` is not on a fresh Debian). Needs `curl` and
//! `jq`, which the README lists; skipped where they are missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;

const README: &str = include_str!("../README.md");

/// The first `sh` block after `heading`.
fn block_after(heading: &str) -> &'static str {
    let section = &README[README.find(heading).expect(heading)..];
    let start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = start + section[start..].find("```").expect("the block's end");
    &section[start..end]
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

#[test]
fn the_curl_walk_throughs_work_as_written() {
    if !have("curl") || !have("jq") {
        // CI installs both (.ci/run): there a missing tool is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "curl and jq are needed to run the README walk-through"
        );
        eprintln!("curl or jq missing: README walk-through skipped");
        return;
    }
    let db = TestDb::new(Backend::Sqlite);
    let password = README
        .split("TIMEBANK_BOOTSTRAP_PASSWORD='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the README's bootstrap password");
    let out = Command::new(binary())
        .args(["bootstrap", "--username", "admin"])
        .env("TIMEBANK_DATABASE_URL", &db.url)
        .env("TIMEBANK_BOOTSTRAP_PASSWORD", password)
        .env("TIMEBANK_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&db);

    let script = format!(
        "{}\n{}\necho ---\n{}",
        block_after("## First run: people and organisations"),
        block_after("## A first session with curl"),
        block_after("## Recording volunteer service")
    );
    let script = script.replace("B=http://127.0.0.1:8080", &format!("B={}", server.base));
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{stdout}\n{stderr}"
    );
    let (first, service) = stdout.split_once("---\n").expect("both parts ran");
    assert!(
        !first.contains("null") && !first.contains("\"code\""),
        "{stdout}"
    );
    // The volunteer registered first got 30.00 and spent 12.50; the as-of read
    // sees the credit alone; the books verify.
    assert!(first.contains("\"available\": \"17.50\""), "{stdout}");
    let last: Vec<&str> = first.lines().rev().take(2).collect();
    assert_eq!(last, ["true", "\"30.00\""], "{stdout}");
    // Service: what the README says it answers.
    let lines: Vec<&str> = service.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"version":1,"points_per_hour":"12.00","min_unit_minutes":15,"max_minutes_per_day":720}"#,
            r#"{"hours":"2.50","points":"25.00","balance":"42.50"}"#,
            r#"[201,"10.00"]"#,
            r#"[409,"overlapping_service"]"#,
            "[0,1,1]",
            r#"{"hours":"3.50","balance":"52.50","stars":0}"#,
            r#"{"rank":1,"hours":"3.50","anonymous":false}"#,
        ],
        "{stdout}"
    );
}
