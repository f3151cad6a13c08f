"""Human output for the terminal (rich).  Imported only for non-JSON output."""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from kb.model import Entry
from kb.search import SearchResponse


def _bold_markers(snippet: str) -> Text:
    text = Text()
    for i, part in enumerate(snippet.split("**")):
        text.append(part, style="bold yellow" if i % 2 else "")
    return text


def print_search(response: SearchResponse, console: Console | None = None) -> None:
    console = console or Console()
    if not response.results:
        console.print("No entries found.")
        return
    if response.matched:
        console.print("[bold green]Match[/] — the top result fits this query.\n")
    else:
        console.print("[bold yellow]No confident match[/] — nearest entries:\n")
    for i, r in enumerate(response.results, start=1):
        why = r.why
        reasons = []
        if why.get("pattern"):
            reasons.append("error pattern")
        signals = why.get("signals", {})
        if signals.get("bm25_rank"):
            reasons.append("keywords")
        if signals.get("cosine") is not None:
            reasons.append(f"meaning {signals['cosine']:.2f}")
        head = Text.assemble((f"{i}. ", "bold"), (r.title, "bold cyan"), (f"  [{r.slug}]", "dim"))
        console.print(head)
        console.print(Text(f"   {r.summary}"))
        if why.get("snippet"):
            console.print(Text("   ") + _bold_markers(why["snippet"]), style="dim")
        console.print(Text(f"   why: {', '.join(reasons) or 'fused rank'}; section: {why.get('section') or '-'}", style="dim"))
        console.print()
    console.print(f"[dim]Full fix: synapse show {response.results[0].slug}[/]")


def print_entry(entry: Entry, section: str | None = None, console: Console | None = None) -> None:
    console = console or Console()
    if section is None:
        console.print(Panel(Text.assemble((entry.title, "bold"), "\n", (entry.summary, "")), subtitle=entry.slug))
        console.print(Text(f"category: {entry.category}   tags: {', '.join(entry.tags)}", style="dim"))
    sections = [entry.section(section)] if section else entry.sections
    for s in sections:
        console.print(Markdown(f"## {s.name}\n\n{s.body}", code_theme="monokai"))
    if section is None:
        console.print(Markdown("## Savings\n\n" + entry.savings))
        console.print(Markdown("## Sources\n\n" + "\n".join(f"- {u}" for u in entry.sources)))
