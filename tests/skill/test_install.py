"""``synapse skill install``: targets, idempotence, foreign folders, the settings.json hook merge.

Every test runs with HOME and the working directory in tmp_path: the real ~/.claude is never read
or written.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from skills_ref.validator import validate

from synapse_ai.kb.cli import main
from synapse_ai.skill import install
from synapse_ai.skill.install import HOOK_EVENT, MARKER, SKILL_NAME, hook_command_line, is_our_hook

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
    # The install created ~/.claude/skills (and ~/.claude): both go again once empty.
    assert not dest.exists() and not dest.parent.exists() and not (home / ".claude").exists()
    again = run("--uninstall")
    assert again.exit_code == 0 and "nothing to remove" in again.output

    dest.mkdir(parents=True)
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
    assert {k: v for k, v in data.items() if k != "hooks"} == {
        "model": "opus",
        "permissions": {"allow": ["Bash(npm test)"]},
    }
    nudge_groups = data["hooks"]["PostToolUse"]
    assert nudge_groups[0] == USER_SETTINGS["hooks"]["PostToolUse"][0]  # the user's own PostToolUse hook stays first
    assert nudge_groups[1]["matcher"] == "*" and nudge_groups[1]["hooks"][0]["command"].endswith("synapse hook")
    assert nudge_groups[1]["hooks"][0]["timeout"] == 5
    assert "the PostToolUse nudge" in first.output
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


def test_with_hook_project_uses_the_uncommitted_local_settings_and_uninstall_leaves_nothing(home, _isolated_home):
    project = Path.cwd()
    result = run("--target", "claude-project", "--with-hook", "--no-index")
    assert result.exit_code == 0, result.output
    local = project / ".claude" / "settings.local.json"
    assert list(json.loads(local.read_text())["hooks"]) == [HOOK_EVENT, "PostToolUse"]
    assert str(local) in result.output
    assert not (project / ".claude" / "settings.json").exists()  # the shared, committed file
    assert local.stat().st_mode & 0o777 == 0o600  # new settings files are private
    assert not (home / ".claude").exists()
    removed = run("--target", "claude-project", "--uninstall")
    assert removed.exit_code == 0, removed.output
    # Nothing the install created is left in the repository: no {} file, no backup, no folders.
    assert sorted(p.name for p in project.rglob("*")) == []


def test_project_backups_stay_out_of_the_repository(home, _isolated_home):
    project = Path.cwd()
    local = project / ".claude" / "settings.local.json"
    local.parent.mkdir()
    local.write_text('{"permissions": {"allow": ["Bash(make)"]}}')
    assert run("--target", "claude-project", "--with-hook", "--no-index").exit_code == 0
    assert sorted(p.name for p in local.parent.iterdir()) == ["settings.local.json", "skills"]
    kept = list((_isolated_home / "backups").glob("*settings.local.json.bak-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"permissions": {"allow": ["Bash(make)"]}}'

    assert run("--target", "claude-project", "--uninstall").exit_code == 0
    assert local.read_text() == '{"permissions": {"allow": ["Bash(make)"]}}'  # byte for byte
    assert sorted(p.name for p in local.parent.iterdir()) == ["settings.local.json"]
    assert not list((_isolated_home / "backups").glob("*settings.local.json.bak-*"))


def test_no_nudge_registers_only_the_failure_hook_and_takes_an_earlier_nudge_out(home):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps(USER_SETTINGS))
    assert run("--with-hook", "--no-index").exit_code == 0
    assert len(json.loads(settings.read_text())["hooks"]["PostToolUse"]) == 2

    result = run("--with-hook", "--no-index", "--no-nudge")
    assert result.exit_code == 0, result.output
    assert "removed the PostToolUse nudge" in result.output
    data = json.loads(settings.read_text())
    assert data["hooks"]["PostToolUse"] == USER_SETTINGS["hooks"]["PostToolUse"]  # only the user's hook left
    assert [h["command"] for h in data["hooks"][HOOK_EVENT][1]["hooks"]][0].endswith("synapse hook")
    again = run("--with-hook", "--no-index", "--no-nudge")
    assert "is already registered" in again.output

    assert run("--uninstall").exit_code == 0
    assert json.loads(settings.read_text()) == USER_SETTINGS


def test_uninstall_removes_a_nudge_left_alone(home):
    """Uninstall takes out both entries even when only the nudge is left (the user deleted the other)."""
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    command = "/old/venv/bin/synapse hook"
    settings.write_text(
        json.dumps(
            {
                "model": "opus",
                "hooks": {
                    "PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": command, "timeout": 5}]}]
                },
            }
        )
    )
    result = run("--uninstall")
    assert result.exit_code == 0 and "Removed the PostToolUse nudge" in result.output
    assert json.loads(settings.read_text()) == {"model": "opus"}


def test_uninstall_also_removes_a_project_hook_older_versions_put_in_settings_json(home):
    shared = Path.cwd() / ".claude" / "settings.json"
    shared.parent.mkdir()
    command = "/old/venv/bin/synapse hook"
    shared.write_text(
        json.dumps(
            {
                "model": "opus",
                "hooks": {
                    HOOK_EVENT: [{"matcher": "*", "hooks": [{"type": "command", "command": command, "timeout": 10}]}]
                },
            }
        )
    )
    result = run("--target", "claude-project", "--uninstall")
    assert result.exit_code == 0, result.output
    assert json.loads(shared.read_text()) == {"model": "opus"}


def test_symlinked_settings_stay_a_link_and_keep_their_mode(home, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "settings.json"
    real.write_text('{\n\t"env": {"ANTHROPIC_API_KEY": "sk-secret"}\n}\n')
    real.chmod(0o600)
    link = home / ".claude" / "settings.json"
    link.parent.mkdir()
    link.symlink_to(real)

    result = run("--with-hook", "--no-index")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == real
    data = json.loads(real.read_text())
    assert data["env"] == {"ANTHROPIC_API_KEY": "sk-secret"} and HOOK_EVENT in data["hooks"]
    assert real.stat().st_mode & 0o777 == 0o600
    assert not list(dotfiles.glob(".settings.json.*"))  # no temporary file left next to the target

    removed = run("--uninstall")
    assert removed.exit_code == 0, removed.output
    assert link.is_symlink() and real.read_text() == '{\n\t"env": {"ANTHROPIC_API_KEY": "sk-secret"}\n}\n'
    assert real.stat().st_mode & 0o777 == 0o600
    assert not list(link.parent.glob("settings.json.bak-*"))  # restored exactly: backup no longer needed


def test_existing_modes_are_kept_and_new_files_are_private(home):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{}")
    settings.chmod(0o640)
    assert run("--with-hook", "--no-index").exit_code == 0
    assert settings.stat().st_mode & 0o777 == 0o640
    settings.unlink()
    assert run("--with-hook", "--no-index").exit_code == 0
    assert settings.stat().st_mode & 0o777 == 0o600


def test_uninstall_leaves_no_trace_in_a_fresh_home(home):
    assert run("--with-hook", "--no-index").exit_code == 0
    assert (home / ".claude" / "settings.json").is_file()
    removed = run("--uninstall")
    assert removed.exit_code == 0, removed.output
    assert "which SynapseAI had created" in removed.output
    assert list(home.rglob("*")) == []  # no {} settings, no backups, no empty skills/ or .claude/


def test_a_skills_folder_that_existed_before_is_kept(home):
    skills = home / ".claude" / "skills"
    skills.mkdir(parents=True)
    assert run().exit_code == 0
    assert run("--uninstall").exit_code == 0
    assert skills.is_dir() and list(skills.iterdir()) == []


def test_backups_do_not_pile_up(home):
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"model": "opus"}')
    for _ in range(3):
        assert run("--with-hook", "--no-index").exit_code == 0
        hooked = json.loads(settings.read_text())
        hooked["hooks"][HOOK_EVENT][0]["hooks"][0]["command"] = "/elsewhere/synapse hook"  # forces an update
        settings.write_text(json.dumps(hooked))
    assert run("--with-hook", "--no-index").exit_code == 0
    backups = list(settings.parent.glob("settings.json.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == '{"model": "opus"}'  # the pre-SynapseAI file
    settings_data = json.loads(settings.read_text())
    settings_data["theme"] = "dark"  # the user changes something else meanwhile
    settings.write_text(json.dumps(settings_data))
    assert run("--uninstall").exit_code == 0
    assert json.loads(settings.read_text()) == {"model": "opus", "theme": "dark"}
    assert len(list(settings.parent.glob("settings.json.bak-*"))) == 1  # kept: it differs from the result


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


def test_hook_points_at_the_running_synapse_not_the_first_on_path(home, tmp_path, monkeypatch):
    decoy_dir = tmp_path / "decoy"
    decoy_dir.mkdir()
    decoy = decoy_dir / "synapse"
    decoy.write_text("#!/bin/sh\nexit 0\n")
    decoy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{decoy_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    venv_script = Path(sys.executable).absolute().with_name("synapse")
    assert venv_script.is_file()

    monkeypatch.setattr(sys, "argv", ["pytest"])  # not started as synapse: the interpreter's scripts dir
    assert hook_command_line() == f"{shlex.quote(str(venv_script.resolve()))} hook"
    monkeypatch.setattr(sys, "argv", [str(venv_script), "skill", "install"])  # started as synapse
    assert hook_command_line() == f"{shlex.quote(str(venv_script.resolve()))} hook"
    assert run("--with-hook", "--no-index").exit_code == 0
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert str(decoy) not in json.dumps(settings)


def test_directory_target_message_names_no_agent(home):
    result = run("--target", "my-skills")
    assert result.exit_code == 0
    assert "your agent" not in result.output
    assert "Start a new session of the agent that reads this folder" in result.output


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
