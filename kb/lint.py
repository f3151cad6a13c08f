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


def lint_paths(paths: list[Path]) -> tuple[int, list]:
    """Return (number of files checked, problems).  Duplicate slugs are reported on every file but the first."""
    from kb.parse import EntryError, Problem, read_entry

    problems: list[Problem] = []
    first_seen: dict[str, Path] = {}
    files = entry_files(paths)
    for path in files:
        if not path.exists():
            problems.append(Problem(0, "no such file or directory", str(path)))
            continue
        try:
            entry = read_entry(path)
        except EntryError as exc:
            problems.extend(Problem(p.line, p.message, str(path)) for p in exc.problems)
            continue
        except OSError as exc:
            problems.append(Problem(0, f"cannot read: {exc.strerror}", str(path)))
            continue
        if entry.slug in first_seen:
            problems.append(Problem(2, f"duplicate slug '{entry.slug}' (also in {first_seen[entry.slug]})", str(path)))
        else:
            first_seen[entry.slug] = path
    return len(files), problems
