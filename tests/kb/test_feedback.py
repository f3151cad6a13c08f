"""kb.feedback: confirmations as a bounded prior, demotion of entries flagged incorrect."""

from __future__ import annotations

import random

import pytest

from synapse_ai.kb.feedback import (
    DEMOTE_AT,
    PRIOR_MAX,
    Feedback,
    apply_feedback,
    confirmation_bonus,
    gather_feedback,
    in_reach,
)
from synapse_ai.kb.fusion import rrf


def _order(fused):
    return [slug for slug, _ in fused]


def test_without_feedback_the_list_is_unchanged():
    fused = rrf([["a", "b", "c"], ["c", "b"]])
    assert apply_feedback(fused, {}, set()) == fused
    assert apply_feedback(fused, {"zzz": Feedback(confirmations=5)}, {"a"}) == fused  # feedback on a non-candidate
    assert apply_feedback([], {"a": Feedback(3, 3)}, set()) == []


def test_bonus_grows_saturates_and_stays_below_the_bound():
    bonuses = [confirmation_bonus(n) for n in range(0, 1000, 7)]
    assert bonuses[0] == 0 and confirmation_bonus(-3) == 0
    assert all(a < b for a, b in zip(bonuses, bonuses[1:]))
    assert max(bonuses) < PRIOR_MAX
    assert confirmation_bonus(10**9) < PRIOR_MAX


def test_confirmations_order_near_ties_but_cannot_jump_a_clear_gap():
    near = [("a", 0.0500), ("b", 0.0495), ("c", 0.0200)]
    assert _order(apply_feedback(near, {"b": Feedback(confirmations=2)}, set())) == ["b", "a", "c"]
    # c is far behind: even a million confirmations stay within PRIOR_MAX
    assert _order(apply_feedback(near, {"c": Feedback(confirmations=10**6)}, set())) == ["a", "b", "c"]
    adjusted = dict(apply_feedback(near, {"b": Feedback(confirmations=2)}, set()))
    assert adjusted["b"] == pytest.approx(0.0495 + confirmation_bonus(2)) and adjusted["a"] == 0.0500


def test_confirmations_never_lift_an_entry_past_a_specific_hit():
    fused = [("specific", 0.0500), ("popular", 0.04999), ("other", 0.0100)]
    out = apply_feedback(fused, {"popular": Feedback(confirmations=500)}, {"specific"})
    assert _order(out) == ["specific", "popular", "other"]
    assert dict(out)["popular"] <= dict(out)["specific"]
    # ...but an entry already above the specific hit keeps its place and may still gain
    fused = [("keywords", 0.06), ("specific", 0.05), ("popular", 0.0499)]
    said = {"keywords": Feedback(confirmations=1), "popular": Feedback(confirmations=9)}
    out = apply_feedback(fused, said, {"specific"})
    assert _order(out) == ["keywords", "specific", "popular"]


def test_specific_hit_ordering_property_on_random_lists():
    rng = random.Random(12)
    for _ in range(500):
        n = rng.randint(1, 12)
        scores = sorted((rng.uniform(0.0, 0.1) for _ in range(n)), reverse=True)
        fused = [(f"e{i}", s) for i, s in enumerate(scores)]
        specific = {slug for slug, _ in fused if rng.random() < 0.3}
        feedback = {slug: Feedback(confirmations=rng.randint(0, 50)) for slug, _ in fused if rng.random() < 0.6}
        out = apply_feedback(fused, feedback, specific)
        position = {slug: i for i, (slug, _) in enumerate(out)}
        assert sorted(out) == sorted((s, dict(out)[s]) for s, _ in fused)  # same candidates
        for i, (slug, score) in enumerate(fused):
            assert dict(out)[slug] >= score  # confirmations never lower a score
            assert dict(out)[slug] - score < PRIOR_MAX
            for above, _ in fused[:i]:
                if above in specific:  # a specific hit ranked above stays above
                    assert position[above] < position[slug], (fused, specific, feedback)


def test_entries_flagged_incorrect_by_several_keys_go_last_until_reviewed():
    fused = [("top", 0.09), ("second", 0.05), ("third", 0.04)]
    several = Feedback(incorrect_flags=DEMOTE_AT)
    assert several.demoted and not Feedback(incorrect_flags=DEMOTE_AT - 1).demoted
    assert _order(apply_feedback(fused, {"top": several}, {"top"})) == ["second", "third", "top"]
    # fewer flags than that only count as flags: nothing moves
    fewer = {"top": Feedback(incorrect_flags=DEMOTE_AT - 1)}
    assert _order(apply_feedback(fused, fewer, {"top"})) == ["top", "second", "third"]
    # confirmations do not rescue a demoted entry; demoted entries keep their own order
    both = {"top": Feedback(confirmations=100, incorrect_flags=DEMOTE_AT), "second": Feedback(incorrect_flags=9)}
    assert _order(apply_feedback(fused, both, set())) == ["third", "top", "second"]


def test_in_reach_is_what_could_be_shown():
    fused = [("a", 0.10), ("b", 0.05), ("c", 0.05 - PRIOR_MAX / 2), ("d", 0.05 - PRIOR_MAX * 2), ("e", 0.0)]
    assert in_reach(fused, 2) == ["a", "b", "c"]
    assert in_reach(fused, 1) == ["a"]
    assert in_reach(fused, 10) == ["a", "b", "c", "d", "e"]
    assert in_reach(fused, 0) == [] and in_reach([], 3) == []


def test_asking_only_in_reach_shows_the_same_as_asking_for_everything():
    rng = random.Random(5)
    for _ in range(400):
        n = rng.randint(0, 40)
        # RRF-like scores: many near-ties, a few clear gaps
        scores = sorted((round(rng.uniform(0.0, 0.1), rng.choice([3, 4, 5])) for _ in range(n)), reverse=True)
        fused = [(f"e{i}", s) for i, s in enumerate(scores)]
        everything = {
            slug: Feedback(confirmations=rng.randint(0, 30), incorrect_flags=rng.choice([0, 0, 0, 1, DEMOTE_AT]))
            for slug, _ in fused
            if rng.random() < 0.5
        }
        specific = {slug for slug, _ in fused if rng.random() < 0.2}
        shown = rng.randint(1, 10)
        calls: list[list[str]] = []

        def lookup(slugs, calls=calls, everything=everything):
            calls.append(list(slugs))
            return {slug: everything[slug] for slug in slugs if slug in everything}

        said = gather_feedback(fused, shown, lookup)
        assert apply_feedback(fused, said, specific)[:shown] == apply_feedback(fused, everything, specific)[:shown]
        asked = [slug for call in calls for slug in call]
        assert len(asked) == len(set(asked))  # nobody is asked about twice
    assert gather_feedback([], 5, lambda slugs: {}) == {}


def test_search_applies_the_prior_and_explains_it(kb):
    query = 'anthropic.RateLimitError: Error code: 429 {"type":"error","error":{"type":"rate_limit_error"}}'
    plain = kb.search(query, 5)
    top, runner_up = plain.results[0].slug, plain.results[1].slug
    assert plain.matched and plain.results[0].why.decision.rule == "specific"
    seen: list[list[str]] = []

    def lookup(counts):
        def feedback(slugs):
            seen.append(list(slugs))
            return counts

        return feedback

    # the same answer as without feedback when nobody said anything
    assert kb.search(query, 5, feedback=lookup({})).to_dict() == plain.to_dict()
    assert 5 <= len(seen[0]) < 30  # asked about the candidates that could be shown, not all of them
    # many confirmations of the runner-up do not beat the specific hit
    boosted = kb.search(query, 5, feedback=lookup({runner_up: Feedback(confirmations=1000)}))
    assert [r.slug for r in boosted.results][:2] == [top, runner_up] and boosted.matched
    assert boosted.results[1].why.feedback == Feedback(confirmations=1000)
    expected = {"confirmations": 1000, "incorrect_flags": 0, "demoted": False}
    assert boosted.to_dict()["results"][1]["why"]["feedback"] == expected
    # the specific hit flagged incorrect by several keys: demoted, and no longer a confident match
    demoted = kb.search(query, 5, feedback=lookup({top: Feedback(incorrect_flags=DEMOTE_AT)}))
    assert demoted.results[0].slug != top and not demoted.matched
    # the JSON round trip keeps the feedback (remote clients read it back)
    from synapse_ai.kb.why import Why

    assert Why.from_dict(boosted.results[1].why.to_dict()) == boosted.results[1].why
    assert "feedback" not in plain.to_dict()["results"][1]["why"]  # absent when nobody said anything
    assert kb.match(query, 5, feedback=lookup({top: Feedback(incorrect_flags=DEMOTE_AT)})).results[0].slug != top
