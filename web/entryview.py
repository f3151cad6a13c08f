"""The layout of an entry page, computed once so the entry page, the submission preview, the status
page and the moderation view all show an entry identically.

Symptom, Root Cause and Fix are pulled out as the three cards a reader looks for; the Fix is split
into its options (each its own card with its code); the optional sections follow in format order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from synapse_ai.kb.model import Entry, fix_preamble


def anchor(name: str) -> str:
    """A section name as an HTML id: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class OptionView:
    number: int
    title: str
    body: str
    anchor: str


@dataclass
class EntryView:
    entry: Entry
    symptom: str = ""
    root_cause: str = ""
    fix_preamble: str = ""
    options: list[OptionView] = field(default_factory=list)
    extra: list[tuple[str, str, str]] = field(default_factory=list)  # (name, anchor, body)

    @property
    def toc(self) -> list[tuple[str, str, int]]:
        """(label, anchor, depth) for the sticky table of contents."""
        items = [("Symptom", "symptom", 0), ("Root Cause", "root-cause", 0), ("Fix", "fix", 0)]
        items += [(f"Option {o.number}: {o.title}", o.anchor, 1) for o in self.options]
        items += [(name, a, 0) for name, a, _ in self.extra]
        return items


def entry_view(entry: Entry) -> EntryView:
    """What the entry page shows: symptom, root cause, the Fix's preamble and options, other sections."""
    view = EntryView(entry)
    for section in entry.sections:
        if section.name == "Symptom":
            view.symptom = section.body
        elif section.name == "Root Cause":
            view.root_cause = section.body
        elif section.name == "Fix":
            view.fix_preamble = fix_preamble(section.body)
        else:
            view.extra.append((section.name, anchor(section.name), section.body))
    view.options = [OptionView(o.number, o.title, o.body, f"option-{o.number}") for o in entry.fix_options]
    return view
