"""The CLI as a new user meets it: options where README puts them, filters that say what they
match, units by their short names, and every `kb …` line of README's usage sections run as written."""

from __future__ import annotations

import datetime
import json
import os
import re
import shlex
import shutil

import pytest
from support import ROOT, kb

from kb.records import FILTER_FIELDS
from kb.search import QueryError, check_filters, parse_filters, resolve_unit


def test_index_dir_and_config_work_after_the_command(seed_index, tmp_path):
    where = str(seed_index.index_dir)
    after = kb("stats", "--index-dir", where)
    before = kb("--index-dir", where, "stats")
    assert after.stdout == before.stdout
    # Typed on the command line, it beats the environment wherever it was typed.
    env_elsewhere = kb("stats", "--json", "--index-dir", where, index_dir=tmp_path / "nowhere")
    assert json.loads(env_elsewhere.stdout)["documents"] == 3
    kb("search", "调解", "--mode", "keyword", "-k", "1", "--index-dir", where)
    kb("practices", "show", "1", "--index-dir", where)
    kb("practices", "--index-dir", where, "themes")
    config = tmp_path / "other.toml"
    config.write_text(f'index_dir = "{seed_index.index_dir}"\n', encoding="utf-8")
    assert kb("stats", "--config", str(config)).stdout == after.stdout


def test_paths_are_printed_absolute(seed_index, tmp_path, monkeypatch):
    relative = os.path.relpath(seed_index.index_dir, tmp_path)
    out = kb("stats", "--index-dir", relative, cwd=tmp_path).stdout
    assert out.splitlines()[0] == f"index        {seed_index.index_dir.resolve()}"
    assert json.loads(kb("stats", "--json", "--index-dir", relative, cwd=tmp_path).stdout)["index_dir"] == str(
        seed_index.index_dir.resolve())


def test_filter_help_and_errors_list_every_field(seed_index):
    help_text = " ".join(kb("search", "--help").stdout.split())
    assert ", ".join(FILTER_FIELDS) in help_text
    bad = kb("search", "q", "--filter", "colour=red", index_dir=seed_index.index_dir, check=False)
    assert bad.returncode == 2 and ", ".join(FILTER_FIELDS) in bad.stderr and "Traceback" not in bad.stderr


def test_an_unknown_unit_is_a_warning_with_close_matches(seed_index):
    missing = kb("search", "民盟", "--mode", "keyword", "--filter", "unit=不存在的单位", index_dir=seed_index.index_dir)
    assert "Warning: no unit '不存在的单位' in the index" in missing.stderr
    typo = kb("search", "调解", "--mode", "keyword", "--filter", "doc_type=综合", "--filter", "unit_type=县政协",
              index_dir=seed_index.index_dir)
    assert "no doc_type '综合' in the index; did you mean 综述" in typo.stderr
    assert re.search(r"no unit_type '县政协' in the index; did you mean [^\n]*县市政协", typo.stderr)
    assert typo.returncode == 0


def test_units_by_a_unique_short_name(seed_index):
    hits = json.loads(kb("search", "智库", "--mode", "keyword", "--json", "--filter", "unit=民盟",
                         index_dir=seed_index.index_dir).stdout)
    assert hits and {hit["unit"] for hit in hits} == {"民盟哈尔滨市委"}
    shown = kb("practices", "show", "五常", index_dir=seed_index.index_dir).stdout
    assert shown.startswith("五常市政协：")
    listed = kb("practices", "--unit", "民盟", index_dir=seed_index.index_dir).stdout
    assert "民盟哈尔滨市委" in listed and listed.strip().endswith("`kb practices show N` opens one")
    ambiguous = kb("practices", "show", "区政协", index_dir=seed_index.index_dir, check=False)
    assert ambiguous.returncode == 2 and "ambiguous unit '区政协'" in ambiguous.stderr
    assert "道里区政协" in ambiguous.stderr
    wide = kb("search", "委员", "--filter", "unit=政协", index_dir=seed_index.index_dir, check=False)
    assert wide.returncode == 2 and "ambiguous unit" in wide.stderr


def test_resolve_and_check_in_the_library():
    units = ["民盟哈尔滨市委", "五常市政协", "道里区政协", "道外区政协"]
    assert resolve_unit("民盟", units) == "民盟哈尔滨市委"
    assert resolve_unit("五常市政协", units) == "五常市政协"
    assert resolve_unit("不存在", units) is None
    with pytest.raises(QueryError, match="ambiguous unit '区政协'"):
        resolve_unit("区政协", units)
    resolved, notices = check_filters({"unit": ["五常", "道理区政协"]}, {"unit": units})
    assert resolved == {"unit": ["五常市政协", "道理区政协"]}
    assert notices == ["no unit '道理区政协' in the index; did you mean 道里区政协, 道外区政协?"]


@pytest.mark.parametrize("value", ["²", "99999999999999999999", "19", "abc", "2101"])
def test_years_are_checked(value):
    with pytest.raises(QueryError, match="from 1900 to 2100"):
        parse_filters([f"year={value}"])


def _readme_commands() -> list[str]:
    """The `kb …` lines of README's code blocks from "Using kb" to "Configuration"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    usage = text[text.index("## Using kb"):text.index("## Configuration")]
    commands, fenced = [], False
    for line in usage.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        line = line.removeprefix("$ ").strip()
        if fenced and re.match(r"^(KB_[A-Z_]+=\S+ )*kb ", line):
            commands.append(re.sub(r"\s+#\s.*$", "", line))
    return commands


# Run with --help added: they serve forever, prompt, or read all of STARD. Click still parses every
# option and argument count first, so a wrong option fails here too.
_PARSED_ONLY = ("kb serve", "kb api", "kb mcp", "kb admin set-password", "kb eval", "kb restore")


def test_readme_lists_the_commands_this_test_runs():
    commands = _readme_commands()
    assert len(commands) >= 20, commands
    for expected in ("kb search", "kb show", "kb stats", "kb practices show", "kb log", "kb backup", "kb index"):
        assert any(c.startswith(expected) or f" {expected}" in c for c in commands), expected


def test_every_readme_command_runs_as_written(seed_index, fixture_corpus, tmp_path):
    """Each line as the shell would split it, run by kb's own command group in this process (a fresh
    interpreter per line proves nothing more and took most of this test's time)."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(fixture_corpus, work / "corpus")
    shutil.copytree(seed_index.index_dir, work / "index")
    (work / "tests").symlink_to(ROOT / "tests")
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    failures = []
    for command in _readme_commands():
        line = command.replace("/tmp/", f"{tmp_path}/t/").replace("/backup", f"{tmp_path}/backup")
        line = line.replace("$(date +%F)", datetime.date.today().isoformat())
        for part in (part.strip() for part in line.split("&&")):
            words = shlex.split(part)
            env = dict(word.split("=", 1) for word in words if re.match(r"^KB_[A-Z_]+=", word))
            words = words[len(env):]
            if words[:1] != ["kb"]:
                continue
            if any(part.startswith(prefix) for prefix in _PARSED_ONLY):
                words.append("--help")
            result = kb(*words[1:], cwd=work, env_extra=env, check=False)
            # 1 is a documented outcome (a batch with bad files); 2 is a usage or user error.
            if result.returncode not in (0, 1) or "Usage:" in result.stderr or "Traceback" in result.stderr:
                failures.append(f"{command}\n  -> {part}: exit {result.returncode}\n{result.stderr[-600:]}")
    assert not failures, "\n".join(failures)
