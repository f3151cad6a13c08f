"""kb.scrub: secrets leave error text before it leaves the machine; everything else stays as it was.

Every secret below is made up in the real format (prefix, alphabet, length); none is a real key.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from synapse_ai.kb.evaluation import load_query_set
from synapse_ai.kb.scrub import REDACTED, scrub, scrub_counts, scrub_json

ROOT = Path(__file__).resolve().parents[2]

ANTHROPIC = (
    "sk-ant-api03-Xq3vT9bLm2Rk8Zp4Wc7Nd1Hf6Js0Ga5Ye2Ub8Io3Pl7Kx9Mq4Vw-AbCdEfGh1234"
    "Zy5Tr8Qw2Er6Ty0UiOp3AsDfGhJkLzXcVbNmQwErTy-AA"
)
ANTHROPIC_OAUTH = "sk-ant-oat01-Pq9Wn3Ks7Ld1Xv5Bc8Mz2Hr6Tj0Gf4Yu7Ea3Io9Nd5Sq1Lw8Kc2Vb6Xm0Zr4Jh-Qp7Tn3Wk9Ls1AA"
OPENAI_PROJECT = (
    "sk-proj-7fT2kLm9QxZ3vB8nR4wY1cH6jD0pS5aE_uG-iK2oM7tN9qV3xW1zA4bC6dF8gH0jKlMnOpQrStUvWxYz"
    "0123456789AbCdEfGhIjKlMnOpQrStUvWxYz-T3BlbkFJ"
)
OPENAI_LEGACY = "sk-Ab3dEf7hIj1kLm5nOp9qRs3tUv7wXy1zAb5cDe9fGh3iJk7l"
GITHUB_CLASSIC = "ghp_R4nD0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy"
GITHUB_FINE = "github_pat_11ABCDEFG0abcdefghijkl_MnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
AWS_KEY_ID = "AKIA4XJ7QW2ZLP9RTM3K"
AWS_SECRET = "q8Zr+T2mW/x5Lp9Vb3Nc7Hd1Kf6Js0Ga4Ye2Ub8I"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiaWF0IjoxNzY0NjY1NjAwfQ."
    "8kQz3nVb7Xr2Lp9Wm4Tc6Yd1Hf0Gs5Ja3Ke8Uo2Iq7"
)
BEARER = "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"
PASSWORD = "S3cr3t-P4ss_w0rd"

# (text with a secret, what must be gone, what the scrubbed text must contain)
SECRETS = [
    (
        f"anthropic.AuthenticationError: Error code: 401 - invalid x-api-key {ANTHROPIC}",
        ANTHROPIC,
        "sk-ant-api03-[REDACTED]",
    ),
    (f"client = Anthropic(api_key='{ANTHROPIC_OAUTH}')", ANTHROPIC_OAUTH, "sk-ant-oat01-[REDACTED]"),
    (
        f"openai.AuthenticationError: Incorrect API key provided: {OPENAI_PROJECT}.",
        OPENAI_PROJECT,
        "sk-proj-[REDACTED]",
    ),
    (f"$ OPENAI_API_KEY={OPENAI_LEGACY} python run.py", OPENAI_LEGACY, "OPENAI_API_KEY=sk-[REDACTED]"),
    (
        f'curl -H "Authorization: Bearer {BEARER}" https://team-server/api/search',
        BEARER,
        "Authorization: Bearer [REDACTED]",
    ),
    (f"headers={{'authorization': 'Bearer {JWT}'}}", JWT, "Bearer [REDACTED]"),
    (f"requests.exceptions.HTTPError: 401 for url: https://api.example.com/v1?token={JWT}", JWT, "token=[REDACTED]"),
    (
        f"remote: Invalid username or password.\nfatal: https://octocat:{GITHUB_CLASSIC}@github.com/o/r.git",
        GITHUB_CLASSIC,
        "https://octocat:ghp_[REDACTED]@github.com",
    ),
    (f"GH_TOKEN={GITHUB_FINE}", GITHUB_FINE, "GH_TOKEN=github_pat_[REDACTED]"),
    (
        f"sqlalchemy.exc.OperationalError: (psycopg.OperationalError) postgresql://app:{PASSWORD}@db.internal:5432/prod",
        PASSWORD,
        "postgresql://app:[REDACTED]@db.internal:5432/prod",
    ),
    (f"redis.exceptions.AuthenticationError: redis://:{PASSWORD}@cache:6379/0", PASSWORD, "redis://:[REDACTED]@cache"),
    (
        f"[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n",
        AWS_SECRET,
        "aws_secret_access_key = [REDACTED]",
    ),
    (f"botocore.exceptions.ClientError: InvalidAccessKeyId {AWS_KEY_ID}", AWS_KEY_ID, "AKIA[REDACTED]"),
    (
        f'{{"AccessKeyId": "{AWS_KEY_ID}", "SecretAccessKey": "{AWS_SECRET}", "SessionToken": "{JWT}"}}',
        AWS_SECRET,
        '"SecretAccessKey": "[REDACTED]"',
    ),
    (f"DB_PASSWORD={PASSWORD}\nDEBUG=1", PASSWORD, "DB_PASSWORD=[REDACTED]\nDEBUG=1"),
    (f"SECRET_KEY: '{PASSWORD}'", PASSWORD, "SECRET_KEY: '[REDACTED]'"),
    (f"CLIENT_SECRET={PASSWORD}", PASSWORD, "CLIENT_SECRET=[REDACTED]"),
    (
        "export SLACK_BOT_TOKEN=xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
        "AbCdEfGhIjKlMnOpQrStUvWx",
        "SLACK_BOT_TOKEN=xoxb-[REDACTED]",
    ),
    (
        "HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "HF_TOKEN=hf_[REDACTED]",
    ),
    (
        "ENCRYPTION_KEY=Zr8T2mWx5Lp9Vb3Nc7Hd1Kf6Js0Ga4Ye",
        "Zr8T2mWx5Lp9Vb3Nc7Hd1Kf6Js0Ga4Ye",
        "ENCRYPTION_KEY=[REDACTED]",
    ),
    ("Cookie: session=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5; csrftoken=Q2xh", "Zm9vYmFy", "Cookie: [REDACTED]"),
]

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDx7yq0RkP1mZ3rT8aVd2Lw9Nc5Hf6Js0Ga4Ye2Ub8IqAAAAJgXbQ9rF20P\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)

# Text that must come back byte for byte: what the knowledge base needs to recognise a failure.
SURVIVORS = [
    "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', "
    "'message': 'This request would exceed the rate limit'}, 'request_id': 'req_011CXG775DXqEKv3rfXnXA4R'}",
    "anthropic.BadRequestError: Error code: 400 - messages.2: `tool_use` ids were found without `tool_result` blocks "
    "immediately after: toolu_01A09q90qw90lq917835lq9, toolu_01Bq8ZfL3kXw2NvY7cT5mR4a",
    "Traceback (most recent call last):\n"
    '  File "/home/dev/.venv/lib/python3.12/site-packages/anthropic/_base_client.py", '
    "line 1350, in _request\n    raise self._make_status_error_from_response(response) from None",
    "model: claude-sonnet-4-5-20250929, max_tokens: 64000, input_tokens=183211, cache_read_input_tokens: 12000",
    "prompt is too long: 215007 tokens > 200000 maximum; model=claude-3-5-haiku-latest gpt-4o-2024-08-06 o3-mini",
    "anthropic.AuthenticationError: Error code: 401 - {'type': 'authentication_error', 'message': 'invalid x-api-key'}",
    "Could not resolve authentication method. Expected either api_key or auth_token to be set.",
    "TypeError: Client.__init__() got an unexpected keyword argument 'api_key'; "
    "api_key=None API_KEY=$ANTHROPIC_API_KEY",
    "Bearer authentication failed; Token limit exceeded; token: <your token>",
    'password authentication failed for user "postgres"\nPassword:\nnext line',
    "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)",
    "commit 3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39, id 550e8400-e29b-41d4-a716-446655440000, "
    "msg_01XFDUDYJgAACzvnptvVoYEL",
    "GET https://api.anthropic.com/v1/messages http://localhost:8000/api/search?q=429 ssh://git@github.com/o/r.git",
    "npm ERR! code ENOENT\nnpm ERR! syscall open\nnpm ERR! path /app/package.json",
    "see https://docs.example.com/sk-learn-compatibility-notes-for-tokenizers and "
    "task-runner-abcdefghijklmnopqrstuvwxyz",
    "wrote sk-ant-... into .env; the key starts with sk-proj- or sk-ant-api03-",
    "botocore.errorfactory.ConditionalCheckFailedException: key=order-12345 sort_key: 2026-12-02 cache_key=user:42",
]


@pytest.mark.parametrize(("text", "secret", "expected"), SECRETS, ids=[s[2][:30] for s in SECRETS])
def test_secrets_are_removed_and_their_prefix_kept(text, secret, expected):
    out = scrub(text)
    assert secret not in out
    assert expected in out
    assert REDACTED in out


def test_private_key_blocks_keep_their_markers_only():
    out, counts = scrub_counts(f"paramiko.ssh_exception.SSHException: not a valid key\n{PEM}after the key")
    assert "b3BlbnNzaC1rZXkt" not in out and "QyNTUxOQ" not in out
    assert "-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED]\n-----END OPENSSH PRIVATE KEY-----" in out
    assert out.startswith("paramiko.ssh_exception.SSHException") and out.endswith("\nafter the key")
    assert counts == {"private-key": 1}


def test_a_private_key_cut_off_is_removed_to_the_next_blank_line():
    cut = PEM.split("-----END")[0]
    out = scrub(f"log line\n{cut}\nlater line")
    assert "b3BlbnNzaC1rZXkt" not in out and out.endswith("later line")


@pytest.mark.parametrize("text", SURVIVORS, ids=range(len(SURVIVORS)))
def test_ordinary_error_text_survives_unchanged(text):
    assert scrub(text) == text


def test_every_labelled_query_and_failure_event_survives_unchanged():
    """The whole labelled query set and the routine/buried failure corpora hold no secrets: scrubbing
    changes none of them (so the remote client searches exactly what the local one would)."""
    texts = [q.text for q in load_query_set(ROOT / "tests" / "queries")]
    for name in ("routine", "buried"):
        data = yaml.safe_load((ROOT / "tests" / "queries" / "failures" / f"{name}.yaml").read_text(encoding="utf-8"))
        texts += [str(item["payload"]["error"]) if "payload" in item else str(item) for item in data["items"]]
    assert len(texts) > 1000
    changed = [t[:120] for t in texts if scrub(t) != t]
    assert changed == []


def test_counts_name_each_kind():
    text = f"{ANTHROPIC} {AWS_KEY_ID} https://u:{PASSWORD}@h DB_PASSWORD={PASSWORD} Bearer {BEARER}"
    _, counts = scrub_counts(text)
    assert counts == {"anthropic-key": 1, "aws-access-key": 1, "url-password": 1, "assignment": 1, "bearer-token": 1}


def test_scrubbing_twice_changes_nothing_more():
    text = "\n".join(s[0] for s in SECRETS) + PEM
    once = scrub(text)
    assert scrub(once) == once


def test_scrub_json_leaves_regular_expressions_alone():
    body = {"patterns": [r"api_key=\w+", r"sk-ant-[A-Za-z0-9_-]{20,}"], "symptom": f"DB_PASSWORD={PASSWORD}"}
    assert scrub_json(body) == {"patterns": body["patterns"], "symptom": "DB_PASSWORD=[REDACTED]"}


def test_scrub_json_scrubs_every_string_and_keeps_keys_and_numbers():
    body = {"symptom": f"401 with {ANTHROPIC}", "tags": ["auth", f"AKIA {AWS_KEY_ID}"], "limit": 5, "api_key": None}
    out = scrub_json(body)
    assert out == {
        "symptom": "401 with sk-ant-api03-[REDACTED]",
        "tags": ["auth", "AKIA AKIA[REDACTED]"],
        "limit": 5,
        "api_key": None,
    }


def test_hostile_input_finishes():
    """Runs of token characters and separators that would make a backtracking pattern quadratic.
    A 20 s guard in a subprocess only catches a hang; each input takes well under a second."""
    code = textwrap.dedent(
        """
        from synapse_ai.kb.scrub import scrub
        n = 50_000  # 0.2-0.7 MB per input: more than the client ever scrubs (the ~136k-character window)
        for text in ("eyJ-" * n, "eyJa." * n, "a" * n + "://", "sk-" * n, "x:" * n + "@", "A_" * n + "=",
                     "-----BEGIN PRIVATE KEY-----\\n" * (n // 10), "Bearer " * n, "https://u:" * n,
                     "authorization:" * n,
                     ("k" * 70 + "_token") * (n // 80)):
            scrub(text)
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
