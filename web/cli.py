"""``synapse serve``: run the web site with uvicorn.

kb/cli.py imports this module only when ``serve`` is invoked, so the other commands never pay for
FastAPI.  Settings reach the app through ``web.settings.Settings``; with ``--reload`` uvicorn
re-imports the app in a child process, so they travel as environment variables instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from web.settings import ENTRIES_ENV


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port to listen on.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SYNAPSE_DB",
    help="SQLite database file (default: $SYNAPSE_DB or the per-user data directory). Submissions and stars are stored here too.",
)
@click.option(
    "--entries",
    "entries",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Entry folder to serve instead of the shipped entries (repeatable). Approved submissions still go to the local entries folder, which is always indexed.",
)
@click.option("--reload", is_flag=True, help="Restart when the code or templates change (development only).")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]), help="uvicorn log level.")
def serve_command(host, port, db, entries, reload, log_level):
    """Run the web site: search, entries, submissions, moderation and the JSON API.

    Moderation is on when SYNAPSE_ADMIN_TOKEN is set.  Open http://HOST:PORT/ in a browser;
    the API reference is at /docs.
    """
    import uvicorn

    from web.app import create_app
    from web.settings import Settings

    if db:
        os.environ["SYNAPSE_DB"] = str(db)
    if entries:
        os.environ[ENTRIES_ENV] = os.pathsep.join(str(Path(d).resolve()) for d in entries)
    if not os.environ.get("SYNAPSE_ADMIN_TOKEN"):
        click.echo("synapse: moderation is off (set SYNAPSE_ADMIN_TOKEN to review submissions at /admin)", err=True)
    click.echo(f"synapse: serving on http://{host}:{port}/ (loading the knowledge base…)", err=True)
    options = dict(host=host, port=port, log_level=log_level, h11_max_incomplete_event_size=64 * 1024)
    if reload:
        web_dir = Path(__file__).resolve().parent
        uvicorn.run(
            "web.app:create_app_from_env",
            factory=True,
            reload=True,
            reload_dirs=[str(web_dir), str(web_dir.parent / "kb")],
            reload_includes=["*.py", "*.html", "*.css", "*.js"],
            **options,
        )
    else:
        uvicorn.run(create_app(Settings.from_env()), **options)
