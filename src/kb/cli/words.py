"""The command line's words in the user's language: Chinese when the locale is Chinese (LC_ALL,
LC_MESSAGES or LANG starting with "zh"), English otherwise.

Messages are written in English in the code, as templates (`say("wrote {count} practices to {path}",
count=…, path=…)`); kb.cli.zh holds each template's Chinese, and the Chinese of every command's and
option's help. A template without a Chinese entry is shown in English (tests/cli/test_cli_words.py
fails on one). Why a file was not indexed is worded from kb.reasons, whose table has both languages.
"""

from __future__ import annotations

import os
import re

import click

from kb.cli.zh import CLICK, HELP, MESSAGES


def chinese() -> bool:
    """What the locale asks for, read when a command runs (a test's environment, a user's shell)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return value.lower().startswith("zh")
    return False


def say(template: str, **facts) -> str:
    """The message in the user's language, its facts filled in."""
    text = MESSAGES.get(template, template) if chinese() else template
    return text.format(**facts) if facts else text


def help_key(text: str) -> str:
    """Help as click shows it, one line: docstrings differ in their indentation, not their words."""
    return " ".join(text.split())


def localise(command: click.Command) -> None:
    """Every help text of the command tree in the user's language. The English is kept on the
    object, so a later run in another locale (tests do that in one process) gets its own."""
    zh = chinese()
    for item in (command, *command.params):
        english = item.__dict__.setdefault("_kb_english_help", getattr(item, "help", None))
        if english:
            item.help = HELP.get(help_key(english), english) if zh else english
    for sub in getattr(command, "commands", {}).values():
        localise(sub)
    _click_words(zh)


_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")
_BRACED = re.compile(r"\{(\w+)\}")


def _click_words(zh: bool) -> None:
    """Click's own words (Usage:, Options, "No such option: …") through kb's table: click looks each up
    with gettext, whose name every click module imported as ``_``."""
    import importlib

    def translated(message: str) -> str:
        return CLICK.get(message, message)

    for name in _CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        original = module.__dict__.setdefault("_kb_gettext", module.__dict__.get("_"))
        if original is not None:
            module._ = translated if zh else original
