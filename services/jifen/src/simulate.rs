//! `jifen simulate`: reads the facts file, asks `jifen_scoring::simulate_local` and prints the
//! contract's JSON object (or a Chinese table). Every refused input is one error line.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use jifen::app::{check_data_dir, open_database};
use jifen::cli::{SimulateArgs, SimulateFormat};
use jifen::target::Target;
use jifen_kit::Config;
use serde_json::Value;

/// Runs `jifen simulate` and returns what to print.
pub(crate) async fn run(
    args: &SimulateArgs,
    config: &Config,
    data_dir: &Path,
) -> anyhow::Result<String> {
    let facts = read_facts(&args.facts)?;
    check_data_dir(data_dir)?;
    let db = open_database(Target::Scoring, config, data_dir).await?;
    let result = jifen_scoring::simulate_local(
        &db,
        &args.tenant,
        &args.benefit,
        &args.as_of,
        &facts,
        args.rule_set.as_deref(),
    )
    .await;
    let _ = db.close().await;
    let out = result?;
    Ok(match args.format {
        SimulateFormat::Json => serde_json::to_string(&out)?,
        SimulateFormat::Pretty => serde_json::to_string_pretty(&out)?,
        SimulateFormat::Text => text(&out, &args.as_of),
    })
}

fn read_facts(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("facts: 无法读取标准输入")?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("facts: 无法读取 {}: {err}", path.display()))
}

fn category_zh(word: &str) -> &str {
    match word {
        "base" => "基础分",
        "additional" => "附加分",
        "deduction" => "扣减分",
        other => other,
    }
}

fn outcome_zh(word: &str) -> &str {
    match word {
        "pass" => "通过",
        "fail" => "不通过",
        "manual_review" => "待人工审核",
        other => other,
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// Renders the simulator object as a Chinese table.
fn text(out: &Value, as_of: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "地区 {}  积分用途 {}  规则集 {} 第 {} 版  计分日期 {}",
        s(out, "tenant"),
        s(out, "benefit"),
        s(out, "rule_set"),
        out["rule_set_version"],
        as_of
    );
    let _ = writeln!(t, "{:<28} {:<6} {:>6}  说明", "指标", "类别", "分值");
    for line in out["lines"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let _ = writeln!(
            t,
            "{:<28} {:<6} {:>6}  {}",
            s(line, "indicator"),
            category_zh(s(line, "category")),
            line["points"].as_i64().unwrap_or_default(),
            s(line, "explanation")
        );
    }
    for gate in out["gates"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let _ = writeln!(
            t,
            "准入条件 {}：{}（{}）",
            s(gate, "code"),
            outcome_zh(s(gate, "outcome")),
            s(gate, "message")
        );
    }
    if let Some(family) = out.get("family") {
        let parent = family["counted_parent"].as_u64().unwrap_or_default() + 1;
        let _ = writeln!(
            t,
            "家庭计分：按第 {parent} 位父母计分，并列参考分 {}",
            family["tie_reference"]
        );
    }
    let _ = write!(
        t,
        "基础分 {}  附加分 {}  扣减分 {}  总分 {}  资格 {}",
        out["base"],
        out["additional"],
        out["deduction"],
        out["total"],
        if out["eligible"].as_bool().unwrap_or_default() {
            "符合"
        } else {
            "不符合或待审核"
        }
    );
    t
}
