"""``synapse keys create/list/revoke``: API keys for a SynapseAI server (see web/keys.py).

Keys are site data in the server's database (``--db``, default ``$SYNAPSE_DB``), so run these where
the server's database is.  The key is printed once, at creation; only its hash is stored.
"""

from __future__ import annotations

from pathlib import Path

import click

from synapse_ai.kb.cli import json_text
from synapse_ai.kb.errors import UserError
from synapse_ai.kb.options import db_option
from synapse_ai.web.keys import SCOPES, check_name, check_scopes, hash_key, key_prefix, new_key


def _site(db: Path | None):
    """The site store, with the database created or migrated first (without indexing entries)."""
    from synapse_ai.kb.stores import open_store, resolve_url
    from synapse_ai.kb.stores.errors import CorruptDatabase, DatabaseUnavailable
    from synapse_ai.web.sitestore import open_site_store

    path = resolve_url(db)  # a file, or the team's PostgreSQL database (SYNAPSE_DATABASE_URL)
    try:
        store = open_store(path)
        store.close()
        return open_site_store(store.url)
    except (CorruptDatabase, DatabaseUnavailable) as exc:
        raise UserError(f"cannot use the database: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot open the database {path}: {exc.strerror or exc}") from None


@click.group("keys")
def keys_group():
    """Create, list and revoke API keys for the server (Authorization: Bearer KEY)."""


@keys_group.command("create")
@click.option("--name", required=True, help="Who or what uses the key (shown in lists and to moderators).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="What the key may do (repeatable): read, propose (new entries), vote (confirm, flag), moderate.",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"id": ..., "key": ...} as JSON.')
@db_option
def create(name, scopes, as_json, db):
    """Create a key and print it once (it cannot be shown again)."""
    try:
        name, scopes = check_name(name), check_scopes(scopes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    site = _site(db)
    try:
        key = new_key()
        stored = site.add_api_key(name, scopes, hash_key(key), key_prefix(key))
    finally:
        site.close()
    if as_json:
        click.echo(json_text({"id": stored.id, "key": key}))
        return
    click.echo(key)
    said = f"id {stored.id}, name '{name}', scopes {' '.join(scopes)}. Store the key now: it is not shown again."
    click.echo(said, err=True)


@keys_group.command("list")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list of {id, name, prefix, scopes, created_at, revoked_at}."
)
@db_option
def list_keys(as_json, db):
    """List keys (never the keys themselves: their first characters)."""
    site = _site(db)
    try:
        keys = site.api_keys()
    finally:
        site.close()
    if as_json:
        click.echo(json_text([k.to_dict() for k in keys]))
        return
    if not keys:
        click.echo("no API keys (create one with: synapse keys create --name NAME --scope read)")
    for k in keys:
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        click.echo(f"{k.id}  {k.prefix}…  {k.name}  [{' '.join(k.scopes)}]  created {k.created_at[:19]}  {state}")


@keys_group.command("revoke")
@click.argument("key_id")
@db_option
def revoke(key_id, db):
    """Revoke a key by its id (from `synapse keys list`); requests with it then get 401."""
    site = _site(db)
    try:
        if site.revoke_api_key(key_id.strip()):
            click.echo(f"revoked {key_id.strip()}")
            return
        known = {k.id: k for k in site.api_keys()}
    finally:
        site.close()
    if key_id.strip() in known:
        raise UserError(f"key {key_id.strip()} was already revoked")
    raise UserError(f"no key with id '{key_id.strip()[:40]}' (see `synapse keys list`)")
