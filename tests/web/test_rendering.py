"""web.rendering: markdown is rendered safely, code is highlighted, snippets are escaped first."""

from __future__ import annotations

from synapse_ai.web import rendering


def test_raw_html_in_markdown_is_escaped_not_rendered():
    html = rendering.render_markdown(
        "Hi <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n<div onclick='x()'>d</div>"
    )
    assert "<script" not in html and "<img" not in html and "<div onclick" not in html
    assert "&lt;script&gt;" in html


def test_javascript_and_data_links_never_become_links():
    html = rendering.render_markdown(
        "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](data:text/html,x) [d](vbscript:x) <javascript:alert(1)>"
    )
    assert "href" not in html
    safe = rendering.render_markdown("[ok](https://example.com/x)")
    assert 'href="https://example.com/x"' in safe and 'rel="noopener noreferrer nofollow"' in safe


def test_sanitizer_is_a_second_guard_even_for_trusted_html():
    dirty = '<p onclick="x()">t</p><script>alert(1)</script><a href="javascript:alert(1)">x</a><iframe src="https://e.com"></iframe>'
    clean = rendering.sanitize(dirty)
    assert "onclick" not in clean and "<script" not in clean and "javascript:" not in clean and "<iframe" not in clean


def test_tables_are_rendered_with_alignment_classes_not_inline_styles():
    html = rendering.render_markdown("| a | b |\n|--:|:-:|\n| 1 | 2 |\n")
    assert "<table>" in html and "<th" in html and "<td" in html
    assert 'class="align-right"' in html and 'class="align-center"' in html
    assert "style=" not in html


def test_code_blocks_are_highlighted_with_language_bar_and_copy_button():
    html = rendering.render_markdown('```python runnable\nprint("<b>")\n```\n')
    assert '<pre class="highlight"><code class="language-python">' in html
    assert '<span class="nb">print</span>' in html  # Pygments token classes
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert 'class="copy-btn"' in html and 'class="badge">runnable<' in html


def test_unknown_language_and_hostile_info_string_fall_back_to_text():
    html = rendering.render_markdown('```"><script>alert(1)</script> x\ncode\n```\n')
    assert "<script" not in html
    assert "code" in html


def test_snippet_escapes_then_marks_terms():
    out = rendering.highlight_snippet("a **tool** <img src=x> `call` ** x")
    assert str(out) == "a <mark>tool</mark> &lt;img src=x&gt; <code>call</code> ** x"


def test_inline_code_escapes_html():
    assert str(rendering.inline_code("`<x>` & <b>")) == "<code>&lt;x&gt;</code> &amp; &lt;b&gt;"


def test_pygments_css_file_is_generated_from_the_configured_style():
    assert rendering.PYGMENTS_CSS.read_text(encoding="utf-8") == rendering.pygments_css(), (
        "web/static/pygments.css is stale: run `python -m synapse_ai.web.rendering`"
    )
