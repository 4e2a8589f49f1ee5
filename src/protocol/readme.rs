//! README rendering for crate pages: Markdown (tables, task lists, fenced
//! code, strikethrough, footnotes) to HTML, with relative links and images
//! resolved against the crate's repository URL, then sanitised so that no
//! script, event handler, `javascript:`/`data:` URL, frame, SVG or style
//! survives. Done once, at publish time.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Largest README rendered; longer text is cut (the limit on the publish
/// side is the same).
pub const MAX_INPUT: usize = 512 * 1024;

fn is_absolute(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with('#')
        || lower.starts_with("//")
        || lower.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        })
}

/// Resolves a relative README link against the repository URL: GitHub,
/// GitLab and Codeberg style hosts get `blob`/`raw` paths on the default
/// branch; other hosts get the path appended.
fn resolve(url: &str, repository: Option<&str>, image: bool) -> Option<String> {
    if is_absolute(url) {
        return Some(url.to_string());
    }
    let repo = repository?.trim_end_matches('/').trim_end_matches(".git");
    if !(repo.starts_with("https://") || repo.starts_with("http://")) {
        return None;
    }
    let path = url.trim_start_matches("./").trim_start_matches('/');
    let forge = [
        "https://github.com/",
        "https://gitlab.com/",
        "https://codeberg.org/",
    ]
    .iter()
    .any(|f| repo.starts_with(f));
    Some(if forge {
        let kind = if image { "raw" } else { "blob" };
        if repo.starts_with("https://gitlab.com/") {
            format!("{repo}/-/{kind}/HEAD/{path}")
        } else {
            format!("{repo}/{kind}/HEAD/{path}")
        }
    } else {
        format!("{repo}/{path}")
    })
}

/// Renders and sanitises a README.
pub fn render(markdown: &str, repository: Option<&str>) -> String {
    let mut text = markdown;
    if text.len() > MAX_INPUT {
        let mut cut = MAX_INPUT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text = text.get(..cut).unwrap_or("");
    }
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(text, options).map(|ev| match ev {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest = resolve(&dest_url, repository, false).unwrap_or_default();
            Event::Start(Tag::Link {
                link_type,
                dest_url: CowStr::from(dest),
                title,
                id,
            })
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest = resolve(&dest_url, repository, true).unwrap_or_default();
            Event::Start(Tag::Image {
                link_type,
                dest_url: CowStr::from(dest),
                title,
                id,
            })
        }
        other => other,
    });
    let mut raw = String::new();
    html::push_html(&mut raw, events);
    sanitize(&raw)
}

/// The sanitiser: ammonia's safe defaults (no script, style, event
/// handlers, frames, forms or SVG), only http(s)/mailto URLs, links that
/// open no window relationship, code-block language classes, and task-list
/// checkboxes that cannot be changed.
pub fn sanitize(html: &str) -> String {
    let schemes: HashSet<&str> = ["http", "https", "mailto"].into_iter().collect();
    let mut b = ammonia::Builder::default();
    b.url_schemes(schemes)
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_allowed_classes(
            "code",
            [
                "language-rust",
                "language-toml",
                "language-sh",
                "language-shell",
                "language-bash",
                "language-console",
                "language-text",
                "language-json",
                "language-yaml",
            ],
        )
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("input", "type") if value != "checkbox" => None,
            _ => Some(value.into()),
        });
    b.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tables_tasks_and_code() {
        let html = render(
            "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n```rust\nfn main() {}\n```\n\n~~old~~\n",
            None,
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<td>1</td>"), "{html}");
        assert!(
            html.contains("type=\"checkbox\"") && html.contains("disabled"),
            "{html}"
        );
        assert!(
            html.contains("<code class=\"language-rust\">fn main() {}"),
            "{html}"
        );
        assert!(html.contains("<del>old</del>"), "{html}");
    }

    #[test]
    fn resolves_relative_links_against_the_repository() {
        let html = render(
            "[guide](docs/guide.md) ![logo](./img/logo.png) [top](#title) [abs](https://x.example/y)",
            Some("https://github.com/acme/core"),
        );
        assert!(
            html.contains("href=\"https://github.com/acme/core/blob/HEAD/docs/guide.md\""),
            "{html}"
        );
        assert!(
            html.contains("src=\"https://github.com/acme/core/raw/HEAD/img/logo.png\""),
            "{html}"
        );
        assert!(html.contains("href=\"#title\""), "{html}");
        assert!(html.contains("href=\"https://x.example/y\""), "{html}");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow ugc\""),
            "{html}"
        );
        let gl = render("[a](b.md)", Some("https://gitlab.com/g/p.git"));
        assert!(
            gl.contains("https://gitlab.com/g/p/-/blob/HEAD/b.md"),
            "{gl}"
        );
        let other = render("[a](b.md)", Some("https://git.example.com/p/"));
        assert!(other.contains("https://git.example.com/p/b.md"), "{other}");
        // Without a repository, relative links lose their target.
        let none = render("[a](b.md)", None);
        assert!(!none.contains("b.md"), "{none}");
    }

    /// Hostile READMEs: nothing executable or styling survives.
    pub const HOSTILE: &[&str] = &[
        "<script>window.__pwned = 1</script>",
        "<img src=x onerror=\"window.__pwned = 2\">",
        "[click](javascript:window.__pwned=3)",
        "[click](JaVaScRiPt:window.__pwned=3)",
        "[click](&#106;avascript:window.__pwned=3)",
        "<a href=\"jav&#x09;ascript:window.__pwned=4\">x</a>",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        "<svg onload=\"window.__pwned=5\"><circle r=5/></svg>",
        "<svg><script>window.__pwned=6</script></svg>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<iframe srcdoc=\"<script>parent.__pwned=7</script>\"></iframe>",
        "<style>body { display: none }</style>",
        "<p style=\"position:fixed;top:0;left:0;width:100%;height:100%\">overlay</p>",
        "<div onclick=\"window.__pwned=8\">click me</div>",
        "<form action=\"https://evil.example\"><input name=q></form>",
        "<object data=\"evil.swf\"></object><embed src=\"evil.swf\">",
        "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=9>",
        "<a href=\"https://ok.example\" target=\"_top\" onmouseover=\"window.__pwned=10\">ok</a>",
        "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
        "<base href=\"https://evil.example/\">",
        "<link rel=\"stylesheet\" href=\"https://evil.example/x.css\">",
        "<input type=\"text\" value=\"phish\" autofocus onfocus=\"window.__pwned=11\">",
        "<details open ontoggle=\"window.__pwned=12\"><summary>x</summary></details>",
        "<video><source onerror=\"window.__pwned=13\"></video>",
        "&lt;script&gt;not a tag&lt;/script&gt; <scr<script>ipt>window.__pwned=14</script>",
        "<a href=\"vbscript:msgbox(1)\">vb</a>",
        "<img src=\"https://ok.example/a.png\" srcset=\"javascript:window.__pwned=15 1x\">",
        "[x](https://ok.example \"title\\\" onmouseover=\\\"window.__pwned=16\")",
        "<table background=\"javascript:window.__pwned=17\"><tr><td>x</td></tr></table>",
    ];

    /// Whether `attr=` appears as a real attribute (not escaped text).
    fn has_attr(html: &str, attr: &str) -> bool {
        let pat = format!("{attr}=");
        html.match_indices(&pat).any(|(i, _)| {
            let before_ok = html[..i].ends_with(' ');
            let after = html[i + pat.len()..].chars().next();
            before_ok && after != Some('&')
        })
    }

    #[test]
    fn hostile_corpus_is_neutralised() {
        for case in HOSTILE {
            let html = render(case, Some("https://github.com/acme/core")).to_lowercase();
            for bad in [
                "<script",
                "javascript:",
                "vbscript:",
                "data:",
                "<iframe",
                "<svg",
                "<style",
                "<form",
                "<object",
                "<embed",
                "<meta",
                "<base",
                "<link",
                "type=\"text\"",
            ] {
                assert!(!html.contains(bad), "{case:?} left {bad:?} in {html}");
            }
            for attr in [
                "onerror",
                "onload",
                "onclick",
                "onmouseover",
                "onfocus",
                "ontoggle",
                "style",
                "srcdoc",
                "target",
                "background",
                "srcset",
            ] {
                assert!(
                    !has_attr(&html, attr),
                    "{case:?} left attribute {attr:?} in {html}"
                );
            }
        }
    }
}
