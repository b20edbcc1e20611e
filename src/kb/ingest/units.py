"""What a unit of the CPPCC system is called, wherever in China it writes: a 政协 at any level, its
special committees and 界别, the eight democratic parties and the federation of industry and commerce.

The names are read by their shape, never from a list of places: a place is CJK characters ending in a
level (省/自治区/市/州/盟/县/旗/区), or nothing (a city's own texts say plain "市政协"). Formal names
("政协岳阳市委员会", "中国人民政治协商会议常宁市第十一届委员会") become the short form staff use
("岳阳市政协"). This module is the one place that knows it; structure, metadata and the practice
detector ask it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

DEMOCRATIC_PARTIES = ("民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "台盟")
_PARTY_FULL_NAMES = {
    "中国国民党革命委员会": "民革", "中国民主同盟": "民盟", "中国民主建国会": "民建", "中国民主促进会": "民进",
    "中国农工民主党": "农工党", "中国致公党": "致公党", "台湾民主自治同盟": "台盟",
}
_CJK = r"[\u4e00-\u9fff]"
_LEVEL = r"(?:自治区|自治州|自治县|省|市|州|盟|县|旗|区)"
# A place: a name ending in its level, possibly a chain ("浙江省湖州市", "嘉兴南湖区"); or the level alone.
_PLACE = rf"(?:{_CJK}{{0,10}}?{_LEVEL})"
_ORDINAL = r"(?:第[一二三四五六七八九十]+届)?"
_FORMAL = re.compile(rf"(?:中国人民政治协商会议|政协)(?P<place>{_CJK}{{1,12}}?{_LEVEL}){_ORDINAL}委员会")
_NATIONAL = re.compile(r"全国政协|中国人民政治协商会议全国委员会")
_BODY = re.compile(rf"(?P<place>{_PLACE}?)政协")
# What follows 政协 inside a unit's name: a special committee ("农业和农村委员会", "社法委") or a 界别.
_ORGAN_DELIMITED = re.compile(rf"(?P<organ>{_CJK}{{2,14}}?委员会|{_CJK}{{1,6}}?委(?![员会])|{_CJK}{{1,8}}?界别?)")
# "民盟哈尔滨市委", "九三学社湖州市委员会" (said 九三学社湖州市委), "民建浙江省委会", "民进某区基层委员会".
_PARTY = re.compile(
    rf"(?P<party>{'|'.join(tuple(_PARTY_FULL_NAMES) + DEMOCRATIC_PARTIES)})(?P<place>{_CJK}{{0,10}}?)"
    r"(?:(?P<level>省|市|区|县)(?:委员会|委会|委)|(?P<organ>基层委员会|委员会|总支|支部))"
)
_FEDERATION = re.compile(rf"(?P<place>{_PLACE}?)(?:工商业联合会|工商联)")
# Between a unit and the title it heads: spaces, a colon (full or half width), a dash.
_DELIMITER = re.compile(r"[\s　]*(?:[:：]|——|—|-)?[\s　]*")
# Bare plural or collective forms that name no one body.
_NOT_A_BODY = {"全市", "全省", "全县", "全区", "各市", "各县", "各区", "各省", "市县", "县区", "市区", "省市", "两级",
               "县市", "各级", "本市", "本县", "本区", "我市", "我县", "我区", "我省"}
# Characters that stand before a level in words that are no place: dates, ordinals, pronouns.
_NOT_PLACE_CHARS = set("日月年号届次本该我两在由向和与及对为是了的")
# Words of doing, never part of a committee's name (which joins nouns: 社会和法制, 城乡建设资源环境).
_ACTIONS = ("组织", "开展", "召开", "举办", "推动", "推进", "建立", "打造", "成立", "围绕", "聚焦", "发挥", "助力",
            "参加", "深入", "联合", "邀请", "召集", "组建", "走进", "探索")
_NOT_A_PLACE_START = ("在", "关于", "对", "由", "向", "为", "与", "和", "及", "从", "把", "按", "据", "经", "系", "是")
_TITLE_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[）)]|\d+[、.．]|#+)\s*")


@dataclass(frozen=True)
class UnitMatch:
    unit: str
    start: int
    end: int


def strip_numbering(line: str) -> str:
    """"一、五常市政协 …" reads as "五常市政协 …": numbering is never part of a unit's name."""
    return _TITLE_NUMBERING.sub("", line.strip(), count=1)


def unit_at_start(line: str) -> tuple[str, str] | None:
    """(unit, the rest) when ``line`` opens with a unit's name: "五常市政协 发挥协商优势…",
    "湖州市政协：建立…", "嘉兴南湖区政协组织委员…", "民盟哈尔滨市委 …", "政协岳阳市委员会关于…"."""
    line = strip_numbering(line)
    for finder in (_formal_at, _party_at, _federation_at, _body_at):
        found = finder(line)
        if found is not None:
            unit, end = found
            rest = line[end:]
            delimiter = _DELIMITER.match(rest)
            return unit, rest[delimiter.end():] if delimiter else rest
    return None


def opens_with_unit_and_colon(line: str) -> bool:
    """"湖州市政协：…", "湖州市政协:…": how lists of several units' cases are written."""
    line = strip_numbering(line)
    for finder in (_formal_at, _party_at, _federation_at, _body_at):
        found = finder(line)
        if found is not None:
            return line[found[1]:].lstrip(" 　")[:1] in (":", "：")
    return False


def unit_from_heading(heading: str) -> str:
    found = unit_at_start(heading)
    return found[0] if found else ""


def _formal_at(line: str) -> tuple[str, int] | None:
    national = _NATIONAL.match(line)
    if national:
        return "全国政协", national.end()
    formal = _FORMAL.match(line)
    if formal and _a_place(formal.group("place")):
        return formal.group("place") + "政协", formal.end()
    return None


def _party_at(line: str) -> tuple[str, int] | None:
    match = _PARTY.match(line)
    if not match:
        return None
    party = _PARTY_FULL_NAMES.get(match.group("party"), match.group("party"))
    organ = match.group("level") + "委" if match.group("level") else match.group("organ")
    return party + match.group("place") + organ, match.end()


def _federation_at(line: str) -> tuple[str, int] | None:
    match = _FEDERATION.match(line)
    if not match or not match.group("place") or not _a_place(match.group("place")):
        return None
    return match.group("place") + "工商联", match.end()


def _body_at(line: str) -> tuple[str, int] | None:
    match = _BODY.match(line)
    if not match or not _a_place(match.group("place")):
        return None
    unit, end = match.group(0), match.end()
    rest = line[end:]
    organ = _ORGAN_DELIMITED.match(rest)
    # A name set off from what follows is taken whole; run on ("市政协社会和法制委员会开展…", as OCR reads
    # it), only a committee whose name holds no action: "市政协组织开展委员会客厅活动" is 市政协's.
    if organ and "委员" not in organ.group("organ")[:-3] and _an_organ(organ.group("organ")):
        name = organ.group("organ")
        if _delimited(rest[organ.end():]) or (name.endswith("委员会") and not any(w in name for w in _ACTIONS)):
            return unit + name, end + organ.end()
    return unit, end


def _a_place(place: str) -> bool:
    """"在全市", "关于县" and "全省" are words around a level, not a place."""
    before_level = place.rstrip("省市州盟县旗区")[-1:]
    return (bool(place) and place not in _NOT_A_BODY and not place.startswith(_NOT_A_PLACE_START)
            and not (before_level and before_level in "全各本我该两"))


def _an_organ(organ: str) -> bool:
    """Not the start of a sentence that happens to contain 委 or 界 ("常委", "党组")."""
    return not organ.startswith(("常委", "党组", "主席", "委员", "机关"))


def _delimited(rest: str) -> bool:
    return not rest or rest[0] in " \t　:：—-（(，,"


def units_named_in(text: str) -> list[UnitMatch]:
    """Every unit named in running text, in order. A name's place is read backwards from 政协 (or 工商联)
    and stops at words no place contains, so "近日湖州市政协组织…" names 湖州市政协, not "近日湖州市政协"."""
    found: list[UnitMatch] = []
    for match in _FORMAL.finditer(text):
        place = _trim_place(match.group("place"))
        if place:
            found.append(UnitMatch(place + "政协", match.start(), match.end()))
    for match in _NATIONAL.finditer(text):
        found.append(UnitMatch("全国政协", match.start(), match.end()))
    taken = [(m.start, m.end) for m in found]
    for anchor in ("政协", "工商联", "工商业联合会"):
        for match in re.finditer(anchor, text):
            if any(s <= match.start() < e for s, e in taken):
                continue
            before = re.search(rf"{_CJK}{{0,12}}$", text[max(0, match.start() - 12):match.start()]).group(0)
            place = _trim_place(before)
            if place is None:
                continue
            start = match.start() - len(place)
            unit = unit_at_start(text[start:start + 40])
            if unit and unit[0].startswith(place):
                found.append(UnitMatch(unit[0], start, start + len(unit[0])))
    for match in _PARTY.finditer(text):
        unit = _party_at(text[match.start():match.end()])
        if unit:
            found.append(UnitMatch(unit[0], match.start(), match.end()))
    return sorted(found, key=lambda m: m.start)


def _trim_place(before: str) -> str | None:
    """The place part of the words before 政协 (or 工商联), or None when they hold none ("人民政协").
    jieba splits the words; from the end back, a word that ends in a level, a place name, or a name
    just before a place ("嘉兴" in "嘉兴南湖区") belongs to the place, and the first other word ("近日",
    "紧扣", "组织") ends it."""
    import jieba.posseg

    _ensure_jieba()
    words = [(pair.word, pair.flag) for pair in jieba.posseg.cut(before)]
    place = ""
    index = len(words) - 1
    while index >= 0:
        word, flag = words[index]
        if re.fullmatch(rf"{_CJK}*{_LEVEL}", word):
            if len(word) == 2 and word[0] in "全各":
                return None  # 全市政协, 各县政协: a collective, not one body
            if len(word) == 2 and word[0] in _NOT_PLACE_CHARS:
                place = place or word[-1]  # "5日市政协": a date, then the bare 市政协
                break
            previous = words[index - 1][0] if index else ""
            if len(word) == 2 and len(previous) == 1 and previous not in _NOT_PLACE_CHARS:
                place, index = previous + word + place, index - 2  # jieba's 双/城区 is 双城区
                continue
            place, index = word + place, index - 1
            continue
        if flag == "ns" or (flag == "nr" and place):
            place, index = word + place, index - 1
            continue
        break
    if not re.search(rf"{_LEVEL}$", place) or place in _NOT_A_BODY or place == "全国":
        return None
    return place


def _ensure_jieba() -> None:
    from kb.tokenize import tokenize

    tokenize("政协")  # loads jieba's dictionary once, under kb's lock


def most_named_unit(text: str) -> str:
    """The CPPCC body a text is about: the one it names most (the first named, on a tie). A bare
    "市政协" counts for the one named city of that level; 全国政协 and 省政协 in a city's text are the
    bodies above it, not its author, unless nothing else is named. A body named once is a passing
    mention, not what the text is about."""
    mentions = [m.unit for m in units_named_in(text)]
    if not mentions:
        return ""
    counts = Counter(mentions)
    for bare in ("市政协", "县政协", "区政协"):
        named = [u for u in counts if u.endswith(bare[0] + "政协") and u != bare]
        if bare in counts and len(named) == 1:
            counts[named[0]] += counts.pop(bare)
    above = {"全国政协", "省政协"}
    candidates = [u for u in counts if u not in above] or list(counts)
    best = max(counts[u] for u in candidates)
    if best < 2:
        return ""
    return next(u for u in dict.fromkeys(mentions) if u in candidates and counts[u] == best)


def unit_type_of(unit: str, county_level_cities: bool = False) -> str:
    """The unit's type from the shape of its name. A named city's 政协 is a 市政协, unless the text is
    a city system's review (``county_level_cities``): there, the other cities it names are the
    county-level cities under it, as in "全市政协系统" reviews."""
    if not unit:
        return ""
    if unit.startswith(DEMOCRATIC_PARTIES):
        return "民主党派"
    if unit.endswith("工商联"):
        return "工商联"
    if unit == "全国政协":
        return "全国政协"
    body, found, organ = unit.partition("政协")
    if not found:
        return "其他"
    level = _level_of(body)
    if organ:
        if organ.endswith(("界", "界别")):
            return "政协界别"
        return f"{level}政协专门委员会" if level in ("省", "市", "县", "区") else "政协专门委员会"
    if level == "省":
        return "省政协"
    if level == "区":
        return "区政协"
    if level == "县":
        return "县市政协"
    if level == "市":
        return "县市政协" if county_level_cities and body != "市" else "市政协"
    return "其他"


def _level_of(place: str) -> str:
    for suffix, level in (("自治区", "省"), ("自治州", "市"), ("自治县", "县"), ("省", "省"), ("市", "市"),
                          ("州", "市"), ("盟", "市"), ("县", "县"), ("旗", "县"), ("区", "区")):
        if place.endswith(suffix):
            return level
    return ""
