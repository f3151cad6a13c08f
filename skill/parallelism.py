"""Find tool calls an agent made in separate turns although they could have been one batch.

The rule (the same one Anthropic states for parallel tool use): calls that do not need each
other's results may be issued together in one assistant turn; a call that uses something only
an earlier result revealed, or that touches what an earlier call changes, must come later.

Two heuristics decide "depends on" between an earlier call A and a later call B:

* **data**: B's input contains a token (an id, a path, a URL, a number, a name) whose first
  appearance anywhere in the transcript was A's result. Tokens already present in the prompt,
  the tool schemas or earlier inputs do not count, which filters most coincidences;
* **effects**: A and B touch the same resource (a path, a URL, an id, or the same noun in the
  tool names when no resource is visible) and at least one of them writes it; a shell command
  that is not plainly read-only is treated as touching everything; a call that runs or inspects
  the workspace as a whole (tests, builds, ``git status``, ``ls``) observes every write before it;
* **repetition**: B is the same tool with the same input as A, in a streak of at least
  ``MIN_LOOP_REPEATS`` consecutive turns: polling or a stuck agent, never independent work. Such
  streaks are reported as loops (:func:`find_loops`), not as calls to batch.

Consecutive tool-calling turns are then grouped greedily: a turn joins the current group unless
one of its calls depends on a call in the group. A group spanning k turns could have been one
turn, saving k - 1 model round trips. This is deliberately conservative: a missed dependency
would make the advice wrong, a missed opportunity only makes it incomplete.

Cost: one pass over the transcript. Values first seen in results are indexed once (token ->
call), and each group keeps an index of what its calls touch, so a call is checked in time
proportional to its own input, not to the length of the transcript or of the group.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from typing import Any

from .transcript import Call, Transcript

__all__ = ["Effects", "call_key", "effects", "find_groups", "find_loops", "input_tokens", "text_tokens"]

MIN_LOOP_REPEATS = 3  # identical calls in this many consecutive turns are reported as a loop

_STOPWORDS = frozenset(
    """
    the and for are but not you all any can had her was one our out day get has him his how man new
    now old see two way who boy did its let put say she too use that with have this will your from
    they know want been good much some time very when come here just like long make many more only
    over such take than them well were what into also back after most where which their there then
    these those about would could should other because while still being does done each file files
    true false null none nil undefined yes ok okay error errors result results success failed fail
    status data value values type name names content contents text json string number object array
    line lines item items found total count size path paths https http www com org net html index
    page default tool tools input output message info warning debug note empty list dir read write
    """.split()
)
# Text is cut into chunks at whitespace and quotes/brackets/separators, and chunks into parts at
# path and URL punctuation (translate + str.split: much faster than a regex on megabytes).
_CHUNK_BREAKS = str.maketrans({ch: " " for ch in "\"'`<>()[]{},;|"})
_PART_BREAKS = str.maketrans({ch: " " for ch in "/\\?&=#:@"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

_WRITE_VERBS = frozenset(
    """write create update delete remove rm post put patch edit save append insert upsert set replace
    move mv rename mkdir copy cp upload send modify commit push apply add drop truncate overwrite store
    submit publish deploy install uninstall kill stop start restart merge reset revert archive
    """.split()
)
_WRITE_ACTIONS = _WRITE_VERBS | {"str_replace", "undo_edit", "w", "a", "wb", "ab", "x"}
_READ_ACTIONS = frozenset(
    """view read get list ls show search find cat head tail fetch query describe stat r rb screenshot
    cursor_position zoom
    """.split()
)
_ACTION_KEYS = ("command", "action", "operation", "op", "mode", "method")
_COMMAND_KEYS = ("command", "cmd", "script", "code", "query", "sql")
_SHELL_WORDS = frozenset("bash shell terminal sh zsh powershell exec execute subprocess".split())
_RESOURCE_KEYS = frozenset(
    """path file file_path filepath filename url uri href dir directory folder key bucket table
    collection resource target destination dest src source id doc document record branch repo
    repository sheet page_id file_name branch_name table_name repo_name bucket_name object_key
    """.split()
)
_SECRET_KEYS = ("token", "api_key", "apikey", "auth", "secret", "password")
_NOUN_NOISE = frozenset("tool tools api the a an by to from of for and with based str by_id all".split())
_READONLY_PROGRAMS = frozenset(
    """cat ls head tail grep egrep fgrep rg ag find wc stat file du df pwd echo printf which tree less
    more diff cmp sort uniq cut awk jq yq date env whoami uname ps nl realpath basename dirname
    md5sum sha1sum sha256sum xxd hexdump od strings readlink type test true false sed curl wget
    """.split()
)
# Tools that run or inspect the workspace as a whole: they observe every earlier write.
_OBSERVER_WORDS = frozenset(
    """test tests pytest unittest jest vitest mocha build compile lint linter typecheck mypy tsc check
    verify validate run execute exec eval interpreter python node make cargo gradle maven npm
    """.split()
)
# Read-only programs that look at the whole working directory when given no path.
_CWD_PROGRAMS = frozenset("ls find tree du rg ag grep".split())
_READONLY_GIT = frozenset("status log diff show branch rev-parse ls-files blame grep describe remote config".split())
_FILE_WRITERS = frozenset("touch mkdir rm rmdir cp mv tee ln chmod chown truncate".split())
_READONLY_SQL = frozenset("select show describe desc explain pragma with".split())
_SQL_WORDS = _READONLY_SQL | frozenset("insert update delete create drop alter replace truncate merge".split())
_UPLOAD_FLAGS = frozenset("-X --request -d --data --data-raw -F --form -T --upload-file -o -O".split())
_PY_PATH = re.compile(r"[\w./-]*/[\w.-]+\.py\b")
_REDIRECT = re.compile(r"(?<![0-9&<])(>>?)\s*([^\s;&|]+)")


# --------------------------------------------------------------------------- tokens


def _trivial(token: str) -> bool:
    return len(token) < 3 or token in _STOPWORDS or not any(ch.isalnum() for ch in token)


_PIECE = 1 << 20
_SPACE = re.compile(r"\s")


def _pieces(text: str) -> Iterable[str]:
    """``text`` in slices of about ``_PIECE`` characters, cut at whitespace (never inside a chunk)."""
    start = 0
    while len(text) - start > _PIECE:
        cut = _SPACE.search(text, start + _PIECE)
        if cut is None:
            break
        yield text[start : cut.start()]
        start = cut.start()
    yield text[start:]


def text_tokens(text: str, keep: set[str] | None = None) -> set[str]:
    """Lower-cased tokens of free text: whole chunks (paths, URLs, ids) and their path parts.

    Written for megabytes of log text: the text is lower-cased once, each distinct chunk is kept
    once, and the parts of all chunks come from one split of the chunks joined by a space (so no
    Python loop runs per chunk). With ``keep``, only tokens in it are returned: a caller
    that only ever looks those up does not have to filter or hold millions of others.
    """
    raw_chunks: set[str] = set()
    for piece in _pieces(text or ""):  # a megabyte at a time: the list of all chunks is never built
        raw_chunks.update(piece.lower().translate(_CHUNK_BREAKS).split())
    chunks = {raw.rstrip(".:;!?*").lstrip(":;!?*") for raw in raw_chunks}
    # chunks hold no whitespace, so joining by a space and splitting again yields each chunk's parts
    parts = {part.strip(".") for part in " ".join(chunks).translate(_PART_BREAKS).split()}
    candidates = chunks | parts
    if keep is not None:
        return candidates & keep
    return {token for token in candidates if not _trivial(token)}


def input_tokens(value: Any) -> set[str]:
    """Tokens of a tool input's values (keys are schema, not data, so they are skipped)."""
    out: set[str] = set()
    for leaf in _leaves(value):
        if isinstance(leaf, str):
            whole = leaf.strip().lower()
            if 2 < len(whole) <= 200 and not _trivial(whole):
                out.add(whole)
                out |= _module_names(whole)
            out |= text_tokens(leaf)
        elif isinstance(leaf, (int, float)) and not isinstance(leaf, bool):
            token = str(leaf)
            if not _trivial(token):
                out.add(token)
    return out


def _module_names(path: str) -> set[str]:
    """``pkg.sub.mod`` for a ``.../pkg/sub/mod.py`` path: how an import in an earlier result names it."""
    if not path.endswith(".py") or "/" not in path:
        return set()
    parts = [p for p in path[:-3].split("/") if p and p != "."]
    return {".".join(parts[-k:]) for k in range(2, min(len(parts), 6) + 1)}


def _leaves(value: Any, key: str = "") -> Iterable[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, key)
    else:
        yield value


def _keyed_leaves(value: Any, key: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _keyed_leaves(v, str(k).lower())
    elif isinstance(value, list):
        for v in value:
            yield from _keyed_leaves(v, key)
    else:
        yield key, value


# --------------------------------------------------------------------------- effects


@dataclasses.dataclass
class Effects:
    """What a call touches: ``resources`` it names, whether it ``writes``, ``barrier`` for
    commands whose effects cannot be read from the input (they conflict with everything), and
    ``observes`` for calls that run or inspect the whole workspace (they conflict with writes)."""

    writes: bool = False
    barrier: bool = False
    observes: bool = False
    resources: set[str] = dataclasses.field(default_factory=set)
    nouns: set[str] = dataclasses.field(default_factory=set)


def _name_words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name.replace("-", "_"))]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _norm_resource(value: str) -> str:
    value = value.strip().strip("'\"")
    while value.startswith("./"):
        value = value[2:]
    return value.rstrip("/") or value


def _looks_like_resource(value: str) -> bool:
    if not value or any(ch.isspace() for ch in value) or len(value) > 300:
        return False
    return "://" in value or "/" in value or "\\" in value or bool(re.fullmatch(r"[\w.-]+\.[A-Za-z0-9]{1,8}", value))


def _overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/") or a.endswith("/" + b) or b.endswith("/" + a)


def effects(call: Call) -> Effects:
    """Infer reads/writes and resources of one call from its tool name and input."""
    words = _name_words(call.name)
    eff = Effects(nouns={_singular(w) for w in words if w not in _WRITE_VERBS | _READ_ACTIONS | _NOUN_NOISE})
    params = call.input if isinstance(call.input, dict) else {"input": call.input}
    decided: bool | None = None
    for key in _ACTION_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value.strip() and " " not in value.strip():
            action = value.strip().lower()
            if action in _WRITE_ACTIONS:
                decided = True
            elif action in _READ_ACTIONS or action in ("head", "options"):
                decided = False
            if decided is not None:
                break

    if "computer" in words:
        eff.resources.add("screen")
        eff.writes = decided is not False
        return eff

    command, kind = _command_text(params, words)
    # A shell command line is parsed even when it is one word ("ls" is also a read action name).
    if command is not None and (decided is None or kind == "shell"):
        sql = _sql_effects(command, eff)
        if sql is not None:
            return sql
        if kind == "shell":
            return _shell_effects(command, eff)

    for key, leaf in _keyed_leaves(params):
        if isinstance(leaf, bool) or leaf is None:
            continue
        resourceish = (key in _RESOURCE_KEYS or key.endswith(("_id", "_path", "_file", "_url", "_uri"))) and not any(
            secret in key for secret in _SECRET_KEYS
        )
        if isinstance(leaf, (int, float)) and resourceish:
            eff.resources.add(str(leaf))
        elif isinstance(leaf, str) and (
            (resourceish and leaf.strip() and len(leaf) <= 300) or _looks_like_resource(leaf.strip())
        ):
            eff.resources.add(_norm_resource(leaf))
    eff.writes = decided if decided is not None else any(w in _WRITE_VERBS for w in words)
    eff.observes = any(w in _OBSERVER_WORDS for w in words)
    return eff


def _command_text(params: dict[str, Any], words: list[str]) -> tuple[str | None, str | None]:
    """The command text of a shell or SQL tool and which kind it is; ``(None, None)`` otherwise."""
    shell = any(w in _SHELL_WORDS for w in words)
    sql = not shell and any(w in ("sql", "database", "db") for w in words)
    if not (shell or sql):
        return None, None
    for key in _COMMAND_KEYS:
        value = params.get(key)
        if isinstance(value, str):
            return value, "shell" if shell else "sql"
    return ("", "shell") if shell else (None, None)


def _sql_effects(sql: str, eff: Effects) -> Effects | None:
    """Reads for SELECT-like statements, writes for DML/DDL; None when it is not SQL at all."""
    first = sql.strip().split(None, 1)[0].lower() if sql.strip() else ""
    if first in _READONLY_SQL:
        eff.resources |= _sql_tables(sql)
        return eff
    if first in _SQL_WORDS:
        eff.writes = True
        eff.resources |= _sql_tables(sql) or {"database"}
        return eff
    return None


def _shell_effects(command: str, eff: Effects) -> Effects:
    """Parse a shell command line: plainly read-only programs read their path arguments,
    redirections and file commands write their targets, anything else is a barrier."""
    text = command.strip()
    if not text:
        eff.barrier = True
        return eff
    for _op, target in _REDIRECT.findall(text):
        if target != "/dev/null" and not target.startswith("&"):
            eff.writes = True
            eff.resources.add(_norm_resource(target))
    for simple in re.split(r"&&|\|\||[;|\n]", _REDIRECT.sub(" ", text)):
        argv = simple.split()
        while argv and (re.fullmatch(r"\w+=\S*", argv[0]) or argv[0] in ("sudo", "time", "nohup", "command")):
            argv = argv[1:]
        if not argv:
            continue
        program = argv[0].rsplit("/", 1)[-1].lower()
        args = argv[1:]
        paths = {_norm_resource(a) for a in args if not a.startswith("-") and _looks_like_resource(a.strip("'\""))}
        if program == "git":
            sub = next((a for a in args if not a.startswith("-")), "")
            eff.resources.add("git")
            eff.observes = True  # status, diff, log ... show the working tree as it is now
            if sub not in _READONLY_GIT:
                eff.writes = eff.barrier = True
        elif program in _FILE_WRITERS or (program == "sed" and any(a.startswith("-i") for a in args)):
            eff.writes = True
            eff.resources |= paths
            eff.barrier = eff.barrier or not paths
        elif program in ("curl", "wget") and any(a in _UPLOAD_FLAGS for a in args):
            eff.barrier = True
        elif program == "find" and any(a in ("-delete", "-exec", "-execdir") for a in args):
            eff.barrier = True
        elif program in _READONLY_PROGRAMS:
            eff.resources |= paths
            eff.observes = eff.observes or (program in _CWD_PROGRAMS and not paths)
        else:
            eff.barrier = True
    return eff


def _sql_tables(sql: str) -> set[str]:
    names = re.findall(r"\b(?:from|join|into|update|table)\s+([\w.\"`]+)", sql, flags=re.IGNORECASE)
    return {"table:" + n.strip('"`').lower() for n in names}


def conflict(first: Call, eff_a: Effects, second: Call, eff_b: Effects) -> str | None:
    """Why ``second`` must not run together with the earlier ``first`` (None when it may)."""
    if eff_a.barrier or eff_b.barrier:
        who = first if eff_a.barrier else second
        return f"{who.name} ({who.id}) runs a command whose side effects cannot be checked"
    if not (eff_a.writes or eff_b.writes):
        return None
    if (eff_a.writes and eff_b.observes) or (eff_a.observes and eff_b.writes):
        writer, observer = (first, second) if eff_a.writes and eff_b.observes else (second, first)
        return f"{observer.name} ({observer.id}) runs or inspects what {writer.name} ({writer.id}) changes"
    writer = first if eff_a.writes else second
    for ra in sorted(eff_a.resources):
        for rb in sorted(eff_b.resources):
            if _overlap(ra, rb) or "*" in (ra, rb):
                shown = rb if len(rb) <= len(ra) else ra
                return f"both touch '{shown}' and {writer.name} ({writer.id}) changes it"
    if not eff_a.resources or not eff_b.resources:
        shared = sorted(eff_a.nouns & eff_b.nouns)
        if shared:
            return f"{writer.name} ({writer.id}) changes '{shared[0]}' data the other call works on"
    return None


# --------------------------------------------------------------------------- grouping


@dataclasses.dataclass
class Group:
    """Consecutive tool turns with no dependency between them (one finding when >= 2 turns)."""

    turns: list[list[Call]]
    ended_by: dict[str, str] | None = None

    @property
    def calls(self) -> list[Call]:
        return [c for turn in self.turns for c in turn]


def call_key(call: Call) -> tuple[str, str]:
    """Tool name plus canonical input: equal keys mean the very same call was made again."""
    return call.name, json.dumps(call.input, sort_keys=True, ensure_ascii=False, default=str)


def _data_dependencies(transcript: Transcript) -> tuple[list[list[list[Call]]], dict[str, dict[str, str]]]:
    """Runs of tool turns, and for each call ``{earlier_call_id: token}`` of the result values it uses.

    ``origin`` maps each token to the call whose result showed it first; it is built once, as the
    results arrive, so a call is checked by looking up its own input tokens.
    """
    # Only tokens some call's input contains can ever link two calls: everything else in the
    # (possibly huge) prompt and results is skipped rather than indexed.
    tokens_of = {id(c): input_tokens(c.input) for kind, turn in transcript.events if kind == "turn" for c in turn}
    wanted: set[str] = set().union(*tokens_of.values()) if tokens_of else set()
    seen: set[str] = set()
    origin: dict[str, str] = {}
    data_deps: dict[str, dict[str, str]] = {}
    runs: list[list[list[Call]]] = []
    run: list[list[Call]] = []
    for kind, payload in transcript.events:
        if kind == "text":
            seen |= text_tokens(payload, wanted)
            for path in set(_PY_PATH.findall(payload or "")):  # a path named in the prompt: its module name is known
                seen |= _module_names(path.lower()) & wanted
        elif kind == "turn":
            for call in payload:
                deps: dict[str, str] = {}
                for token in sorted(tokens_of[id(call)], key=lambda t: (-len(t), t)):
                    source = origin.get(token)
                    if source is not None and source != call.id:
                        deps.setdefault(source, token)
                data_deps[call.id] = deps
            for call in payload:
                seen |= tokens_of[id(call)]
            run.append(payload)
        elif kind == "results":
            for call in payload:
                for token in text_tokens(call.result, wanted):
                    if token not in seen:
                        origin[token] = call.id
                        seen.add(token)
        elif kind == "break" and run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs, data_deps


def find_groups(transcript: Transcript) -> tuple[list[Group], dict[str, dict[str, str]]]:
    """Walk the transcript once; return the greedy groups and each call's data dependencies.

    The dependency map is ``{call_id: {earlier_call_id: token}}`` (the token that links them).
    """
    runs, data_deps = _data_dependencies(transcript)
    effects_of = {c.id: effects(c) for c in transcript.calls.values()}
    looping = {call.id for loop in find_loops(transcript) for call in loop}
    groups: list[Group] = []
    for run in runs:
        current = Group([run[0]])
        index = _GroupIndex(data_deps, effects_of, looping)
        index.add_turn(run[0])
        for turn in run[1:]:
            reason = index.dependency(turn)
            if reason is None:
                current.turns.append(turn)
                index.add_turn(turn)
                continue
            current.ended_by = reason
            groups.append(current)
            current = Group([turn])
            index = _GroupIndex(data_deps, effects_of, looping)
            index.add_turn(turn)
        groups.append(current)
    return groups, data_deps


def find_loops(transcript: Transcript, min_repeats: int = MIN_LOOP_REPEATS) -> list[list[Call]]:
    """Identical calls (same tool, same input) made in ``min_repeats`` or more consecutive turns.

    Each loop is the list of repeated calls, one per turn. A user message or a turn without tool
    calls ends every streak.
    """
    loops: list[list[Call]] = []
    active: dict[tuple[str, str], list[Call]] = {}

    def close(streaks: Iterable[list[Call]]) -> None:
        loops.extend(s for s in streaks if len(s) >= min_repeats)

    for kind, payload in transcript.events:
        if kind == "turn":
            following: dict[tuple[str, str], list[Call]] = {}
            for call in payload:
                key = call_key(call)
                if key not in following:
                    streak = active.pop(key, None) or []
                    streak.append(call)
                    following[key] = streak
            close(active.values())
            active = following
        elif kind == "break":
            close(active.values())
            active = {}
    close(active.values())
    return sorted(loops, key=lambda s: s[0].turn)


_NONE = float("inf")


def _path_prefixes(resource: str) -> list[str]:
    """Every ``p`` with ``resource.startswith(p + "/")``: the resource's ancestor paths."""
    return [resource[:i] for i, ch in enumerate(resource) if ch == "/"]


def _path_suffixes(resource: str) -> list[str]:
    """Every ``s`` with ``resource.endswith("/" + s)``: the resource's trailing sub-paths."""
    return [resource[i + 1 :] for i, ch in enumerate(resource) if ch == "/"]


class _GroupIndex:
    """What the calls of one group touch, so a new call is checked against all of them at once.

    Each table maps a key to the position of the *earliest* call in the group it applies to; a
    new call's dependency is on the earliest call that any rule links it to, and the reason is
    then worded by the same pairwise rules as :func:`conflict` (so the index only finds *which*
    call, never decides differently). Resource keys encode :func:`_overlap`: equal paths, one
    path below the other, or one path ending with the other.
    """

    def __init__(self, data_deps: dict[str, dict[str, str]], effects_of: dict[str, Effects], looping: set[str]) -> None:
        self.data_deps = data_deps
        self.effects_of = effects_of
        self.looping = looping  # ids of calls that are part of a loop of identical calls
        self.calls: list[Call] = []
        self.position: dict[str, int] = {}
        # "all" tables cover every call, "write" tables only the calls that write.
        self.first = {
            "barrier": _NONE,
            "observer": _NONE,
            "writer": _NONE,
            "resources_all": _NONE,
            "resources_write": _NONE,
        }
        self.touch: dict[str, dict[tuple[str, str], int]] = {"all": {}, "write": {}}
        self.nouns: dict[str, dict[str, int]] = {"all": {}, "write": {}, "bare_all": {}, "bare_write": {}}

    @staticmethod
    def _remember(table: dict[Any, int], key: Any, pos: int) -> None:
        if key not in table:
            table[key] = pos

    def add_turn(self, turn: list[Call]) -> None:
        for call in turn:
            pos = len(self.calls)
            self.calls.append(call)
            self.position.setdefault(call.id, pos)
            eff = self.effects_of[call.id]
            kinds = ("all", "write") if eff.writes else ("all",)
            for name, flag in (("barrier", eff.barrier), ("observer", eff.observes), ("writer", eff.writes)):
                if flag:
                    self.first[name] = min(self.first[name], pos)
            for kind in kinds:
                table = self.touch[kind]
                if eff.resources:
                    self.first[f"resources_{kind}"] = min(self.first[f"resources_{kind}"], pos)
                for res in eff.resources:
                    self._remember(table, ("=", res), pos)
                    for prefix in _path_prefixes(res):
                        self._remember(table, ("<", prefix), pos)
                    for suffix in _path_suffixes(res):
                        self._remember(table, (">", suffix), pos)
                for noun in eff.nouns:
                    self._remember(self.nouns[kind], noun, pos)
                    if not eff.resources:
                        self._remember(self.nouns[f"bare_{kind}"], noun, pos)

    def _earliest(self, call: Call) -> float:
        """Position of the earliest call in the group that ``call`` depends on (inf if none)."""
        eff = self.effects_of[call.id]
        if call.id in self.looping and self.calls:
            return 0  # a poll waits for what came before it: it never joins a batch
        best = _NONE
        for source in self.data_deps.get(call.id, {}):
            best = min(best, self.position.get(source, _NONE))
        best = min(best, self.first["barrier"])
        if eff.barrier and self.calls:
            return 0
        if eff.observes:
            best = min(best, self.first["writer"])
        if eff.writes:
            best = min(best, self.first["observer"])
        kind = "all" if eff.writes else "write"
        table = self.touch[kind]
        for res in eff.resources:
            if res == "*":
                best = min(best, self.first[f"resources_{kind}"])
            keys = [("=", res), ("<", res), (">", res), ("=", "*")]
            keys += [("=", other) for other in (*_path_prefixes(res), *_path_suffixes(res))]
            for key in keys:
                best = min(best, table.get(key, _NONE))
        nouns = self.nouns[f"bare_{kind}"] if eff.resources else self.nouns[kind]
        for noun in eff.nouns:
            best = min(best, nouns.get(noun, _NONE))
        return best

    def dependency(self, turn: list[Call]) -> dict[str, str] | None:
        """Why ``turn`` cannot join the group: the first of its calls that depends on a group call."""
        for call in turn:
            pos = self._earliest(call)
            if pos == _NONE:
                continue
            prior = self.calls[int(pos)]
            return {"tool_use_id": call.id, "depends_on": prior.id, "reason": self._reason(call, prior)}
        return None

    def _reason(self, call: Call, prior: Call) -> str:
        token = self.data_deps.get(call.id, {}).get(prior.id)
        if token is not None:
            return f"its input uses '{token}', which first appeared in the result of {prior.name} ({prior.id})"
        if call.id in self.looping:
            return f"it is one of a series of identical {call.name} calls: polling or a loop, not independent work"
        reason = conflict(prior, self.effects_of[prior.id], call, self.effects_of[call.id])
        return reason or f"it may depend on {prior.name} ({prior.id})"
