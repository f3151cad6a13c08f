"""Claude Code's settings file: merge SynapseAI's hook entries in, take them out again, lose nothing.

Split out of :mod:`synapse_ai.skill.install` (which copies the skill) because the settings file is
someone else's: it holds their own hooks, permissions and often API keys in ``env``. The rules:

* one ``synapse hook`` command serves two events: ``PostToolUseFailure`` (look a failure up in
  the knowledge base) and ``PostToolUse`` (the timing nudge, :mod:`synapse_ai.skill.nudge_hook`);
  each is one ``{"matcher": "*", "hooks": [...]}`` group appended to that event's list;
* invalid JSON, or a ``hooks`` value of the wrong type, stops everything before anything is written;
* the file is written the way its owner set it up: through a symlink (dotfile managers) to the
  link's target, atomically, with its permissions kept (a new file gets 0600);
* one backup per settings file (the file as it was before SynapseAI first changed it); removing
  our entries restores those exact bytes when nothing else changed, and deletes the backup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synapse_ai.kb.errors import UserError

FAILURE_EVENT = "PostToolUseFailure"
NUDGE_EVENT = "PostToolUse"
EVENTS = (FAILURE_EVENT, NUDGE_EVENT)
TIMEOUT_S = {FAILURE_EVENT: 10, NUDGE_EVENT: 5}  # seconds Claude Code waits before giving up on the hook
# Settings files may hold secrets (Claude Code's "env" block): a file we create is private.
NEW_SETTINGS_MODE = 0o600
_LABEL = {FAILURE_EVENT: "the PostToolUseFailure hook", NUDGE_EVENT: "the PostToolUse nudge"}


def is_our_hook(hook: Any) -> bool:
    """A ``{"type": "command", "command": ".../synapse hook"}`` entry, whatever the path."""
    if not isinstance(hook, dict) or hook.get("type") != "command" or not isinstance(hook.get("command"), str):
        return False
    try:
        words = shlex.split(hook["command"])
    except ValueError:
        return False
    return len(words) == 2 and words[1] == "hook" and Path(words[0]).name in ("synapse", "synapse.exe")


def load_settings(path: Path) -> dict[str, Any]:
    """The settings object, ``{}`` when the file is missing or empty; UserError when unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}; nothing was changed") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "fix it and run the command again. Nothing was changed."
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object at the top level; nothing was changed")
    hooks = data.get("hooks")
    if hooks is not None and not isinstance(hooks, dict):
        raise UserError(f"'hooks' in {path} is not an object; nothing was changed")
    for event in EVENTS:
        if isinstance(hooks, dict) and hooks.get(event) is not None and not isinstance(hooks[event], list):
            raise UserError(f"'hooks.{event}' in {path} is not a list; nothing was changed")
    return data


def _backup_note(backup: Path | None) -> str:
    return f" (backup: {backup})" if backup else ""


def _settings_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step, through a symlink, keeping the file's mode.

    A symlinked settings file (stow, chezmoi, yadm) stays a link: the link's target is what gets
    replaced. The new content is written to a temporary file in the target's folder and renamed
    over it, so a crash leaves the old or the new file, never half of one. The old file's
    permission bits are kept; a new file gets :data:`NEW_SETTINGS_MODE`.
    """
    real = Path(os.path.realpath(path))
    real.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = real.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_SETTINGS_MODE
    fd, tmp_name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".synapse-tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, real)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise


def _backups_of(path: Path, folder: Path) -> list[Path]:
    """Our backups of ``path`` in ``folder``, oldest first."""
    return sorted(folder.glob(f"{_backup_stem(path, folder)}.bak-*")) if folder.is_dir() else []


def _backup_stem(path: Path, folder: Path) -> str:
    """``settings.json`` next to the file; elsewhere the name also says which project it is from."""
    if folder == path.parent:
        return path.name
    digest = hashlib.sha256(str(path.absolute()).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{path.parent.parent.name}-{digest}-{path.name}"


def _backup(path: Path, folder: Path) -> Path | None:
    """Keep one backup per settings file: the file as it was before SynapseAI first changed it.

    Returns the new backup, or None when the file does not exist or a backup is already kept.
    """
    if not path.exists() or _backups_of(path, folder):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    backup = folder / f"{_backup_stem(path, folder)}.bak-{time.strftime('%Y%m%d-%H%M%S')}"
    shutil.copy2(path, backup)  # copy2 follows a symlink and keeps the mode (0600 stays 0600)
    return backup


def _write_settings(path: Path, data: dict[str, Any], backups: Path | None = None) -> Path | None:
    """Back up the file once (see :func:`_backup`), then replace it atomically; return the backup."""
    backup = _backup(path, backups or path.parent)
    _write_atomically(path, _settings_text(data))
    return backup


def _ours(groups: Any) -> list[dict[str, Any]]:
    return [h for g in (groups or []) if isinstance(g, dict) for h in (g.get("hooks") or []) if is_our_hook(h)]


def _labels(events: Sequence[str]) -> str:
    return " and ".join(_LABEL[e] for e in events)


def add_hooks(path: Path, command: str, events: Sequence[str] = EVENTS, backups: Path | None = None) -> str:
    """Register ``command`` for each of ``events`` (and drop our entry from the other events); idempotent."""
    data = load_settings(path)
    if data.get("hooks") is None:
        data["hooks"] = {}
    hooks = data["hooks"]
    unwanted = [e for e in EVENTS if e not in events and _ours(hooks.get(e))]
    current = all(_ours(hooks.get(e)) and all(h["command"] == command for h in _ours(hooks.get(e))) for e in events)
    if current and not unwanted:
        what = _labels(events)
        return f"{what[0].upper()}{what[1:]} {'is' if len(events) == 1 else 'are'} already registered in {path}."
    verb = "Registered"
    for event in events:
        if hooks.get(event) is None:
            hooks[event] = []
        ours = _ours(hooks[event])
        if ours:
            verb = "Updated" if any(h["command"] != command for h in ours) else verb
            for hook in ours:
                hook["command"] = command
        else:
            hooks[event].append(
                {"matcher": "*", "hooks": [{"type": "command", "command": command, "timeout": TIMEOUT_S[event]}]}
            )
    for event in unwanted:
        _drop(hooks, event)
    backup = _write_settings(path, data, backups)
    dropped = f"; removed {_labels(unwanted)}" if unwanted else ""
    return f"{verb} {_labels(events)} ({command}) in {path}{dropped}{_backup_note(backup)}."


def remove_hooks(path: Path, backups: Path | None = None) -> str | None:
    """Remove only our hook entries (and containers they leave empty); None when there were none."""
    if not path.exists():
        return None
    data = load_settings(path)
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return None
    removed = [event for event in EVENTS if _drop(hooks, event)]
    if not removed:
        return None
    if not hooks:
        del data["hooks"]
    return _restore_or_write(path, data, backups or path.parent, _labels(removed))


def _drop(hooks: dict[str, Any], event: str) -> int:
    """Take our entries out of ``hooks[event]``; return how many there were."""
    groups = hooks.get(event)
    if not isinstance(groups, list) or not groups:
        return 0
    removed = 0
    kept_groups = []
    for group in groups:
        inner = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(inner, list):
            kept_groups.append(group)
            continue
        remaining = [h for h in inner if not is_our_hook(h)]
        removed += len(inner) - len(remaining)
        if remaining or len(remaining) == len(inner):
            kept_groups.append({**group, "hooks": remaining})
    if removed:
        if kept_groups:
            hooks[event] = kept_groups
        else:
            del hooks[event]
    return removed


def _restore_or_write(path: Path, data: dict[str, Any], backups: Path, what: str) -> str:
    """Write the settings left after removing our hook, leaving nothing of ours behind.

    * The result equals our backup (the file before SynapseAI touched it): the backup's bytes go
      back, so the original formatting returns too, and the backup is deleted.
    * The result is ``{}`` and there is no backup (SynapseAI created the file): the file goes.
    * Otherwise (the user changed other settings since): write the result, keep the backup.
    """
    kept = _backups_of(path, backups)
    original = None
    if kept:
        try:
            original = kept[0].read_text(encoding="utf-8")
            same = (json.loads(original) if original.strip() else {}) == data
        except (OSError, ValueError):
            same = False
        if same:
            _write_atomically(path, original)
            for backup in kept:
                backup.unlink()
            return f"Removed {what} from {path} (restored as it was before SynapseAI changed it)."
    elif not data and not path.is_symlink():  # a link was set up by its owner: keep it and its target
        path.unlink()
        return f"Removed {what} and {path}, which SynapseAI had created."
    _write_atomically(path, _settings_text(data))
    note = f" (the backup from before SynapseAI's first change is kept: {kept[0]})" if kept else ""
    return f"Removed {what} from {path}{note}."
