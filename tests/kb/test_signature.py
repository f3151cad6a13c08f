from synapse_ai.kb.signature import match_patterns, normalize


def test_normalize_replaces_variable_parts_like_sentry():
    text = (
        "Error at 2026-11-26T10:00:01Z req_011CUx9zQ2 id 550e8400-e29b-41d4-a716-446655440000 "
        "object at 0x7f3a2b1c in /home/me/project/agent.py line 42, see https://example.com/a?b=1"
    )
    assert normalize(text) == ("Error at <datetime> <id> id <uuid> object at <hex> in <path> line <num>, see <url>")
    assert normalize("got 'abc' and \"def\"", quoted=True) == "got <val> and <val>"


def test_same_error_with_different_ids_normalizes_equal():
    a = "prompt is too long: 215000 tokens > 200000 maximum (request_id req_abc123XYZ)"
    b = "prompt is too long: 999 tokens > 100 maximum (request_id req_zzzzzz999)"
    assert normalize(a) == normalize(b)


def test_match_patterns_ranks_more_specific_hits_first():
    patterns = {
        "generic": [r"Error code: 400"],
        "specific": [r"prompt is too long: \d+ tokens > \d+ maximum", r"Error code: 400"],
        "broken": [r"(unclosed"],
    }
    text = "anthropic.BadRequestError: Error code: 400 - prompt is too long: 215000 tokens > 200000 maximum"
    hits = match_patterns(text, patterns)
    assert [h.slug for h in hits] == ["specific", "generic"]
    assert hits[0].matched_text.startswith("prompt is too long")
    assert match_patterns("", patterns) == [] and match_patterns("all fine", patterns) == []


def test_required_literal_never_over_constrains():
    from synapse_ai.kb.signature import required_literal

    assert required_literal(r"prompt is too long: \d+ tokens > \d+ maximum") == "prompt is too long: "
    assert required_literal(r"(a|b)cdef") == "cdef"
    assert required_literal(r"x?yz") == "yz"
    assert required_literal(r"[abc]+") == ""
    assert required_literal(r"(unclosed") == ""
