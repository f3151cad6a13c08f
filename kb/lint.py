"""``synapse lint``: every problem in every entry file, with file and line."""

from __future__ import annotations

from pathlib import Path



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
    from synapse_ai.kb.parse import EntryError, Problem, read_entry

    problems: list[Problem] = []
    first_seen: dict[str, Path] = {}
    files = entry_files(paths)
    for path in files:
        missing = _missing(path)
        if missing:
            problems.append(Problem(0, missing, str(path)))
            continue
        try:
            entry = read_entry(path)  # never blocks: a FIFO, socket or directory is a problem
        except EntryError as exc:
            problems.extend(Problem(p.line, p.message, str(path)) for p in exc.problems)
            continue
        except OSError as exc:
            problems.append(Problem(0, f"cannot read: {exc.strerror or exc}", str(path)))
            continue
        problems.extend(Problem(line, message, str(path)) for line, message in model_problems(entry))
        problems.extend(Problem(_field_line(path, name), message, str(path)) for name, message in specificity_problems(entry))
        if stale_days is not None and is_stale(entry, stale_days):
            when = f"last verified {entry.verified.on.isoformat()}" if entry.verified else "never verified"
            problems.append(Problem(1, f"stale: {when}; re-check the facts and update 'verified' (--stale-days {stale_days})", str(path)))
        if entry.slug in first_seen:
            problems.append(Problem(2, f"duplicate slug '{entry.slug}' (also in {first_seen[entry.slug]})", str(path)))
        else:
            first_seen[entry.slug] = path
    return len(files), problems
