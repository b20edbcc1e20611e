"""Theme identity across re-indexing: a theme keeps its id and its name while most of its practices
stay in it, and a name it once had still finds it.

Themes are grouped afresh for every generation, so without this a one-document change could rename
themes it never touched, and a saved `theme=` filter would silently stop matching. The register of
the last grouping is kept in the index's meta table; the next grouping is matched against it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from pydantic import BaseModel, Field

from kb.index.schema import transaction
from kb.index.store import Store

log = logging.getLogger(__name__)
REGISTER_KEY = "theme_register"


class ThemeRecord(BaseModel):
    theme_id: str
    name: str
    members: list[str]


class ThemeRegister(BaseModel):
    generation: int = 0
    issued: int = 0  # theme ids given out so far (T1, T2 …): an id is never given twice
    themes: list[ThemeRecord] = Field(default_factory=list)
    # Every name a theme has had, with the id of the theme it belongs to now (followed through
    # themes that were dissolved into others).
    former: dict[str, str] = Field(default_factory=dict)


class Settled(BaseModel):
    """One group's place in the new register: its id, its name and the names that now lead to it."""

    theme_id: str
    name: str
    former_names: list[str] = Field(default_factory=list)


def load_register(store: Store) -> ThemeRegister:
    stored = store.get_meta(REGISTER_KEY)
    if not stored:
        return ThemeRegister()
    try:
        return ThemeRegister.model_validate_json(stored)
    except ValueError:
        log.warning("the stored theme register cannot be read; themes are named afresh")
        return ThemeRegister()


def save_register(store: Store, register: ThemeRegister) -> None:
    """Kept unless a newer generation's register is there already. A read-only or full disk keeps the
    old one: the themes are right for this process, and the next catalogue matches them again."""
    try:
        with transaction(store.db):
            if load_register(store).generation > register.generation:
                return
            store.put_meta(REGISTER_KEY, register.model_dump_json())
    except sqlite3.Error as exc:
        log.warning("the theme register was not saved (%s); theme names hold for this process", exc)


def settle(groups: list[list[str]], previous: ThemeRegister, generation: int,
           name_of: Callable[[int, set[str]], str]) -> tuple[list[Settled], ThemeRegister]:
    """Match each new group (its practice ids) to the old theme most of whose surviving practices it
    holds, where most of the group's older practices came from that theme; such a group keeps the
    old id and name. Other groups get a new id and ``name_of(group index, names taken)``."""
    current = {pid for group in groups for pid in group}
    known = {pid for theme in previous.themes for pid in theme.members}
    surviving = {theme.theme_id: set(theme.members) & current for theme in previous.themes}
    pairs = []
    for index, group in enumerate(groups):
        older = set(group) & known
        for theme in previous.themes:
            shared = len(older & surviving[theme.theme_id])
            if shared * 2 > len(surviving[theme.theme_id]) and shared * 2 > len(older):
                pairs.append((-shared, index, theme))
    matched: dict[int, ThemeRecord] = {}
    for _, index, theme in sorted(pairs, key=lambda pair: (pair[0], pair[1])):
        if index not in matched and theme not in matched.values():
            matched[index] = theme
    taken = {theme.name for theme in matched.values()}
    issued = previous.issued
    settled: list[Settled] = []
    for index in range(len(groups)):
        if index in matched:
            settled.append(Settled(theme_id=matched[index].theme_id, name=matched[index].name))
            continue
        issued += 1
        name = name_of(index, taken)
        taken.add(name)
        settled.append(Settled(theme_id=f"T{issued}", name=name))
    ids = {s.theme_id for s in settled}
    group_of = {pid: s.theme_id for s, group in zip(settled, groups) for pid in group}
    successor = {}
    for theme in previous.themes:
        if theme.theme_id not in ids and surviving[theme.theme_id]:
            heirs = [group_of[pid] for pid in sorted(surviving[theme.theme_id])]
            successor[theme.theme_id] = max(dict.fromkeys(heirs), key=heirs.count)
    former = {name: successor.get(theme_id, theme_id) for name, theme_id in previous.former.items()}
    former.update({theme.name: successor.get(theme.theme_id, theme.theme_id) for theme in previous.themes})
    names = {s.name for s in settled}
    former = {name: theme_id for name, theme_id in former.items() if theme_id in ids and name not in names}
    for s in settled:
        s.former_names = sorted(name for name, theme_id in former.items() if theme_id == s.theme_id)
    register = ThemeRegister(generation=generation, issued=issued, former=former, themes=[
        ThemeRecord(theme_id=s.theme_id, name=s.name, members=group) for s, group in zip(settled, groups)])
    return settled, register
