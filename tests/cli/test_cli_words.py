"""The command line in the user's language: Chinese in a Chinese locale (help, messages, click's own
words, index reports), English otherwise; every template and help text has its Chinese."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import click
import pytest
from support import kb

from kb.cli import main
from kb.cli.words import help_key
from kb.cli.zh import HELP, MESSAGES

CLI = Path(__file__).resolve().parents[2] / "src" / "kb" / "cli"
ZH = {"LANG": "zh_CN.UTF-8"}


def _templates() -> set[str]:
    found = set()
    for path in CLI.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say" and node.args:
                first = node.args[0]
                options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
                found |= {option.value for option in options if isinstance(option, ast.Constant)}
    return found


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_has_its_chinese_with_the_same_facts():
    templates = _templates()
    assert len(templates) > 50
    missing = sorted(t for t in templates if t not in MESSAGES)
    assert not missing, missing
    for english, chinese in MESSAGES.items():
        assert _fields(english) == _fields(chinese), english


def _english(item) -> str | None:
    """The help as written in the code (kb.cli.words.localise keeps it when it puts the Chinese in)."""
    return item.__dict__.get("_kb_english_help", getattr(item, "help", None))


def _helps(command: click.Command):
    yield _english(command)
    yield from (_english(param) for param in command.params)
    for sub in getattr(command, "commands", {}).values():
        yield from _helps(sub)


def test_every_help_text_has_its_chinese():
    missing = sorted({help_key(text) for text in _helps(main) if text and help_key(text) not in HELP})
    assert not missing, missing


def test_help_is_chinese_in_a_chinese_locale_and_english_otherwise():
    chinese = kb("practices", "--help", env_extra=ZH).stdout
    assert chinese.startswith("用法：") and "创新实践目录" in chinese and "选项" in chinese
    english_helps = [help_key(text)[:24] for text in _helps(main.commands["practices"]) if text]
    assert not [text for text in english_helps if text in " ".join(chinese.split())]
    english = kb("practices", "--help").stdout
    assert english.startswith("Usage:") and "The catalogue of practices" in english
    # The same process, back and forth: nothing of the other language stays behind.
    assert kb("practices", "--help", env_extra=ZH).stdout == chinese


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "议事会.md").write_text("# 冰城社区议事会\n\n香坊区在社区设立议事会，居民与委员每月协商停车难题。\n",
                                     encoding="utf-8")
    (corpus / "坏文件.pdf").write_bytes(b"%PDF-1.7 not really")
    return corpus, tmp_path_factory.mktemp("index")


def test_messages_and_index_reports_in_chinese(tiny, embedder):
    corpus, index_dir = tiny
    indexed = kb("index", "--corpus-dir", str(corpus), "--index-dir", str(index_dir), "-q", env_extra=ZH, check=False)
    assert indexed.returncode == 1
    assert "新增 1" in indexed.stdout and "第 1 版索引" in indexed.stdout
    assert "  失败: " in indexed.stderr and "坏文件.pdf：PDF 无法读取" in indexed.stderr and "failed" not in indexed.stderr
    found = kb("search", "停车难", "--mode", "keyword", "--index-dir", str(index_dir), env_extra=ZH).stdout
    assert "条结果，用时" in found and "（关键词）" in found
    wrong = kb("search", "--index-dir", str(index_dir), env_extra=ZH, check=False)
    assert wrong.returncode == 2 and wrong.stderr.startswith("错误：请给出一个问题")
    unknown = kb("serach", env_extra=ZH, check=False)
    assert unknown.returncode == 2 and "没有命令 'serach'" in unknown.stderr
    english = kb("search", "--index-dir", str(index_dir), check=False)
    assert english.stderr.startswith("Error: give a QUERY or --queries FILE")
