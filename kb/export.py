"""``synapse export DIR``: every entry the database holds, written back out as markdown files.

The database keeps each entry's markdown as it was indexed, and each approved submission's, so an
approved entry whose file was lost (a deleted or damaged entries folder) can be written back from
it.  An existing file with different content is left alone unless ``force`` is given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from synapse_ai.kb.paths import write_text_atomically
from synapse_ai.kb.stores import IndexStore as Store


@dataclass
class ExportReport:
    directory: str
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # an existing, different file was not overwritten
    failed: list[dict] = field(default_factory=list)  # {slug, problem}

    def to_dict(self) -> dict:
        """The report as JSON-ready data."""
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """One line for the terminal: written, identical, kept and failed counts."""
        text = f"exported to {self.directory}: {len(self.written)} written, {len(self.unchanged)} already identical"
        if self.kept:
            text += f", {len(self.kept)} kept because a different file exists (use --force to overwrite)"
        if self.failed:
            text += f", {len(self.failed)} failed"
        return text


def _approved_markdown(store: Store, indexed: set[str]) -> dict[str, str]:
    """Approved submissions with no entry row: their stored markdown, under the slug they were given."""
    from synapse_ai.kb.parse import EntryError, parse_entry, render_entry

    out: dict[str, str] = {}
    for slug, markdown in store.approved_markdown():
        if slug in indexed or not markdown:
            continue
        try:
            entry = parse_entry(markdown)
        except EntryError:
            continue
        out[slug] = render_entry(dataclasses.replace(entry, slug=slug))
    return out


def entries_markdown(store: Store) -> dict[str, str]:
    """slug -> markdown for every entry in the database (shipped, local and approved)."""
    entries = store.entries_markdown()
    return entries | _approved_markdown(store, set(entries))


def export_entries(store: Store, directory: Path, force: bool = False) -> ExportReport:
    """Write each stored entry as DIRECTORY/<slug>.md (failures listed); raises OSError if DIRECTORY cannot be made."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    report = ExportReport(directory=str(directory))
    for slug, markdown in entries_markdown(store).items():
        target = directory / f"{Path(slug).name}.md"
        try:
            if target.exists():
                if target.read_text(encoding="utf-8", errors="replace") == markdown:
                    report.unchanged.append(slug)
                    continue
                if not force:
                    report.kept.append(slug)
                    continue
            write_text_atomically(target, markdown)
            report.written.append(slug)
        except OSError as exc:
            report.failed.append({"slug": slug, "problem": exc.strerror or str(exc)})
    return report
