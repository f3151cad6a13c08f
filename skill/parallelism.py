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
  that is not plainly read-only is treated as touching everything.

Consecutive tool-calling turns are then grouped greedily: a turn joins the current group unless
one of its calls depends on a call in the group. A group spanning k turns could have been one
turn, saving k - 1 model round trips. This is deliberately conservative: a missed dependency
would make the advice wrong, a missed opportunity only makes it incomplete.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from .transcript import Call, Transcript

__all__ = ["Effects", "effects", "find_groups", "input_tokens", "text_tokens"]

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
_CHUNK = re.compile(r"[^\s\"'`<>()\[\]{},;|]+")
_SPLIT = re.compile(r"[/\\?&=#:@]+")
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
_READONLY_GIT = frozenset("status log diff show branch rev-parse ls-files blame grep describe remote config".split())
_FILE_WRITERS = frozenset("touch mkdir rm rmdir cp mv tee ln chmod chown truncate".split())
_READONLY_SQL = frozenset("select show describe desc explain pragma with".split())
_SQL_WORDS = _READONLY_SQL | frozenset("insert update delete create drop alter replace truncate merge".split())
_UPLOAD_FLAGS = frozenset("-X --request -d --data --data-raw -F --form -T --upload-file -o -O".split())
_REDIRECT = re.compile(r"(?<![0-9&<])(>>?)\s*([^\s;&|]+)")


# --------------------------------------------------------------------------- tokens


def _trivial(token: str) -> bool:
    return len(token) < 3 or token in _STOPWORDS or not any(ch.isalnum() for ch in token)


def text_tokens(text: str) -> set[str]:
    """Lower-cased tokens of free text: whole chunks (paths, URLs, ids) and their path parts."""
    out: set[str] = set()
    for raw in _CHUNK.findall(text or ""):
        chunk = raw.rstrip(".:;!?*").lstrip(":;!?*").lower()
        if not _trivial(chunk):
            out.add(chunk)
        for part in _SPLIT.split(chunk):
            part = part.strip(".")
            if not _trivial(part):
                out.add(part)
    return out


def input_tokens(value: Any) -> set[str]:
    """Tokens of a tool input's values (keys are schema, not data, so they are skipped)."""
    out: set[str] = set()
    for leaf in _leaves(value):
        if isinstance(leaf, str):
            whole = leaf.strip().lower()
            if 2 < len(whole) <= 200 and not _trivial(whole):
                out.add(whole)
            out |= text_tokens(leaf)
        elif isinstance(leaf, (int, float)) and not isinstance(leaf, bool):
            token = str(leaf)
            if not _trivial(token):
                out.add(token)
    return out


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
    """What a call touches: ``resources`` it names, whether it ``writes``, and ``barrier`` for
    commands whose effects cannot be read from the input (they conflict with everything)."""

    writes: bool = False
    barrier: bool = False
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
    if command is not None and decided is None:
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


def find_groups(transcript: Transcript) -> tuple[list[Group], dict[str, dict[str, str]]]:
    """Walk the transcript once; return the greedy groups and each call's data dependencies.

    The dependency map is ``{call_id: {earlier_call_id: token}}`` (the token that links them).
    """
    seen: set[str] = set()
    origin: dict[str, str] = {}
    data_deps: dict[str, dict[str, str]] = {}
    runs: list[list[list[Call]]] = []
    run: list[list[Call]] = []
    for kind, payload in transcript.events:
        if kind == "text":
            seen |= text_tokens(payload)
        elif kind == "turn":
            tokens_by_call = {call.id: input_tokens(call.input) for call in payload}
            for call in payload:
                deps: dict[str, str] = {}
                for token in sorted(tokens_by_call[call.id], key=lambda t: (-len(t), t)):
                    source = origin.get(token)
                    if source is not None and source != call.id:
                        deps.setdefault(source, token)
                data_deps[call.id] = deps
            for toks in tokens_by_call.values():
                seen |= toks
            run.append(payload)
        elif kind == "results":
            for call in payload:
                for token in text_tokens(call.result):
                    if token not in seen:
                        origin[token] = call.id
                        seen.add(token)
        elif kind == "break" and run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)

    effects_of = {c.id: effects(c) for c in transcript.calls.values()}
    groups: list[Group] = []
    for run in runs:
        current = Group([run[0]])
        for turn in run[1:]:
            reason = _dependency(turn, current.calls, data_deps, effects_of)
            if reason is None:
                current.turns.append(turn)
                continue
            current.ended_by = reason
            groups.append(current)
            current = Group([turn])
        groups.append(current)
    return groups, data_deps


def _dependency(
    turn: list[Call],
    earlier: list[Call],
    data_deps: dict[str, dict[str, str]],
    effects_of: dict[str, Effects],
) -> dict[str, str] | None:
    for call in turn:
        for prior in earlier:
            token = data_deps.get(call.id, {}).get(prior.id)
            if token is not None:
                reason = f"its input uses '{token}', which first appeared in the result of {prior.name} ({prior.id})"
            else:
                reason = conflict(prior, effects_of[prior.id], call, effects_of[call.id])
            if reason is not None:
                return {"tool_use_id": call.id, "depends_on": prior.id, "reason": reason}
    return None
