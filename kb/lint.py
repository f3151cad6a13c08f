"""``synapse lint``: every problem in every entry file, with file and line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synapse_ai.kb.model import Entry
    from synapse_ai.kb.parse import Problem


def entry_files(paths: list[Path]) -> list[Path]:
    """Expand directories to their ``*.md`` entry files (``README.md`` is documentation, not an entry)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.md") if p.name != "README.md"))
        else:
            files.append(path)
    return files


def _missing(path: Path) -> str | None:
    """Why ``path`` cannot be opened at all (a missing file, a dangling or looping symlink), else None."""
    try:
        path.stat()
        return None
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
    if path.is_symlink():
        return f"symbolic link that leads nowhere ({reason})"
    return reason


def load_entry(path: Path) -> tuple[Entry | None, list[Problem]]:
    """Read and parse one entry file: the entry, or what is wrong with it as problems with file and
    line.  Never raises for a bad file (one odd file is reported and skipped, never aborts a run);
    ``synapse lint`` and the indexer both read entries through it."""
    from synapse_ai.kb.parse import EntryError, Problem, read_entry

    try:
        return read_entry(path), []  # never blocks: a FIFO, socket or directory is a problem
    except EntryError as exc:
        return None, [Problem(p.line, p.message, str(path)) for p in exc.problems]
    except OSError as exc:
        return None, [Problem(0, f"cannot read: {exc.strerror or exc}", str(path))]
    except Exception as exc:  # noqa: BLE001 - a parser bug on one file is reported, not raised
        return None, [Problem(0, f"cannot parse: {type(exc).__name__}: {exc}"[:300], str(path))]


def duplicate_slug(first_seen: dict[str, Path], slug: str, path: Path) -> Problem | None:
    """Record ``path`` as where ``slug`` was first read; the problem if an earlier file has it."""
    from synapse_ai.kb.parse import Problem

    if slug in first_seen:
        return Problem(2, f"duplicate slug '{slug}' (also in {first_seen[slug]})", str(path))
    first_seen[slug] = path
    return None


def _field_line(path: Path, name: str) -> int:
    """The line of front-matter field ``name`` in ``path`` (1 when not found)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 1
    return next((i for i, line in enumerate(lines, start=1) if line.startswith(f"{name}:")), 1)


def lint_paths(paths: list[Path], stale_days: int | None = None) -> tuple[int, list]:
    """Return (number of files checked, problems).  Duplicate slugs are reported on every file but the first.

    Beyond the format (``synapse_ai.kb.parse``), code may only name Claude models the installed SDK lists as
    current, and with ``stale_days`` an entry not re-verified within that many days is a problem too.
    """
    from synapse_ai.kb.freshness import is_stale, model_problems, specificity_problems
    from synapse_ai.kb.parse import Problem

    problems: list[Problem] = []
    first_seen: dict[str, Path] = {}
    files = entry_files(paths)
    for path in files:
        missing = _missing(path)
        if missing:
            problems.append(Problem(0, missing, str(path)))
            continue
        entry, unreadable = load_entry(path)
        if entry is None:
            problems.extend(unreadable)
            continue
        problems.extend(Problem(line, message, str(path)) for line, message in model_problems(entry))
        problems.extend(
            Problem(_field_line(path, name), message, str(path)) for name, message in specificity_problems(entry)
        )
        if stale_days is not None and is_stale(entry, stale_days):
            when = f"last verified {entry.verified.on.isoformat()}" if entry.verified else "never verified"
            problems.append(
                Problem(
                    1, f"stale: {when}; re-check the facts and update 'verified' (--stale-days {stale_days})", str(path)
                )
            )
        duplicate = duplicate_slug(first_seen, entry.slug, path)
        if duplicate:
            problems.append(duplicate)
    return len(files), problems
