"""What kind of fact a question asks for, and whether a passage holds one.

"徐福志委员的手机号码是多少" names a member the corpus writes about, so his practice is near the
question in meaning and covers its rarest word; but the review says what he did, not his number. A
question that asks for a time, a duration, a sum of money, a count of something, a telephone number,
an address or a web address is answered only by a passage that holds a fact of that kind: a number
with the same measure word (多少名 → 五十名), a clock time or a date, 元, a run of digits, 路/号. This is
the answer-type check of question answering, written from how Chinese questions ask and how CPPCC
texts state such facts; it says nothing about a question that asks how something was done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A number as CPPCC texts write one: digits, or Chinese numerals with the approximations they use (十余, 几十).
NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿几多余]+)"
# Measure words a count is asked and stated in: 多少名盟员 / 五十名盟员, 几种类型 / 三种类型.
MEASURES = "名件个位人次家条场项户所篇期届种类批"


@dataclass(frozen=True)
class AnswerKind:
    """One kind of fact: its name as staff read it, how a question asks for it, how a passage states it."""

    name: str
    asked: re.Pattern
    stated: re.Pattern


# In the order they are tried: an address before a telephone (门牌号码), money before a count (多少钱).
KINDS: tuple[AnswerKind, ...] = (
    AnswerKind("地址", re.compile(r"地址|门牌|邮编|邮政编码|哪(?:个|家)(?:宾馆|酒店|饭店|医院)"),
               re.compile(r"\d+号|[路街巷道]\d|邮编|邮政编码|\d{6}|宾馆|酒店|饭店|医院|大厦")),
    AnswerKind("电话号码", re.compile(r"电话|手机号|号码|联系方式|邮箱"),
               re.compile(r"\d{7,}|\d{3,4}-\d{7,8}|@")),
    AnswerKind("网址", re.compile(r"网页|网址|链接"), re.compile(r"https?://|www\.|网址|\.cn\b|\.com\b")),
    AnswerKind("时间", re.compile(r"几点|几时|周几|星期几|几号|几月几日|哪一?天|什么时候|何时|什么时间|哪一?年"),
               re.compile(rf"\d+[:：]\d{{2}}|[上下]午|晚上|{NUMBER}[点时]|(?:周|星期)[一二三四五六日天]|{NUMBER}月"
                          rf"|\d{{4}}年|[今明去]年|每年")),
    AnswerKind("时长", re.compile(r"几天|多少天|多久|多长时间|几年|几个月"),
               re.compile(rf"{NUMBER}\s*(?:个)?(?:天|日|周|年|月|小时|分钟)")),
    AnswerKind("金额", re.compile(r"多少钱|价格是多少|收购价|售价|(?:补贴|经费|费用|标准)[^，。？]{0,6}多少"),
               re.compile(rf"{NUMBER}\s*(?:元|万元|亿元|块钱)")),
)
_COUNT = re.compile(rf"(?:多少|几)\s*([{MEASURES}])")


def asked_for(question: str) -> AnswerKind | None:
    """The kind of fact the question asks for, or None (a question of how, why, who did it)."""
    for kind in KINDS:
        if kind.asked.search(question):
            return kind
    count = _COUNT.search(question)
    if count:
        measure = count.group(1)
        return AnswerKind(f"“几{measure}”的数目", re.compile(re.escape(count.group(0))),
                          re.compile(rf"{NUMBER}\s*{measure}"))
    return None


def holds(kind: AnswerKind, text: str) -> bool:
    """Whether the passage states a fact of that kind at all (not whether it is the right one)."""
    return kind.stated.search(text) is not None
