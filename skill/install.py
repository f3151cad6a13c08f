"""``synapse skill install``: put the Agent Skill where an agent finds it, optionally with the hook.

Why this is more than a copy: users run it again after every upgrade, and it writes into folders
and a settings file that also hold other people's work. So it

* recognises its own install by a marker file listing the SHA-256 of every file it wrote, and says
  "already up to date" when nothing changed;
* refuses to replace a folder of the same name that it did not write, or that was edited after it
  wrote it, unless ``--force`` (and then moves the old folder to the SynapseAI data directory
  instead of deleting it);
* edits Claude Code's settings file by merging one hook entry, keeping everything else; invalid
  JSON there stops the whole command before anything is written; ``--uninstall`` removes only the
  entries it recognises as its own;
* writes that file the way its owner set it up: through a symlink (dotfile managers) to the
  link's target, atomically, with the file's permissions kept (new files get 0600, because
  Claude Code settings often carry API keys in ``env``);
* keeps one backup per settings file (the file as it was before SynapseAI first changed it) and
  removes it again, with any file, skills folder or settings file it created, on uninstall.

Targets: ``claude`` (``~/.claude/skills``, hook in ``~/.claude/settings.json``), ``claude-project``
(``./.claude/skills``, hook in ``./.claude/settings.local.json``, Claude Code's per-user file that
is not committed: the hook command holds an absolute path valid on this machine only),
``openclaw`` (``~/.openclaw/skills``) or any directory. The skill always lands in
``<root>/synapse-ai/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from synapse_ai.kb.errors import UserError

SKILL_NAME = "synapse-ai"
BUNDLE_DIR = Path(__file__).resolve().parent / "bundle" / SKILL_NAME
MARKER = ".synapse-install.json"
INSTALLER_ID = "synapse-ai"
HOOK_EVENT = "PostToolUseFailure"
HOOK_TIMEOUT_S = 10
NAMED_TARGETS = ("claude", "claude-project", "openclaw")
# Settings files may hold secrets (Claude Code's "env" block): a file we create is private.
NEW_SETTINGS_MODE = 0o600


@dataclass(frozen=True)
class Target:
    """Where the skill goes and, for Claude Code targets, which settings file gets the hook.

    ``backups`` is the folder for the settings backup: next to the file for the personal
    scope, the SynapseAI data directory for a project (never inside the repository).
    ``legacy_settings`` is where older versions put the project hook (``settings.json``, a
    committed file); uninstall cleans it up too.
    """

    label: str
    skills_root: Path
    settings: Path | None
    backups: Path | None = None
    legacy_settings: Path | None = None

    @property
    def dest(self) -> Path:
        return self.skills_root / SKILL_NAME


def resolve_target(value: str) -> Target:
    """Map ``--target`` to paths; anything that is not a known name is a directory."""
    home, cwd = Path.home(), Path.cwd()
    if value == "claude":
        claude = home / ".claude"
        return Target("claude", claude / "skills", claude / "settings.json", claude)
    if value == "claude-project":
        claude = cwd / ".claude"
        return Target(
            "claude-project", claude / "skills", claude / "settings.local.json", _backup_dir(), claude / "settings.json"
        )
    if value == "openclaw":
        return Target("openclaw", home / ".openclaw" / "skills", None)
    return Target("directory", (cwd / Path(value).expanduser()).resolve(), None)


# ---------------------------------------------------------------------------------- skill files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tree_hashes(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 for every file under ``root`` (not the marker, not caches)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.as_posix() == MARKER or "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        if path.is_file():
            out[rel.as_posix()] = _sha256(path.read_bytes())
    return out


def bundle_hashes() -> dict[str, str]:
    return _tree_hashes(BUNDLE_DIR)


def _read_marker(dest: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((dest / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and data.get("installer") == INSTALLER_ID and isinstance(data.get("files"), dict)
    return data if ok else None


def skill_state(dest: Path) -> str:
    """One of ``absent``, ``current``, ``outdated`` (ours, unmodified), ``modified`` (ours, edited
    since), ``foreign`` (not written by us)."""
    if not dest.exists() and not dest.is_symlink():
        return "absent"
    if dest.is_symlink() or not dest.is_dir():
        return "foreign"
    present = _tree_hashes(dest)
    if present == bundle_hashes():
        return "current"
    marker = _read_marker(dest)
    if marker is None:
        return "foreign"
    return "outdated" if present == marker["files"] else "modified"


def _write_marker(dest: Path, created_dirs: list[str] | None = None) -> None:
    """The marker: installer, version, file hashes, and the folders the install had to create
    (so uninstall can remove them again when they are empty)."""
    from synapse_ai.kb import __version__

    marker: dict[str, Any] = {"installer": INSTALLER_ID, "version": __version__, "files": bundle_hashes()}
    if created_dirs:
        marker["created_dirs"] = created_dirs
    (dest / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def created_dirs(dest: Path) -> list[Path]:
    """Folders the install of ``dest`` created (deepest first), as recorded in its marker."""
    marker = _read_marker(dest) if dest.is_dir() and not dest.is_symlink() else None
    listed = marker.get("created_dirs") if marker else None
    if not isinstance(listed, list):
        return []
    return [Path(d) for d in listed if isinstance(d, str)]


def remove_empty_dirs(folders: list[Path]) -> None:
    """Remove each folder that is empty now, deepest first; a folder with anything in it stays."""
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass


def _backup_dir() -> Path:
    from synapse_ai.kb.paths import data_dir

    return data_dir() / "backups"


def _move_aside(path: Path) -> Path:
    """Move a folder we must not delete into the data directory; return where it went."""
    target_dir = _backup_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = target_dir / f"{path.name}-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = target_dir / f"{path.name}-{stamp}-{n}"
    shutil.move(str(path), str(target))
    return target


def _copy_bundle(dest: Path) -> None:
    """Copy the bundle next to ``dest`` first, then swap it in, so a failure leaves no half skill."""
    made = [str(d) for d in created_dirs(dest)]  # an update keeps what the first install recorded
    for folder in (dest.parent, *dest.parent.parents):
        if folder.exists():
            break
        made.append(str(folder))
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{SKILL_NAME}.new-", dir=dest.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes 0700; a skill folder is an ordinary folder
        shutil.copytree(
            BUNDLE_DIR, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", MARKER)
        )
        _write_marker(staging, made)
        old = None
        if dest.exists():
            old = dest.with_name(f".{SKILL_NAME}.old-{os.getpid()}-{int(time.time())}")
            dest.rename(old)
        try:
            staging.rename(dest)
        except OSError:
            if old is not None:
                old.rename(dest)  # put the previous install back
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def install_skill(dest: Path, force: bool = False) -> str:
    """Install or update the bundle at ``dest``; return the sentence saying what happened."""
    state = skill_state(dest)
    if state == "current":
        if _read_marker(dest) is None:
            _write_marker(dest)  # an identical manual copy: adopt it so uninstall recognises it
        return f"Skill '{SKILL_NAME}' at {dest} is already up to date."
    if state == "absent":
        _copy_bundle(dest)
        count = len(bundle_hashes())
        return f"Installed skill '{SKILL_NAME}' ({count} file{'s' if count != 1 else ''}) to {dest}."
    if state == "outdated":
        old = _read_marker(dest) or {"files": {}}
        new = bundle_hashes()
        changed = sorted(p for p in set(new) | set(old["files"]) if new.get(p) != old["files"].get(p))
        _copy_bundle(dest)
        return f"Updated skill '{SKILL_NAME}' at {dest} ({len(changed)} file{'s' if len(changed) != 1 else ''} changed)."
    why = "was edited after SynapseAI installed it" if state == "modified" else "was not installed by SynapseAI"
    if not force:
        raise UserError(
            f"{dest} already exists and {why}; nothing was changed. "
            f"Use --force to replace it (the old folder is kept in {_backup_dir()})."
        )
    kept = _move_aside(dest)
    _copy_bundle(dest)
    return f"Replaced {dest}, which {why}, with skill '{SKILL_NAME}'; the old folder was moved to {kept}."


def uninstall_skill(dest: Path, force: bool = False) -> str:
    state = skill_state(dest)
    if state == "absent":
        return f"Skill '{SKILL_NAME}' is not installed at {dest}; nothing to remove."
    if state in ("current", "outdated"):
        shutil.rmtree(dest)
        return f"Removed skill '{SKILL_NAME}' from {dest}."
    why = "was edited after SynapseAI installed it" if state == "modified" else "was not installed by SynapseAI"
    if not force:
        raise UserError(
            f"{dest} {why}; not removing it. Use --force to remove it anyway (it is moved to {_backup_dir()})."
        )
    kept = _move_aside(dest)
    return f"Moved {dest} ({why}) to {kept}."


# ---------------------------------------------------------------------------------- settings.json


def synapse_executable() -> Path | None:
    """The ``synapse`` script of the installation that is running this command.

    Not the first ``synapse`` on PATH: that may belong to another virtualenv or be something
    else entirely. ``sys.argv[0]`` is the script itself when run as ``synapse``; otherwise the
    script next to the running interpreter (its environment's scripts folder).
    """
    names = ("synapse.exe", "synapse") if os.name == "nt" else ("synapse",)
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name in names and argv0.is_file():
        return argv0.resolve()
    for name in names:
        # with_name on the unresolved path: a venv's python is a symlink to the base interpreter
        candidate = Path(sys.executable).absolute().with_name(name)
        if candidate.is_file():
            return candidate.resolve()
    return None


def hook_command_line() -> str:
    """``synapse hook`` with the absolute path of this installation's ``synapse``, when known.

    Claude Code runs hooks in a shell whose PATH may lack the virtualenv synapse lives in, so an
    absolute path keeps the hook working; a bare ``synapse`` is the fallback.
    """
    exe = synapse_executable()
    return f"{shlex.quote(str(exe))} hook" if exe else "synapse hook"


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
    if isinstance(hooks, dict) and hooks.get(HOOK_EVENT) is not None and not isinstance(hooks[HOOK_EVENT], list):
        raise UserError(f"'hooks.{HOOK_EVENT}' in {path} is not a list; nothing was changed")
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


def add_hook(path: Path, command: str, backups: Path | None = None) -> str:
    """Merge our PostToolUseFailure hook into ``path``; idempotent."""
    data = load_settings(path)
    if data.get("hooks") is None:
        data["hooks"] = {}
    if data["hooks"].get(HOOK_EVENT) is None:
        data["hooks"][HOOK_EVENT] = []
    groups = data["hooks"][HOOK_EVENT]
    ours = [h for g in groups if isinstance(g, dict) for h in (g.get("hooks") or []) if is_our_hook(h)]
    if ours and all(h["command"] == command for h in ours):
        return f"The {HOOK_EVENT} hook is already registered in {path}."
    if ours:
        for hook in ours:
            hook["command"] = command
        verb = "Updated"
    else:
        groups.append({"matcher": "*", "hooks": [{"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}]})
        verb = "Registered"
    backup = _write_settings(path, data, backups)
    return f"{verb} the {HOOK_EVENT} hook ({command}) in {path}{_backup_note(backup)}."


def remove_hook(path: Path, backups: Path | None = None) -> str | None:
    """Remove only our hook entries (and containers they leave empty); None when there were none."""
    if not path.exists():
        return None
    data = load_settings(path)
    hooks = data.get("hooks")
    groups = hooks.get(HOOK_EVENT) if isinstance(hooks, dict) else None
    if not groups:
        return None
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
    if not removed:
        return None
    if kept_groups:
        hooks[HOOK_EVENT] = kept_groups
    else:
        del hooks[HOOK_EVENT]
        if not hooks:
            del data["hooks"]
    return _restore_or_write(path, data, backups or path.parent)


def _restore_or_write(path: Path, data: dict[str, Any], backups: Path) -> str:
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
            return f"Removed the {HOOK_EVENT} hook from {path} (restored as it was before SynapseAI changed it)."
    elif not data and not path.is_symlink():  # a link was set up by its owner: keep it and its target
        path.unlink()
        return f"Removed the {HOOK_EVENT} hook and {path}, which SynapseAI had created."
    _write_atomically(path, _settings_text(data))
    note = f" (the backup from before SynapseAI's first change is kept: {kept[0]})" if kept else ""
    return f"Removed the {HOOK_EVENT} hook from {path}{note}."


def ensure_index() -> str:
    """Build the search index now if needed: the hook only reads an existing one (it must be fast)."""
    from synapse_ai.kb.cli import open_kb

    kb = open_kb(None)
    try:
        return f"Search index ready ({len(kb.list_entries())} entries) at {kb.store.path}."
    finally:
        kb.close()


# ---------------------------------------------------------------------------------- commands


@click.group("skill", help="Install the SynapseAI Agent Skill (and optional Claude Code hook) into an agent.")
def skill_group() -> None:
    pass


@skill_group.command("install")
@click.option(
    "--target",
    "-t",
    default="claude",
    show_default=True,
    metavar="claude|claude-project|openclaw|DIR",
    help="Where to install: claude = ~/.claude/skills, claude-project = ./.claude/skills, "
    "openclaw = ~/.openclaw/skills, or any directory DIR (the skill goes into DIR/synapse-ai; "
    "write ./claude for a directory literally named 'claude').",
)
@click.option(
    "--with-hook",
    is_flag=True,
    help="Also register 'synapse hook' as a PostToolUseFailure hook in Claude Code's settings "
    "(claude: ~/.claude/settings.json; claude-project: ./.claude/settings.local.json, the per-user "
    "file that is not committed), so failed tool calls are looked up automatically.",
)
@click.option(
    "--uninstall",
    is_flag=True,
    help="Remove the skill from the target, our hook entry from its settings file if present, and "
    "anything the install created (settings file, backup, empty skills folder).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace (or remove) a folder named synapse-ai that SynapseAI did not write or that was "
    "edited since; the old folder is moved to the SynapseAI data directory, not deleted.",
)
@click.option(
    "--no-index",
    is_flag=True,
    help="With --with-hook: do not build the search index now (the hook stays silent until "
    "'synapse index' or a first 'synapse search' has built it).",
)
def install_command(target: str, with_hook: bool, uninstall: bool, force: bool, no_index: bool) -> None:
    """Install the SynapseAI skill so the agent can look up fixes for errors and slowdowns."""
    where = resolve_target(target)
    if where.skills_root.exists() and not where.skills_root.is_dir():
        raise UserError(f"{where.skills_root} exists and is not a directory")
    if with_hook and where.settings is None:
        raise UserError(
            f"--with-hook registers a Claude Code hook; use --target claude or claude-project (not '{target}')"
        )
    if uninstall:
        if where.settings is not None:
            load_settings(where.settings)  # fail on a broken settings file before touching anything
        made = created_dirs(where.dest)
        click.echo(uninstall_skill(where.dest, force))
        if where.settings is not None:
            click.echo(remove_hook(where.settings, where.backups) or f"No SynapseAI hook in {where.settings}.")
            if where.legacy_settings is not None and where.legacy_settings.is_file():
                # Older versions registered the project hook in the shared, committed file.
                legacy = remove_hook(where.legacy_settings, where.backups)
                if legacy:
                    click.echo(legacy)
        if not where.dest.exists():
            remove_empty_dirs(made)
        return
    if with_hook:
        load_settings(where.settings)  # invalid JSON: stop before the skill is written
    click.echo(install_skill(where.dest, force))
    if with_hook:
        click.echo(add_hook(where.settings, hook_command_line(), where.backups))
        if where.label == "claude-project" and not _git_ignores(where.settings):
            click.echo(
                f"synapse: note: {where.settings.name} holds a path valid on this machine only and git does "
                f"not ignore it here; add '.claude/{where.settings.name}' to .gitignore so it is never committed.",
                err=True,
            )
        if not no_index:
            try:
                click.echo(ensure_index())
            except Exception as exc:  # noqa: BLE001 - the install itself succeeded
                message = exc.message if isinstance(exc, click.ClickException) else str(exc)
                click.echo(f"synapse: warning: could not build the search index ({message}); "
                           "the hook stays silent until 'synapse index' succeeds.", err=True)
    if where.label == "directory":
        click.echo("Start a new session of the agent that reads this folder to load the skill.")
    else:
        agent = "OpenClaw" if where.label == "openclaw" else "Claude Code"
        click.echo(f"Start a new {agent} session to load the skill.")


def _git_ignores(path: Path) -> bool:
    """True unless ``path`` is inside a git work tree that would not ignore it.

    Outside a repository, or without git, there is nothing to warn about.
    """
    try:
        result = subprocess.run(
            ["git", "-C", str(path.parent), "check-ignore", "-q", "--no-index", str(path)],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return True
    # 0 = ignored, 1 = not ignored, 128 = not a repository (or another git error)
    return result.returncode != 1


@skill_group.command("path")
def path_command() -> None:
    """Print the folder of the bundled skill (to copy or link it by hand)."""
    click.echo(str(BUNDLE_DIR))
