//! The Atom 1.0 feed of a tenant's visible announcements.

use chrono::{DateTime, Utc};

/// One entry of the feed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Announcement id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Plain-text summary.
    pub summary: String,
    /// Sanitised HTML body.
    pub html: String,
    /// Category name in Chinese.
    pub category: String,
    /// When it became visible.
    pub published: DateTime<Utc>,
    /// Last change.
    pub updated: DateTime<Utc>,
}

/// Escapes text for XML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab/newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Renders the feed of `tenant` with entry links under `base_url`.
pub fn render(tenant: &str, base_url: &str, updated: DateTime<Utc>, entries: &[Entry]) -> String {
    let base = base_url.trim_end_matches('/');
    let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">\n");
    xml.push_str(&format!(
        "  <id>urn:jifen:notices:{}</id>\n  <title>{} 积分公告</title>\n  <updated>{}</updated>\n",
        escape(tenant),
        escape(tenant),
        rfc(updated)
    ));
    xml.push_str(&format!(
        "  <link rel=\"alternate\" href=\"{}\"/>\n  <author><name>{}</name></author>\n",
        escape(&format!("{base}/notices/{tenant}")),
        escape(tenant)
    ));
    for entry in entries {
        xml.push_str("  <entry>\n");
        xml.push_str(&format!(
            "    <id>urn:uuid:{}</id>\n    <title>{}</title>\n    <link rel=\"alternate\" href=\"{}\"/>\n",
            escape(&entry.id),
            escape(&entry.title),
            escape(&format!("{base}/notices/{tenant}/{}", entry.id))
        ));
        xml.push_str(&format!(
            "    <published>{}</published>\n    <updated>{}</updated>\n    <category term=\"{}\"/>\n",
            rfc(entry.published),
            rfc(entry.updated),
            escape(&entry.category)
        ));
        xml.push_str(&format!(
            "    <summary>{}</summary>\n    <content type=\"html\">{}</content>\n  </entry>\n",
            escape(&entry.summary),
            escape(&entry.html)
        ));
    }
    xml.push_str("</feed>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_html_are_escaped() {
        let now = Utc::now();
        let xml = render(
            "wuzhong",
            "https://jifen.example/",
            now,
            &[Entry {
                id: "1".into(),
                title: "A & B <公告>".into(),
                summary: "\"s\"".into(),
                html: "<p>正文</p>".into(),
                category: "政策法规".into(),
                published: now,
                updated: now,
            }],
        );
        assert!(
            xml.contains("<title>A &amp; B &lt;公告&gt;</title>"),
            "{xml}"
        );
        assert!(xml.contains("&lt;p&gt;正文&lt;/p&gt;"), "{xml}");
        assert!(
            xml.contains("https://jifen.example/notices/wuzhong/1"),
            "{xml}"
        );
        assert!(!xml.contains("<p>"), "{xml}");
    }
}
