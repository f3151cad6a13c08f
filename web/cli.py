"""``synapse serve``: run the web site with uvicorn.

The ``synapse`` group imports this module only when ``serve`` is invoked (``synapse_ai.web.commands``
registers it lazily), so the other commands never pay for FastAPI.  The options and the environment
become one ``synapse_ai.web.settings.Settings``; with ``--reload`` uvicorn re-imports the app in a child
process, so that object travels serialised in one environment variable (``SETTINGS_ENV``).  The header
timeout is uvicorn's, not the app's: it reaches the protocol class through ``$SYNAPSE_HEADER_TIMEOUT``.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from synapse_ai.kb.options import db_option
from synapse_ai.web.settings import PUBLIC_URL_ENV, SETTINGS_ENV, TRUSTED_PROXIES_ENV

HEADER_TIMEOUT_ENV = "SYNAPSE_HEADER_TIMEOUT"
DEFAULT_HEADER_TIMEOUT = 10.0


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for a request's headers.

    uvicorn (0.54) closes idle keep-alive connections but has no limit on how long a client may take
    to send its headers, so a client that sends them a byte at a time holds a connection and a file
    descriptor forever.  Here the whole header block must arrive within ``header_timeout`` seconds of
    the connection opening (or of the previous response); otherwise the connection is closed.  The
    deadline does not move when more bytes arrive.  It is read from ``$SYNAPSE_HEADER_TIMEOUT`` so
    that it reaches uvicorn's reload worker too.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout = float(os.environ.get(HEADER_TIMEOUT_ENV) or DEFAULT_HEADER_TIMEOUT)
        self._header_deadline = None

    def connection_made(self, transport) -> None:
        """Start the header deadline as the connection opens."""
        super().connection_made(transport)
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        """Feed the bytes to h11, then re-arm or disarm the header deadline."""
        super().data_received(data)
        self._watch_headers()

    def connection_lost(self, exc) -> None:
        """Cancel the header deadline with the connection."""
        self._stop_header_deadline()
        super().connection_lost(exc)

    def _watch_headers(self) -> None:
        """Arm the deadline while the client owes us a request's headers; disarm once they are in."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if waiting and self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)
        elif not waiting:
            self._stop_header_deadline()

    def _stop_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info(
                "%s:%d - closed: no complete request headers within %gs",
                *(self.client or ("?", 0)),
                self.header_timeout,
            )
            self.transport.close()


def listen_url(host: str, port: int) -> str:
    """The address links point to when SYNAPSE_PUBLIC_URL is unset: where this server listens.  For
    a wildcard address (0.0.0.0, ::) that is this machine's host name."""
    import socket

    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 for every interface)."
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port to listen on.")
@db_option(note="Submissions and stars are stored here too.")
@click.option(
    "--entries",
    "entries",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Entry folder to serve instead of the shipped entries (repeatable). Approved submissions still go to the "
    "local entries folder, which is always indexed.",
)
@click.option("--reload", is_flag=True, help="Restart when the code or templates change (development only).")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="uvicorn log level.",
)
@click.option(
    "--header-timeout",
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a client has to send a request's headers before the connection is closed (slow-header clients).",
)
@click.option(
    "--keep-alive-timeout",
    default=5,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds an idle keep-alive connection stays open.",
)
@click.option(
    "--shutdown-timeout",
    default=10,
    show_default=True,
    type=click.IntRange(0, 3600),
    help="On SIGTERM or Ctrl-C, seconds to let requests in flight finish before they are cancelled.",
)
def serve_command(host, port, db, entries, reload, log_level, header_timeout, keep_alive_timeout, shutdown_timeout):
    """Run the web site: search, entries, submissions, moderation and the JSON API.

    Moderation is on when SYNAPSE_ADMIN_TOKEN is set.  Open http://HOST:PORT/ in a browser;
    the API reference is at /docs.
    """
    import uvicorn

    from synapse_ai.web.app import create_app
    from synapse_ai.web.security import parse_networks, parse_public_url
    from synapse_ai.web.settings import Settings

    # Links point to SYNAPSE_PUBLIC_URL, else to the address this server listens on.
    public_url = os.environ.get(PUBLIC_URL_ENV) or listen_url(host, port)
    dirs = [Path(d).resolve() for d in entries] or None
    settings = Settings.from_env(db=db, entries_dirs=dirs, public_url=public_url)
    try:  # a wrong setting is a one-line message, not a traceback from inside the app factory
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise click.ClickException(f"{TRUSTED_PROXIES_ENV}: {exc}") from None
    try:
        parse_public_url(settings.public_url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not settings.admin_token:
        click.echo("synapse: moderation is off (set SYNAPSE_ADMIN_TOKEN to review submissions at /admin)", err=True)
    if not os.environ.get(PUBLIC_URL_ENV) and host in ("0.0.0.0", "::"):
        click.echo(f"synapse: links point to {public_url}/ (set {PUBLIC_URL_ENV} to the public address)", err=True)
    click.echo(f"synapse: serving on http://{host}:{port}/ (loading the knowledge base…)", err=True)
    os.environ[HEADER_TIMEOUT_ENV] = str(header_timeout)
    options = dict(
        host=host,
        port=port,
        log_level=log_level,
        h11_max_incomplete_event_size=64 * 1024,
        http=HeaderTimeoutProtocol,
        timeout_keep_alive=keep_alive_timeout,
        timeout_graceful_shutdown=shutdown_timeout,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the app reads it only from
        # SYNAPSE_TRUSTED_PROXIES (synapse_ai.web.security.ClientAddressMiddleware).
        proxy_headers=False,
    )
    if reload:
        web_dir = Path(__file__).resolve().parent
        os.environ[SETTINGS_ENV] = settings.to_json()  # read by create_app_from_env in the worker
        try:
            uvicorn.run(
                "synapse_ai.web.app:create_app_from_env",
                factory=True,
                reload=True,
                reload_dirs=[str(web_dir), str(web_dir.parent / "kb")],
                reload_includes=["*.py", "*.html", "*.css", "*.js"],
                **options,
            )
        finally:
            os.environ.pop(SETTINGS_ENV, None)
    else:
        uvicorn.run(create_app(settings), **options)
