"""``synapse skill install``: put the Agent Skill where an agent finds it, optionally with the hook.

Why this is more than a copy: users run it again after every upgrade, and it writes into folders
and a settings file that also hold other people's work. So it

* recognises its own install by a marker file listing the SHA-256 of every file it wrote, and says
  "already up to date" when nothing changed;
* refuses to replace a folder of the same name that it did not write, or that was edited after it
  wrote it, unless ``--force`` (and then moves the old folder to the SynapseAI data directory
  instead of deleting it);
* edits Claude Code's settings file by merging its hook entries (``PostToolUseFailure`` lookup and,
  unless ``--no-nudge``, the ``PostToolUse`` timing nudge), keeping everything else; invalid JSON
  there stops the whole command before anything is written; ``--uninstall`` removes only the
  entries it recognises as its own (the settings-file rules live in :mod:`.hook_settings`);
* removes, on uninstall, any file, skills folder, settings file or backup it created.

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

from .hook_settings import (  # noqa: F401 - re-exported: the settings-file side lives there
    EVENTS,
    FAILURE_EVENT,
    NUDGE_EVENT,
    add_hooks,
    is_our_hook,
    load_settings,
    remove_hooks,
)

HOOK_EVENT = FAILURE_EVENT  # re-exported under the name the install tests and callers use
SKILL_NAME = "synapse-ai"
BUNDLE_DIR = Path(__file__).resolve().parent / "bundle" / SKILL_NAME
MARKER = ".synapse-install.json"
INSTALLER_ID = "synapse-ai"
NAMED_TARGETS = ("claude", "claude-project", "openclaw")


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
        return (
            f"Updated skill '{SKILL_NAME}' at {dest} ({len(changed)} file{'s' if len(changed) != 1 else ''} changed)."
        )
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
    help="Also register 'synapse hook' in Claude Code's settings (claude: ~/.claude/settings.json; "
    "claude-project: ./.claude/settings.local.json, the per-user file that is not committed): as a "
    "PostToolUseFailure hook, so failed tool calls are looked up automatically, and as a PostToolUse hook "
    "that notes independent tool calls made one per turn (see --no-nudge).",
)
@click.option(
    "--no-nudge",
    is_flag=True,
    help="With --with-hook: register only the PostToolUseFailure lookup, not the PostToolUse timing nudge "
    "(a one-time note when independent tool calls go out one per turn; removed again if it was registered).",
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
def install_command(target: str, with_hook: bool, no_nudge: bool, uninstall: bool, force: bool, no_index: bool) -> None:
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
            click.echo(remove_hooks(where.settings, where.backups) or f"No SynapseAI hook in {where.settings}.")
            if where.legacy_settings is not None and where.legacy_settings.is_file():
                # Older versions registered the project hook in the shared, committed file.
                legacy = remove_hooks(where.legacy_settings, where.backups)
                if legacy:
                    click.echo(legacy)
        if not where.dest.exists():
            remove_empty_dirs(made)
        return
    if with_hook:
        load_settings(where.settings)  # invalid JSON: stop before the skill is written
    click.echo(install_skill(where.dest, force))
    if with_hook:
        events = (FAILURE_EVENT,) if no_nudge else EVENTS
        click.echo(add_hooks(where.settings, hook_command_line(), events, where.backups))
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
                click.echo(
                    f"synapse: warning: could not build the search index ({message}); "
                    "the hook stays silent until 'synapse index' succeeds.",
                    err=True,
                )
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
