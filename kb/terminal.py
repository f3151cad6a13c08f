"""Human output for a terminal (rich).  Imported only for non-JSON output.

Rich wraps and pads every line to the console width, which is right on a screen and wrong in a
pipe: ``synapse show`` prints plain markdown when stdout is not a terminal (``synapse_ai.kb.views``), and
search results are not wrapped there.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from synapse_ai.kb.model import Entry
from synapse_ai.kb.search import SearchResponse
from synapse_ai.kb.views import QUICK_FIX_HEADING, verified_text


def _console() -> Console:
    """A console for stdout that does not wrap lines when stdout is a pipe or a file."""
    return Console(soft_wrap=not sys.stdout.isatty())


def _bold_markers(snippet: str) -> Text:
    text = Text()
    for i, part in enumerate(snippet.split("**")):
        text.append(part, style="bold yellow" if i % 2 else "")
    return text


def print_search(response: SearchResponse, console: Console | None = None) -> None:
    """Print a search response with rich: match or not, then each result with its quick fix and why."""
    console = console or _console()
    if not response.results:
        console.print("No entries found.")
        return
    if response.matched:
        console.print("[bold green]Match[/] — the top result fits this query.\n")
    else:
        console.print("[bold yellow]No confident match[/] — nearest entries:\n")
    for i, r in enumerate(response.results, start=1):
        why = r.why
        head = Text.assemble((f"{i}. ", "bold"), (r.title, "bold cyan"), (f"  [{r.slug}]", "dim"))
        console.print(head)
        console.print(Text(f"   {r.summary}"))
        if r.quick_fix:
            console.print(Text.assemble(("   Quick fix: ", "bold green"), r.quick_fix))
        if why.snippet:
            console.print(Text("   ") + _bold_markers(why.snippet), style="dim")
        reasons = ", ".join(reason.brief for reason in why.reasons()) or "fused rank"
        console.print(Text(f"   why: {reasons}; section: {why.section or '-'}", style="dim"))
        console.print()
    console.print(f"[dim]Full fix: synapse show {response.results[0].slug}[/]")


def _quick_fix_panel(entry: Entry) -> Panel:
    return Panel(
        Text(entry.quick_fix), title=f"[bold green]{QUICK_FIX_HEADING}[/]", title_align="left", border_style="green"
    )


def print_entry(entry: Entry, section: str | None = None, console: Console | None = None) -> None:
    """The entry on a terminal: header, verification, the quick fix, then the sections.

    With ``section``, that section only; for ``Fix`` the quick fix comes first, then the options.
    """
    console = console or Console()
    chosen = entry.section(section) if section else None
    if chosen is None:
        console.print(Panel(Text.assemble((entry.title, "bold"), "\n", (entry.summary, "")), subtitle=entry.slug))
        console.print(Text(f"category: {entry.category}   tags: {', '.join(entry.tags)}", style="dim"))
        console.print(Text(verified_text(entry), style="dim" if entry.verified else "yellow"))
    if entry.quick_fix and (chosen is None or chosen.name == "Fix"):
        console.print(_quick_fix_panel(entry))
    for s in [chosen] if chosen else entry.sections:
        console.print(Markdown(f"## {s.name}\n\n{s.body}", code_theme="monokai"))
    if chosen is None:
        console.print(Markdown("## Savings\n\n" + entry.savings))
        console.print(Markdown("## Sources\n\n" + "\n".join(f"- {u}" for u in entry.sources)))


def index_progress_bar():
    """The bar ``synapse`` shows on stderr while it builds the index: one row per stage, with a
    clock that moves on its own (rich refreshes it), so a long stage never looks hung."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
