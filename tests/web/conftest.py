"""Fixtures for the web tests.

Indexing the shipped entries takes a couple of seconds (YAML parsing), so the index is built once
per session over a session copy of the entries, and every test gets its own copy of that database
file: opening it finds the index current and skips re-indexing.  Approved entries go to the per-test
``SYNAPSE_HOME`` (the autouse fixture in tests/conftest.py), never into the shared entries copy.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.pg import postgres_url  # noqa: F401 - a fresh database on a real PostgreSQL (tests/pg.py)

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="session")
def web_entries(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("web-entries") / "entries"
    shutil.copytree(ROOT / "entries", target)
    return target


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, web_entries) -> Path:
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder

    path = tmp_path_factory.mktemp("web-db") / "kb.db"
    KnowledgeBase.open(path, [web_entries], embedder=HashingEmbedder()).close()
    return path


@pytest.fixture
def db_path(tmp_path, template_db) -> Path:
    target = tmp_path / "kb.db"
    shutil.copy(template_db, target)
    return target


@pytest.fixture
def make_app(db_path, web_entries):
    """Build an app over this test's database copy; keyword arguments override ``Settings``."""
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.web.app import create_app, entry_dirs
    from synapse_ai.web.settings import Settings

    def factory(**overrides):
        overrides.setdefault("admin_token", ADMIN_TOKEN)
        overrides.setdefault("public_url", "http://testserver")  # TestClient's own address
        settings = Settings(db=db_path, entries_dirs=[web_entries], **overrides)
        # The same folders the real app indexes (the entries plus the folder approvals go to),
        # with the hashing embedder passed in explicitly.
        return create_app(
            settings, kb_factory=lambda: KnowledgeBase.open(db_path, entry_dirs(settings), embedder=HashingEmbedder())
        )

    return factory


@pytest.fixture
def client(make_app):
    with TestClient(make_app()) as c:
        yield c


@pytest.fixture
def admin_client(make_app):
    """A client whose requests carry the admin bearer token."""
    with TestClient(make_app(), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c


# ---------------------------------------------------------------------- HTML helpers
class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None = None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list[Node]:
        found = []
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.classes():
                continue
            if any(n.attrs.get(k.rstrip("_").replace("_", "-")) != v for k, v in attrs.items()):
                continue
            found.append(n)
        return found

    def find(self, tag: str | None = None, cls: str | None = None, **attrs) -> Node | None:
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None

    def by_id(self, id_: str) -> Node | None:
        return next((n for n in self.iter() if n.attrs.get("id") == id_), None)

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse_html(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


@pytest.fixture
def dom():
    return parse_html


def csrf_from(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, "page has no CSRF meta tag"
    return m.group(1)


@pytest.fixture
def csrf():
    """Fetch a page with the client (so it has its cookie) and return the page's CSRF token."""

    def get(client, path: str = "/submit") -> str:
        return csrf_from(client.get(path).text)

    return get


def valid_api_payload(**overrides) -> dict:
    """JSON body of a ``POST /api/submissions`` that passes validation (the API's lists, where the
    form has lines)."""
    data = {
        "title": "Frobnicator times out after 30 seconds",
        "summary": "The frobnicator client gives up after 30 s; raise its timeout.",
        "quick_fix": "Pass timeout=120 to the frobnicator client.",
        "category": "performance",
        "tags": ["frobnicator", "timeout"],
        "patterns": [r"frobnicator timed out after \d+ seconds"],
        "symptom": "Calls fail with `frobnicator timed out after 30 seconds`.",
        "root_cause": "The client's default timeout is 30 seconds.",
        "fix_options": [{"title": "Raise the timeout", "body": "```python\nclient = dict(timeout=120)\n```"}],
        "environment": ["frobnicator 1.x"],
        "sources": ["https://example.com/frobnicator/timeouts"],
        "savings": "none",
    }
    data.update(overrides)
    return data


def valid_form(**overrides) -> dict:
    """Form fields of a submission that passes validation."""
    data = {
        "title": "Frobnicator times out after 30 seconds",
        "summary": "The frobnicator client gives up after 30 s; raise its timeout.",
        "quick_fix": "Pass timeout=120 to the frobnicator client.",
        "category": "performance",
        "tags": "frobnicator, timeout",
        "patterns": r"frobnicator timed out after \d+ seconds",
        "symptom": "Calls fail with `frobnicator timed out after 30 seconds`.",
        "root_cause": "The client's default timeout is 30 seconds.",
        "option_title": ["Raise the timeout", "", ""],
        "option_body": ["Pass a larger timeout:\n\n```python\nclient = dict(timeout=120)\n```", "", ""],
        "environment": "frobnicator 1.x\nPython 3.11",
        "sources": "https://example.com/frobnicator/timeouts",
        "savings": "No token savings; saves one failed run per occurrence.",
        "contact": "",
        "website": "",
        "action": "send",
    }
    data.update(overrides)
    return data


@pytest.fixture
def form():
    return valid_form
