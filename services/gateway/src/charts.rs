//! Charts drawn on the server as SVG (no script, no CDN): the cut-off history of a tenant and
//! benefit, and a cycle's score distribution. Presentation attributes only, no `style`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::Clients;
use crate::problem::Problem;
use crate::rest::{Route, forward};

const CUTOFF_HISTORY: Route = Route {
    method: "GET",
    path: "/charts/cutoff-history.svg",
    rpc: "jifen.ranking.v1.RankingService/GetCutoffHistory",
    summary: "历年分数线图",
};

const DISTRIBUTION: Route = Route {
    method: "GET",
    path: "/charts/distribution.svg",
    rpc: "jifen.ranking.v1.RankingService/GetDistribution",
    summary: "分数分布图",
};

const W: f64 = 640.0;
const H: f64 = 320.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 36.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn number(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_default()
}

/// Draws bars `(label, value)` with an optional horizontal marker line; returns the SVG.
pub fn bar_chart(title: &str, bars: &[(String, f64)], marker: Option<(f64, String)>) -> String {
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"100%\" \
role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
<rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>\
<text x=\"{x}\" y=\"22\" font-size=\"16\" text-anchor=\"middle\" fill=\"#1f2933\">{t}</text>",
        t = escape(title),
        x = W / 2.0
    );
    let plot_w = W - LEFT - 16.0;
    let plot_h = H - TOP - BOTTOM;
    if bars.is_empty() {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"14\" text-anchor=\"middle\" fill=\"#616e7c\">暂无数据</text></svg>",
            W / 2.0,
            H / 2.0
        ));
        return svg;
    }
    let max = bars
        .iter()
        .map(|(_, v)| *v)
        .chain(marker.as_ref().map(|(v, _)| *v))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let base = TOP + plot_h;
    svg.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#9aa5b1\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" fill=\"#616e7c\">{}</text>\
<text x=\"{}\" y=\"{base}\" font-size=\"11\" text-anchor=\"end\" fill=\"#616e7c\">0</text>",
        LEFT + plot_w,
        LEFT - 6.0,
        TOP + 4.0,
        max.round(),
        LEFT - 6.0
    ));
    let slot = plot_w / bars.len() as f64;
    for (i, (label, value)) in bars.iter().enumerate() {
        let h = plot_h * value / max;
        let x = LEFT + slot * i as f64 + slot * 0.15;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#b71c1c\"><title>{}：{}</title></rect>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1f2933\">{}</text>\
<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#616e7c\">{}</text>",
            base - h,
            slot * 0.7,
            escape(label),
            value,
            x + slot * 0.35,
            base - h - 4.0,
            value,
            x + slot * 0.35,
            base + 16.0,
            escape(label),
        ));
    }
    if let Some((value, label)) = marker {
        let y = base - plot_h * value / max;
        svg.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#1565c0\" stroke-dasharray=\"6 4\"/>\
<text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#1565c0\">{}</text>",
            LEFT + plot_w,
            LEFT + plot_w,
            y - 4.0,
            escape(&label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn svg_response(svg: String) -> Response {
    let mut response = svg.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// `GET /charts/cutoff-history.svg?tenant=&benefit=`: cut-off line per year.
pub async fn cutoff_history(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let answer = forward(&CUTOFF_HISTORY, &clients, &headers, &[], &query, b"").await?;
    let bars: Vec<(String, f64)> = answer["records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| (format!("{}年", number(&r["year"])), number(&r["cutoff"])))
                .collect()
        })
        .unwrap_or_default();
    Ok(svg_response(bar_chart("历年积分分数线", &bars, None)))
}

/// `GET /charts/distribution.svg?tenant=&cycle_id=`: how many applicants per score band.
pub async fn distribution(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let answer = forward(&DISTRIBUTION, &clients, &headers, &[], &query, b"").await?;
    let bars: Vec<(String, f64)> = answer["histogram"]["buckets"]
        .as_array()
        .map(|buckets| {
            buckets
                .iter()
                .map(|b| {
                    (
                        format!("{}", number(&b["lower_inclusive"])),
                        number(&b["count"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(svg_response(bar_chart("积分分布（人数）", &bars, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_draw_a_bar_each() {
        let svg = bar_chart(
            "<x>",
            &[("2023年".into(), 600.0), ("2024年".into(), 650.0)],
            Some((620.0, "线".into())),
        );
        assert!(svg.contains("&lt;x&gt;"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(!svg.contains("style="));
    }
}
