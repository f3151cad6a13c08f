"""``synapse skill install``: targets, idempotence, foreign folders, the settings.json hook merge.

Every test runs with HOME and the working directory in tmp_path: the real ~/.claude is never read
or written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from skills_ref.validator import validate

from kb.cli import main
from skill import install
from skill.install import HOOK_EVENT, MARKER, SKILL_NAME, hook_command_line, is_our_hook

from .index_helper import build_default_index


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    project = tmp_path / "project"
    home.mkdir()
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.chdir(project)
    assert Path.home() == home
    return home


def run(*args: str):
    result = CliRunner().invoke(main, ["skill", "install", *args], catch_exceptions=False)
    return result


def test_install_personal_then_up_to_date(home):
    first = run()
    assert first.exit_code == 0, first.output
    dest = home / ".claude" / "skills" / SKILL_NAME
    assert "Installed skill 'synapse-ai'" in first.output and str(dest) in first.output
    assert validate(dest) == []
    assert (dest / MARKER).is_file()
    assert not list(dest.parent.glob(".synapse-ai.*"))  # no staging leftovers
    umask = os.umask(0)
    os.umask(umask)
    assert dest.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700

    second = run()
    assert second.exit_code == 0
    assert "already up to date" in second.output


@pytest.mark.parametrize(
    ("target", "where"),
    [
        ("claude-project", lambda home: Path.cwd() / ".claude" / "skills"),
        ("openclaw", lambda home: home / ".openclaw" / "skills"),
        ("agent-skills", lambda home: Path.cwd() / "agent-skills"),
    ],
)
def test_other_targets(home, target, where):
    result = run("--target", target)
    assert result.exit_code == 0, result.output
    dest = where(home) / SKILL_NAME
    assert validate(dest) == []
    assert not (home / ".claude").exists()


def test_foreign_folder_needs_force_and_is_kept(home, _isolated_home):
    dest = home / ".claude" / "skills" / SKILL_NAME
    dest.mkdir(parents=True)
    (dest / "SKILL.md").write_text("---\nname: synapse-ai\ndescription: someone else's\n---\n")
    refused = run()
    assert refused.exit_code == 1
    assert "was not installed by SynapseAI" in refused.output and "--force" in refused.output
    assert "someone else's" in (dest / "SKILL.md").read_text()

    forced = run("--force")
    assert forced.exit_code == 0, forced.output
    assert validate(dest) == []
    kept = list((_isolated_home / "backups").iterdir())
    assert len(kept) == 1 and "someone else's" in (kept[0] / "SKILL.md").read_text()


def test_edited_install_is_not_overwritten_but_an_old_one_is_updated(home):
    run()
    dest = home / ".claude" / "skills" / SKILL_NAME
    skill_md = dest / "SKILL.md"
    original = skill_md.read_text()

    skill_md.write_text(original + "\nmy own notes\n")
    refused = run()
    assert refused.exit_code == 1 and "was edited after SynapseAI installed it" in refused.output
    assert skill_md.read_text().endswith("my own notes\n")

    # An unedited install of an older version: the marker lists exactly what is on disk.
    skill_md.write_text(original.replace("# SynapseAI", "# SynapseAI (old)"))
    marker = json.loads((dest / MARKER).read_text())
    marker["files"] = install._tree_hashes(dest)
    (dest / MARKER).write_text(json.dumps(marker))
    updated = run()
    assert updated.exit_code == 0, updated.output
    assert "Updated skill" in updated.output and "1 file changed" in updated.output
    assert skill_md.read_text() == original


def test_uninstall_removes_only_our_folder(home):
    run()
    dest = home / ".claude" / "skills" / SKILL_NAME
    removed = run("--uninstall")
    assert removed.exit_code == 0 and "Removed skill" in removed.output
    assert not dest.exists() and dest.parent.is_dir()
    again = run("--uninstall")
    assert again.exit_code == 0 and "nothing to remove" in again.output

    dest.mkdir()
    (dest / "SKILL.md").write_text("not ours")
    refused = run("--uninstall")
    assert refused.exit_code == 1 and (dest / "SKILL.md").read_text() == "not ours"


# ------------------------------------------------------------------ hook


USER_SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test)"]},
    "hooks": {
        "PostToolUse": [{"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "npx prettier --write"}]}],
        HOOK_EVENT: [{"matcher": "Bash", "hooks": [{"type": "command", "command": "notify-send failed"}]}],
    },
}


def test_with_hook_merges_backs_up_and_uninstalls_cleanly(home):
    build_default_index()
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps(USER_SETTINGS, indent=4))
    original_text = settings.read_text()

    first = run("--with-hook")
    assert first.exit_code == 0, first.output
    assert "Registered the PostToolUseFailure hook" in first.output
    assert "Search index ready" in first.output
    data = json.loads(settings.read_text())
    assert {k: v for k, v in data.items() if k != "hooks"} == {"model": "opus", "permissions": {"allow": ["Bash(npm test)"]}}
    assert data["hooks"]["PostToolUse"] == USER_SETTINGS["hooks"]["PostToolUse"]
    groups = data["hooks"][HOOK_EVENT]
    assert groups[0] == USER_SETTINGS["hooks"][HOOK_EVENT][0]
    ours = groups[1]
    assert ours["matcher"] == "*"
    assert ours["hooks"][0]["type"] == "command" and ours["hooks"][0]["command"].endswith("synapse hook")
    assert ours["hooks"][0]["timeout"] == 10
    backups = list(settings.parent.glob("settings.json.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == original_text

    second = run("--with-hook", "--no-index")
    assert "already registered" in second.output and "already up to date" in second.output
    assert len(list(settings.parent.glob("settings.json.bak-*"))) == 1  # nothing changed, no new backup

    removed = run("--uninstall")
    assert removed.exit_code == 0, removed.output
    assert "Removed the PostToolUseFailure hook" in removed.output
    assert json.loads(settings.read_text()) == USER_SETTINGS


def test_with_hook_project_creates_settings_and_uninstall_empties_it(home):
    result = run("--target", "claude-project", "--with-hook", "--no-index")
    assert result.exit_code == 0, result.output
    settings = Path.cwd() / ".claude" / "settings.json"
    assert list(json.loads(settings.read_text())["hooks"]) == [HOOK_EVENT]
    assert not (home / ".claude").exists()
    run("--target", "claude-project", "--uninstall")
    assert json.loads(settings.read_text()) == {}


def test_invalid_settings_json_stops_everything(home):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"model": "opus",\n  "hooks": {,}\n}')
    result = run("--with-hook")
    assert result.exit_code == 1
    assert "not valid JSON (line 2" in result.output and "Nothing was changed" in result.output
    assert settings.read_text() == '{"model": "opus",\n  "hooks": {,}\n}'
    assert not (home / ".claude" / "skills").exists()
    assert not list(settings.parent.glob("settings.json.bak-*"))


def test_hook_needs_a_claude_target(home):
    result = run("--target", "openclaw", "--with-hook")
    assert result.exit_code == 1 and "--target claude" in result.output
    assert not (home / ".openclaw").exists()


def test_hook_recognition():
    assert hook_command_line().endswith(" hook")
    assert is_our_hook({"type": "command", "command": hook_command_line()})
    assert is_our_hook({"type": "command", "command": "'/opt/my env/bin/synapse' hook"})
    assert is_our_hook({"type": "command", "command": "synapse hook", "timeout": 5})
    assert not is_our_hook({"type": "command", "command": "synapse hook --max-chars 900 && rm -rf x"})
    assert not is_our_hook({"type": "command", "command": "notify-send synapse hook"})
    assert not is_our_hook({"type": "prompt", "prompt": "synapse hook"})
    assert not is_our_hook({"type": "command", "command": "unbalanced 'quote"})


def test_skill_path_command():
    result = CliRunner().invoke(main, ["skill", "path"])
    assert result.exit_code == 0 and Path(result.output.strip()) == install.BUNDLE_DIR
