"""kb.remote.outgoing_text: what leaves the machine for a query (no server needed)."""

from __future__ import annotations

import json

from synapse_ai.kb.evaluation import load_query_set
from synapse_ai.kb.remote import SEND_BYTES, SEND_HEAD, SEND_TAIL, outgoing_text
from tests.conftest import ROOT

KEY = "sk-ant-api03-Xq3vT9bLm2Rk8Zp4Wc7Nd1Hf6Js0Ga5Ye2Ub8Io3Pl7Kx9Mq4Vw-AbCdEfGh1234AA"
ERROR = "anthropic.RateLimitError: Error code: 429 - rate_limit_error"
PEM_LINE = "x7yq0RkP1mZ3rT8aVd2Lw9Nc5Hf6Js0Ga4Ye2Ub8IqAAAAJgXbQ9rF20P"
PEM_BODY = "".join(f"MIIEowIBAAKCAQEA{i:04d}{PEM_LINE}\n" for i in range(60))
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}-----END RSA PRIVATE KEY-----\n"


def test_a_short_text_without_secrets_is_sent_as_it_is():
    for q in load_query_set(ROOT / "tests" / "queries"):
        assert outgoing_text(q.text) == q.text


def test_a_long_log_is_sent_as_head_and_tail_within_the_byte_budget():
    log = "".join(f"INFO step {i} ok\n" for i in range(40_000)) + ERROR
    sent = outgoing_text(log)
    assert sent.startswith("INFO step 0 ok\n") and sent.endswith(ERROR)
    assert len(sent) <= SEND_HEAD + SEND_TAIL + 1
    assert len(json.dumps(sent, ensure_ascii=False).encode()) <= SEND_BYTES


def test_a_secret_across_a_cut_is_removed_whole():
    """The tail cut falls inside the key: the part after the cut has no ``sk-ant-`` prefix, so only
    scrubbing beyond the cut removes it."""
    fragments = [KEY[i : i + 8] for i in range(len("sk-ant-api03-"), len(KEY) - 8)]
    for at in range(0, len(KEY), 4):
        inside = len(KEY) - at  # characters of the key after the cut
        text = "x" * (SEND_TAIL * 2) + " " + KEY + "\n" + "y" * (SEND_TAIL - inside - len(ERROR) - 2) + "\n" + ERROR
        sent = outgoing_text(text)
        assert sent.endswith(ERROR)
        assert not [f for f in fragments if f in sent], at


def test_a_private_key_across_the_tail_cut_is_removed_whole():
    """The tail starts in the middle of the key block: its BEGIN line is not in the tail."""
    after = "w" * (SEND_TAIL - len(PEM) // 2 - len(ERROR) - 1) + "\n" + ERROR
    text = "z" * (SEND_TAIL * 2) + "\n" + PEM + after
    sent = outgoing_text(text)
    assert PEM_LINE not in sent
    assert sent.endswith(ERROR)


def test_wide_characters_and_quotes_still_fit_the_byte_budget():
    for unit in ("错误", '"', "\n", "🚀"):
        text = unit * 200_000 + ERROR
        sent = outgoing_text(text)
        assert sent.endswith(ERROR)
        assert len(json.dumps(sent, ensure_ascii=False).encode()) <= SEND_BYTES
