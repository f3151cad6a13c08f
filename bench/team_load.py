"""A team's agents against a shared deployment: concurrent clients, several replicas, one database.

    .venv/bin/python -m bench.team_load [--clients 50] [--replicas 2] [--seconds 60] [--database-url URL]
                                        [--model real|hash]      # → bench/results/team_load.json
    .venv/bin/python -m bench.team_load --database-url pgserver  # a scratch PostgreSQL 16 + pgvector

What it does:

1. builds the index of a snapshot of the shipped entries in a scratch SYNAPSE_HOME (the real model by
   default; ``--model hash`` for a quick run that measures the serving path without the model);
2. starts ``--replicas`` ``synapse serve`` processes on one database: ``--database-url`` is a
   ``sqlite:///PATH`` (the default, a scratch file: passed as ``--db``), a ``postgresql://`` URL
   (passed as ``SYNAPSE_DATABASE_URL``, for a deployment where the shared store is PostgreSQL), or
   ``pgserver``: a scratch PostgreSQL from the ``pgserver`` package (``pip install -e '.[test]'``);
3. runs ``--clients`` agent clients for ``--seconds``: each is a thread with its own keep-alive
   connection to one replica (client i talks to replica i mod R, as behind a load balancer) and the
   same client code agents run (``synapse_ai.kb.remote``).  Each picks, by weight: a search (a
   labelled query), a match (a labelled error text), an entry read, or a write.  The writes are what
   the deployment offers: confirmations and proposals when the server has them (``/api/entries/
   {slug}/confirm``, ``/api/proposals``; each client gets its own key, made with ``synapse keys
   create`` before the replicas start, as each agent of a team would), else anonymous submissions;
4. afterwards checks that nothing was lost: every write the server accepted (2xx) is read back
   through *another* replica than the one that accepted it (a proposal's status page; an entry's
   confirmation count, which must equal the number of distinct keys that confirmed it).

Reported: requests/s, p50/p90/p99 by kind and overall, errors by kind (target: 0; a refused
request, a 5xx or a dropped connection are all errors), and the lost-write count (target: 0).
The submission and proposal rate limits are raised for the run (``SYNAPSE_SUBMIT_LIMIT``,
``SYNAPSE_KEY_PROPOSE_LIMIT``): 50 agents share one address here, and the point is the deployment,
not the limiter.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import argparse
import os
import random
import subprocess
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import (
    QUERIES,
    SYNAPSE,
    at_start,
    bench_env,
    free_port,
    log,
    percentile,
    scratch_dir,
    snapshot_entries,
    summary,
    write_result,
)

WEIGHTS = {"search": 55, "match": 20, "entry": 10, "confirm": 10, "propose": 5}


def numpy_import_s(runs: int = 3) -> float:
    """Median wall time of ``python -c "import numpy"``: the unit that makes latencies comparable
    between machines (and between minutes of this shared one)."""
    import sys

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy"], check=True)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def scratch_postgres(home: Path) -> tuple[object, str]:
    """A PostgreSQL 16 + pgvector server in ``home`` (pgserver) and the URL of a new database on it."""
    import pgserver
    import psycopg

    server = pgserver.get_server(home / "pgdata", cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute('create database "team_load"')
    return server, server.get_uri("team_load")


def database_args(url: str) -> tuple[list[str], dict[str, str]]:
    """``synapse serve`` arguments and environment for a database URL."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return ["--db", parts.path if parts.netloc in ("", "localhost") else f"//{parts.netloc}{parts.path}"], {}
    if parts.scheme in ("postgres", "postgresql"):
        return [], {"SYNAPSE_DATABASE_URL": url}
    raise SystemExit(f"--database-url must be sqlite:///PATH or postgresql://...: {url}")


def build_index(home: Path, entries: Path, db_path: Path | None, db_env: dict, model: str) -> None:
    """The search index, built before the replicas start so that none of them re-indexes.  A
    PostgreSQL database is named by ``SYNAPSE_DATABASE_URL`` in ``db_env`` (``db_path`` is None)."""
    started = time.perf_counter()
    if model == "hash":
        from bench.common import use_scratch_home

        use_scratch_home(home)
        os.environ["SYNAPSE_MODEL"] = "hash"
        os.environ.update(db_env)
        from synapse_ai.kb import KnowledgeBase
        from synapse_ai.kb.embed import HashingEmbedder

        KnowledgeBase.open(db_path, [entries], embedder=HashingEmbedder(), remember_dirs=True).close()
    else:
        env = bench_env(home, SYNAPSE_ENTRIES_DIR=str(entries), **db_env)
        cmd = [SYNAPSE, "index", "--entries", str(entries)] + (["--db", str(db_path)] if db_path else [])
        subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    log(f"index built in {time.perf_counter() - started:.1f}s")


def start_replicas(
    n: int, home: Path, entries: Path, db_args: list[str], db_env: dict, model: str
) -> list[tuple[subprocess.Popen, str]]:
    replicas = []
    for i in range(n):
        port = free_port()
        env = bench_env(
            home,
            SYNAPSE_ENTRIES_DIR=str(entries),
            SYNAPSE_SUBMIT_LIMIT="1000000",
            SYNAPSE_KEY_PROPOSE_LIMIT="1000000",
            **db_env,
        )
        if model == "hash":
            env["SYNAPSE_MODEL"] = "hash"
        log_file = open(home / f"replica-{i}.log", "w")
        cmd = [SYNAPSE, "serve", *db_args, "--entries", str(entries), "--port", str(port), "--log-level", "warning"]
        process = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        replicas.append((process, f"http://127.0.0.1:{port}"))
    for process, url in replicas:
        wait_ready(process, url)
    return replicas


def wait_ready(process: subprocess.Popen, url: str, timeout: float = 300) -> None:
    from synapse_ai.kb.reader import RemoteError
    from synapse_ai.kb.remote import RemoteKnowledgeBase

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"replica {url} exited with {process.returncode}")
        remote = RemoteKnowledgeBase(url, timeout=5)
        try:
            remote.health()
            remote.search("warm up")  # the first search builds the in-memory indexes
            return
        except RemoteError:
            time.sleep(0.5)
        finally:
            remote.close()
    raise SystemExit(f"replica {url} did not answer within {timeout:.0f}s")


def submission_body(client: int, n: int) -> dict:
    return {
        "title": f"Load test finding {client}-{n}: the frobnicator times out",
        "summary": "The frobnicator client gives up after 30 s under load; raise its timeout.",
        "quick_fix": "Pass timeout=120 to the frobnicator client.",
        "category": "performance",
        "tags": ["frobnicator", "timeout"],
        "patterns": [],
        "symptom": f"Calls fail with frobnicator timed out after 30 seconds (client {client}, write {n}).",
        "root_cause": "The client's default timeout is 30 seconds.",
        "fix_options": [{"title": "Raise the timeout", "body": "Pass `timeout=120`."}],
        "environment": ["frobnicator 1.x"],
        "sources": ["https://example.com/frobnicator/timeouts"],
        "savings": "none",
    }


class Agent(threading.Thread):
    """One agent client: its own connection to one replica, its own random stream of operations."""

    def __init__(
        self, index: int, url: str, deadline: float, texts: dict, slugs: list[str], api_key: str | None, writes: str
    ) -> None:
        """``writes``: "feedback" (confirm and propose with ``api_key``) or "submission" (anonymous)."""
        super().__init__(name=f"agent-{index}", daemon=True)
        self.index, self.url, self.deadline = index, url, deadline
        self.texts, self.slugs, self.api_key, self.writes = texts, slugs, api_key, writes
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.accepted: list[tuple[str, str]] = []  # (what, ref or slug) of each accepted write
        self.rng = random.Random(index)

    def run(self) -> None:
        from synapse_ai.kb.reader import RemoteError
        from synapse_ai.kb.remote import RemoteKnowledgeBase

        remote = RemoteKnowledgeBase(self.url, api_key=self.api_key, timeout=30)
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        n = 0
        while time.monotonic() < self.deadline:
            kind = self.rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                self.operate(remote, kind, n)
                self.latencies[kind].append(time.perf_counter() - started)
            except RemoteError as exc:
                self.errors[f"{kind}: {type(exc).__name__}: {str(exc)[:120]}"] += 1
            n += 1
        remote.close()

    def operate(self, remote, kind: str, n: int) -> None:
        if kind == "search":
            response = remote.search(self.rng.choice(self.texts["all"]), 5)
            assert response.query
        elif kind == "match":
            remote.match(self.rng.choice(self.texts["errors"]), 3)
        elif kind == "entry":
            slug = self.rng.choice(self.slugs)
            if remote.get(slug) is None:
                raise_missing(slug)
        elif kind == "confirm" and self.writes == "feedback":
            slug = self.rng.choice(self.slugs)
            answer = remote.post_json(f"/api/entries/{slug}/confirm", {})
            assert answer["confirmations"] >= 1
            self.accepted.append(("confirm", slug))
        elif kind == "propose" and self.writes == "feedback":
            answer = remote.post_json("/api/proposals", submission_body(self.index, n))
            self.accepted.append(("proposal", answer["ref"]))
        else:
            answer = remote.post_json("/api/submissions", submission_body(self.index, n))
            self.accepted.append(("submission", answer["ref"]))


def raise_missing(slug: str) -> None:
    from synapse_ai.kb.reader import ServerRefused

    raise ServerRefused(404, f"entry {slug} not found")


def lost_writes(agents: list[Agent], urls: list[str]) -> dict:
    """Read every accepted write back through a replica other than the one that accepted it.

    A submission or proposal must have its status page; an entry's confirmation count must be the
    number of distinct keys whose confirmation of it was accepted (repeats by one key count once)."""
    from synapse_ai.kb.remote import HttpTransport

    checked = lost = 0
    examples = []
    confirmed: dict[str, set[int]] = defaultdict(set)
    transports = {url: HttpTransport(url, timeout=30) for url in urls}
    try:
        for agent in agents:
            other = transports[urls[(urls.index(agent.url) + 1) % len(urls)]]
            for what, ref in agent.accepted:
                if what == "confirm":
                    confirmed[ref].add(agent.index)
                    continue
                checked += 1
                if other.request("GET", f"/submissions/{ref}").status_code != 200:
                    lost += 1
                    examples.append([what, ref])
        reader = transports[urls[-1]]
        for slug, keys in sorted(confirmed.items()):
            checked += len(keys)
            count = int(reader.request("GET", f"/api/entries/{slug}").json().get("confirmations", 0))
            if count != len(keys):
                lost += max(0, len(keys) - count)
                examples.append(["confirmations", slug, f"{count} counted, {len(keys)} keys accepted"])
    finally:
        for transport in transports.values():
            transport.close()
    return {"checked": checked, "lost": lost, "lost_examples": examples[:10]}


def labelled_texts() -> dict:
    from synapse_ai.kb.evaluation import load_query_set

    queries = load_query_set(QUERIES)
    return {"all": [q.text for q in queries], "errors": [q.text for q in queries if q.kind == "error"]}


def has_feedback(url: str) -> bool:
    """Whether the server takes confirmations and proposals (it lists them in its OpenAPI schema)."""
    from synapse_ai.kb.remote import HttpTransport

    transport = HttpTransport(url, timeout=30)
    try:
        paths = transport.request("GET", "/openapi.json").json().get("paths", {})
    finally:
        transport.close()
    return "/api/entries/{slug}/confirm" in paths and "/api/proposals" in paths


def create_keys(n: int, home: Path, entries: Path, db_args: list[str], db_env: dict) -> list[str]:
    """One key per client (scopes read, vote, propose), made the way an admin makes them."""
    import json
    import sys

    script = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from synapse_ai.kb.cli import main\n"
        "keys = []\n"
        f"for i in range({n}):\n"
        f"    args = ['keys', 'create', '--name', f'agent-{{i}}', '--scope', 'read', '--scope', 'vote', "
        f"'--scope', 'propose', '--json', *{db_args!r}]\n"
        "    done = CliRunner().invoke(main, args)\n"
        "    assert done.exit_code == 0, done.output\n"
        "    keys.append(json.loads(done.stdout.strip().splitlines()[-1])['key'])\n"
        "print(json.dumps(keys))\n"
    )
    env = bench_env(home, SYNAPSE_ENTRIES_DIR=str(entries), **db_env)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(clients: int, replicas: int, seconds: float, database_url: str | None, model: str) -> dict:
    home = scratch_dir("team-load")
    entries = home / "snapshot-entries"
    slugs = snapshot_entries(entries)
    database_url = database_url or f"sqlite://{home / 'team.db'}"
    postgres = None
    if database_url == "pgserver":
        postgres, database_url = scratch_postgres(home)
    db_args, db_env = database_args(database_url)
    where = database_url.split("@")[-1]  # never the password of a postgresql:// URL
    log(f"team_load: {len(slugs)} entries, {replicas} replicas on {where}, {clients} clients, {seconds:.0f}s")
    start = at_start()
    numpy_before = numpy_import_s()
    build_index(home, entries, Path(db_args[1]) if db_args else None, db_env, model)
    processes = start_replicas(replicas, home, entries, db_args, db_env, model)
    urls = [url for _p, url in processes]
    try:
        writes = "feedback" if has_feedback(urls[0]) else "submission"
        keys = create_keys(clients, home, entries, db_args, db_env) if writes == "feedback" else [None] * clients
        texts = labelled_texts()
        deadline = time.monotonic() + seconds
        agents = [Agent(i, urls[i % len(urls)], deadline, texts, slugs, keys[i], writes) for i in range(clients)]
        began = time.perf_counter()
        for agent in agents:
            agent.start()
        for agent in agents:
            agent.join()
        elapsed = time.perf_counter() - began
        lost = lost_writes(agents, urls)
    finally:
        for process, _url in processes:
            process.terminate()
        for process, _url in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        if postgres is not None:
            postgres.cleanup()
    numpy_s = (numpy_before + numpy_import_s()) / 2
    by_kind: dict[str, list[float]] = defaultdict(list)
    errors: Counter = Counter()
    for agent in agents:
        for kind, values in agent.latencies.items():
            by_kind[kind].extend(values)
        errors.update(agent.errors)
    everything = [v for values in by_kind.values() for v in values]
    total = len(everything) + sum(errors.values())
    result = {
        # Said only when other work was running as the benchmark began (1-minute load above 1).
        **(
            {"provisional": "the machine was loaded when this run began; re-measure on an idle one"}
            if (start.get("load_average_1_5_15") or [0])[0] > 1.0
            else {}
        ),
        "database": database_url.split("://")[0],
        "model": model,
        "replicas": replicas,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "writes": writes,
        "weights": WEIGHTS,
        "requests": total,
        "requests_per_s": round(total / elapsed, 1),
        "latency_ms": {
            kind: {k: (round(v * 1000, 1) if k != "n" else v) for k, v in summary(values).items()}
            for kind, values in sorted({**by_kind, "all": everything}.items())
            if values
        },
        "numpy_import_s": round(numpy_s, 4),
        "p50_p99_in_numpy_imports": {
            kind: [round(percentile(values, 50) / numpy_s, 2), round(percentile(values, 99) / numpy_s, 2)]
            for kind, values in sorted({**by_kind, "all": everything}.items())
            if values
        },
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(10)),
        "accepted_writes": sum(len(a.accepted) for a in agents),
        "accepted_by_kind": dict(Counter(what for a in agents for what, _ref in a.accepted)),
        "nothing_lost": lost,
        "at_start": start,
    }
    log(
        f"{result['requests_per_s']} req/s, p50 {result['latency_ms']['all']['median']} ms, "
        f"p99 {result['latency_ms']['all']['p99']} ms, errors {result['errors']}, "
        f"lost {lost['lost']}/{lost['checked']}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="Concurrent agent clients.")
    parser.add_argument("--replicas", type=int, default=2, help="synapse serve processes on the one database.")
    parser.add_argument("--seconds", type=float, default=60, help="How long the clients run.")
    parser.add_argument(
        "--database-url",
        help="sqlite:///PATH (default: a scratch file), postgresql://..., or pgserver (a scratch PostgreSQL).",
    )
    parser.add_argument(
        "--model",
        choices=["real", "hash"],
        default="real",
        help="real: the shipped model; hash: no model (measures the serving path only).",
    )
    parser.add_argument("--out", default="team_load", help="Results file name under bench/results/.")
    args = parser.parse_args()
    result = run(args.clients, args.replicas, args.seconds, args.database_url, args.model)
    log(f"wrote {write_result(args.out, result)}")


if __name__ == "__main__":
    main()
