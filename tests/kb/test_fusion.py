from synapse_ai.kb.fusion import RRF_K, rrf


def test_rrf_on_hand_built_lists():
    fused = rrf([["a", "b", "c"], ["b", "a", "d"]])
    scores = dict(fused)
    assert scores["a"] == scores["b"] == 1 / (RRF_K + 1) + 1 / (RRF_K + 2)
    assert scores["c"] == 1 / (RRF_K + 3) and scores["d"] == 1 / (RRF_K + 3)
    # ties keep first-seen order
    assert [doc for doc, _ in fused] == ["a", "b", "c", "d"]


def test_rrf_weights_and_empty_lists():
    fused = rrf([["x"], [], ["y", "x"]], weights=[3.0, 1.0, 1.0])
    assert fused[0][0] == "x"
    assert dict(fused)["x"] == 3.0 / (RRF_K + 1) + 1 / (RRF_K + 2)
    assert rrf([]) == [] and rrf([[], []]) == []


def test_duplicates_in_one_list_count_once():
    assert dict(rrf([["a", "a"]]))["a"] == 1 / (RRF_K + 1)


def test_weights_must_match():
    import pytest

    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1.0, 2.0])
