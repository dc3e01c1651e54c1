//! `jifen simulate` as a user runs it: the contract's worked examples on a fresh data dir
//! (embedded default) and on PostgreSQL, one JSON object on stdout; refused input exits
//! non-zero with one line naming the problem.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn jifen(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jifen"));
    cmd.arg("--data-dir").arg(data_dir).args(args);
    cmd.env_remove("JIFEN__DATABASE__URL");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("jifen runs")
}

fn simulate(
    dir: &Path,
    tenant: &str,
    benefit: &str,
    as_of: &str,
    facts: &Value,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Output {
    let file = dir.join(format!("facts-{tenant}-{benefit}-{as_of}.json"));
    std::fs::write(&file, facts.to_string()).expect("facts file");
    let file = file.to_string_lossy().into_owned();
    let mut args = vec![
        "simulate",
        "--tenant",
        tenant,
        "--benefit",
        benefit,
        "--as-of",
        as_of,
        "--facts",
        &file,
    ];
    args.extend_from_slice(extra);
    jifen(&dir.join("data"), &args, envs)
}

fn json_out(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    serde_json::from_str(&text).expect("one JSON object")
}

fn example_a() -> Value {
    json!({"education": "bachelor", "professional_title": "intermediate",
        "insurance_months": 88, "housing_fund_years": 5, "property_area_m2": 92,
        "residence_years": 5})
}

fn example_b() -> Value {
    json!({"parents": [
        {"birth_date": "1985-01-15", "education": "bachelor", "skill_level": "L4",
         "insurance_months": 72, "residence_years": 6, "housing_fund_years": 4},
        {"birth_date": "1989-03-01", "education": "junior_college", "skill_level": "L3",
         "insurance_months": 50, "residence_years": 6}
    ]})
}

fn example_c() -> Value {
    json!({"insurance_months": 100, "residence_years": 9, "birth_date": "1978-01-01",
        "education": "master", "invention_patents": 1, "utility_model_patents": 1,
        "dishonest_debtor_records": 1, "sentence_months": 2,
        "residence_permit_valid": true, "insurance_active": true})
}

fn check_examples(dir: &Path, envs: &[(&str, &str)]) {
    let a = json_out(&simulate(
        dir,
        "gusu",
        "settlement",
        "2022-06-30",
        &example_a(),
        &[],
        envs,
    ));
    assert_eq!(a["total"], 790, "{a:#}");
    assert_eq!(a["rule_set"], "SZ-CITY-SETTLEMENT-2021");

    let b = json_out(&simulate(
        dir,
        "wuzhong",
        "school",
        "2023-06-30",
        &example_b(),
        &["--format", "json"],
        envs,
    ));
    assert_eq!(
        (b["total"].clone(), b["base"].clone()),
        (json!(684), json!(540)),
        "{b:#}"
    );
    assert_eq!(
        b["family"],
        json!({"counted_parent": 0, "tie_reference": 522})
    );
    assert_eq!(b["tenant"], "wuzhong");
    assert_eq!(b["rule_set"], "SZ-CITY-SCHOOL-2023");
    for key in [
        "rule_set_version",
        "additional",
        "deduction",
        "eligible",
        "gates",
        "lines",
    ] {
        assert!(b.get(key).is_some(), "{key}");
    }

    let c = json_out(&simulate(
        dir,
        "gusu",
        "settlement",
        "2023-06-30",
        &example_c(),
        &["--rule-set", "SZ-CITY-SETTLEMENT-2023"],
        envs,
    ));
    assert_eq!(c["total"], 860, "{c:#}");
    let gate = c["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["code"] == "no_serious_crime")
        .expect("gate")
        .clone();
    assert_eq!(gate["outcome"], "manual_review");
}

#[test]
fn worked_examples_on_a_fresh_data_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    check_examples(dir.path(), &[]);
    // The text table is readable Chinese.
    let out = simulate(
        dir.path(),
        "wuzhong",
        "school",
        "2023-06-30",
        &example_b(),
        &["--format", "text"],
        &[],
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("总分 684"), "{text}");
    assert!(text.contains("参保 72 个月 × 5 分 = 360 分"), "{text}");
}

#[test]
fn worked_examples_on_postgresql() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let url = runtime.block_on(jifen::testkit::postgres_url());
    let dir = tempfile::tempdir().expect("temp dir");
    check_examples(dir.path(), &[("JIFEN__DATABASE__URL", &url)]);
}

fn refused(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "must fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("jifen: "), "{err}");
    err
}

#[test]
fn refused_input_is_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let err = refused(&simulate(
        d,
        "gusu",
        "settlement",
        "2023-06-30",
        &json!({"insurance_months": -5}),
        &[],
        &[],
    ));
    assert!(
        err.contains("insurance_months") && err.contains("负数"),
        "{err}"
    );
    let err = refused(&simulate(
        d,
        "gusu",
        "settlement",
        "2023-06-30",
        &json!({"education": "phd"}),
        &[],
        &[],
    ));
    assert!(err.contains("education"), "{err}");
    let err = refused(&simulate(
        d,
        "gusu",
        "settlement",
        "2023-06-30",
        &json!({"birth_date": "1985-13-01"}),
        &[],
        &[],
    ));
    assert!(err.contains("birth_date"), "{err}");
    let err = refused(&simulate(
        d,
        "gusu",
        "settlement",
        "2023-06-30",
        &json!({"shoe_size": 42}),
        &[],
        &[],
    ));
    assert!(err.contains("shoe_size"), "{err}");
    let err = refused(&simulate(
        d,
        "nowhere",
        "school",
        "2023-06-30",
        &example_a(),
        &[],
        &[],
    ));
    assert!(err.contains("tenant") && err.contains("nowhere"), "{err}");
    let err = refused(&simulate(
        d,
        "gusu",
        "housing",
        "2023-06-30",
        &example_a(),
        &[],
        &[],
    ));
    assert!(err.contains("benefit") && err.contains("housing"), "{err}");
    let err = refused(&simulate(
        d,
        "gusu",
        "school",
        "2023-06-31",
        &example_a(),
        &[],
        &[],
    ));
    assert!(err.contains("as-of") && err.contains("2023-06-31"), "{err}");
    let err = refused(&jifen(
        &d.join("data"),
        &[
            "simulate",
            "--tenant",
            "gusu",
            "--benefit",
            "school",
            "--as-of",
            "2023-06-30",
            "--facts",
            "/nonexistent/facts.json",
        ],
        &[],
    ));
    assert!(
        err.contains("facts") && err.contains("/nonexistent/facts.json"),
        "{err}"
    );
    let bad = d.join("bad.json");
    std::fs::write(&bad, "{not json").expect("write");
    let err = refused(&jifen(
        &d.join("data"),
        &[
            "simulate",
            "--tenant",
            "gusu",
            "--benefit",
            "school",
            "--as-of",
            "2023-06-30",
            "--facts",
            &bad.to_string_lossy(),
        ],
        &[],
    ));
    assert!(err.contains("facts"), "{err}");
}

#[test]
fn seed_twice_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = jifen(dir.path(), &["seed"], &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = jifen(dir.path(), &["seed"], &[]);
    assert!(second.status.success());
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(text.contains("unchanged"), "{text}");
}
