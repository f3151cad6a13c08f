"""skill.tools: confirm_solution, flag_solution and propose_solution on the local store."""

from __future__ import annotations

import pytest

from synapse_ai.skill.tools import FEEDBACK_TOOL_DEFINITIONS, OUTPUT_SCHEMAS, SynapseTools
from synapse_ai.web.sitestore import open_site_store
from tests.web.conftest import valid_api_payload


@pytest.fixture
def tools(tmp_path, entries_copy):
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder

    kb = KnowledgeBase.open(tmp_path / "kb.db", [entries_copy], embedder=HashingEmbedder())
    yielded = SynapseTools(kb)
    yield yielded
    yielded.close()
    kb.close()


def test_definitions_say_when_to_use_them():
    by_name = {d["name"]: d for d in FEEDBACK_TOOL_DEFINITIONS}
    assert "fix worked" in by_name["confirm_solution"]["description"]
    flag = by_name["flag_solution"]
    assert "did not solve" in flag["description"] and "outdated" in flag["description"]
    assert "user's explicit approval" in by_name["propose_solution"]["description"]
    assert flag["input_schema"]["properties"]["reason"]["enum"] == ["stale", "incorrect", "duplicate", "harmful"]
    assert set(by_name) <= set(OUTPUT_SCHEMAS)
    for definition in FEEDBACK_TOOL_DEFINITIONS:
        schema = definition["input_schema"]
        assert all(p.get("description") for p in schema["properties"].values())
        assert 200 < len(definition["description"]) < 1500


def test_confirm_and_flag_record_once_per_local_user(tools):
    assert tools.confirm_solution("rate-limit-429") == {"slug": "rate-limit-429", "confirmations": 1}
    assert tools.confirm_solution(" rate-limit-429 ") == {"slug": "rate-limit-429", "confirmations": 1}
    assert tools.flag_solution("rate-limit-429", "incorrect", "retry-after ignored")["open_flags"] == 1
    site = open_site_store(tools.kb.store.url)
    assert [f["note"] for f in site.open_entry_flags("rate-limit-429")] == ["retry-after ignored"]
    site.close()


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("confirm_solution", {}, "slug must be"),
        ("confirm_solution", {"slug": "rate-limit-42"}, "did you mean: rate-limit-429"),
        ("flag_solution", {"slug": "rate-limit-429", "reason": "meh"}, "reason must be one of"),
        ("flag_solution", {"slug": "rate-limit-429", "reason": "stale", "note": 5}, "note must be a string"),
        ("propose_solution", valid_api_payload(), "user_approved=true"),
        ("propose_solution", {**valid_api_payload(), "user_approved": "yes"}, "user_approved=true"),
        ("propose_solution", {**valid_api_payload(), "user_approved": True, "slug": "x"}, "unknown field slug"),
        (
            "propose_solution",
            {**valid_api_payload(tags="a,b", fix_options=["x"]), "user_approved": True},
            "fix_options: a list",
        ),
    ],
)
def test_bad_calls_are_one_clear_message(tools, name, arguments, message):
    with pytest.raises(ValueError) as raised:
        tools.handlers()[name](**arguments)
    assert message in str(raised.value)


def test_propose_with_approval_is_pending_and_not_searchable(tools):
    body = valid_api_payload(title="Blorptron drops streamed tool arguments", patterns=[r"blorptron lost argument \d+"])
    answer = tools.propose_solution(user_approved=True, **body)
    assert answer["status"] == "pending" and answer["ref"]
    site = open_site_store(tools.kb.store.url)
    assert site.submission(answer["ref"]).status == "pending"
    site.close()
    found = tools.search_solutions("blorptron lost argument 2")
    assert not found["matched"] and all("Blorptron" not in r["title"] for r in found["results"])
    with pytest.raises(ValueError) as raised:
        tools.propose_solution(user_approved=True, **valid_api_payload(sources=["not a url"]))
    assert "sources" in str(raised.value)


def test_skill_tells_agents_when_to_confirm_flag_and_propose():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "skill" / "bundle" / "synapse-ai" / "SKILL.md").read_text()
    section = text[text.index("## After you used an entry") : text.index("## When an agent run is slow")]
    for phrase in (
        "synapse confirm SLUG",
        "The fix worked",
        "synapse flag SLUG --reason",
        "outdated",
        "synapse propose",
        "only with the user's approval",
        "SYNAPSE_URL",
    ):
        assert phrase in section, phrase
