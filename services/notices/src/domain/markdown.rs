//! Markdown bodies rendered to HTML with pulldown-cmark and sanitised with ammonia: scripts,
//! event handler attributes and `javascript:` URLs never reach a reader's browser.

use pulldown_cmark::{Options, Parser, html};

use crate::error::NoticesError;

/// Largest Markdown body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Checks the size of `markdown` and returns its sanitised HTML.
pub fn render(markdown: &str) -> Result<String, NoticesError> {
    if markdown.len() > MAX_BODY_BYTES {
        return Err(NoticesError::invalid(
            "body_markdown",
            "too_long",
            format!(
                "公告正文（body_markdown）过长：{} 字节，最多 {} 字节（64 KiB）",
                markdown.len(),
                MAX_BODY_BYTES
            ),
        ));
    }
    Ok(render_unchecked(markdown))
}

fn render_unchecked(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let parser = Parser::new_ext(markdown, options);
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

/// Returns a plain-text summary of `markdown`: the first `max_chars` characters of its text.
pub fn summary(markdown: &str, max_chars: usize) -> String {
    use pulldown_cmark::Event;
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_)
                if !text.ends_with(' ') && !text.is_empty() =>
            {
                text.push(' ');
            }
            _ => {}
        }
        if text.chars().count() > max_chars {
            break;
        }
    }
    let trimmed = text.trim();
    if trimmed.chars().count() > max_chars {
        let mut cut: String = trimmed.chars().take(max_chars).collect();
        cut.push('…');
        cut
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_javascript_urls_are_removed() {
        let html = render(
            "# 通知\n\n<script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n[点我](javascript:alert(3)) **重要**",
        )
        .expect("renders");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("alert(1)"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("<h1>通知</h1>"), "{html}");
        assert!(html.contains("<strong>重要</strong>"), "{html}");
    }

    #[test]
    fn oversize_bodies_are_refused() {
        let body = "字".repeat(MAX_BODY_BYTES / 3 + 1);
        let err = render(&body).expect_err("too long");
        assert!(err.to_string().contains("64 KiB"), "{err}");
    }

    #[test]
    fn summaries_are_plain_text() {
        assert_eq!(summary("# 标题\n\n正文**加粗**", 100), "标题 正文加粗");
        assert_eq!(summary("一二三四五", 3), "一二三…");
    }
}
