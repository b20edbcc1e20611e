"""The kind of fact a question asks for, and whether a passage states one (kb.search.answers)."""

from __future__ import annotations

import pytest

from kb.search.answers import asked_for, holds


@pytest.mark.parametrize(("question", "kind"), [
    ("徐福志委员的手机号码是多少", "电话号码"),
    ("南岗区委员工作站的具体门牌号码", "地址"),  # an address before a telephone
    ("委员体检安排在哪家医院", "地址"),
    ("重庆市政协文史馆几点开放", "时间"),
    ("浙江省政协全会的会期有几天", "时长"),
    ("五常大米今年的收购价每斤多少钱", "金额"),
    ("委员履职补贴每个月发多少", "金额"),
    ("民盟哈尔滨市委有多少名盟员", "“几名”的数目"),
    ("委员的履职积分在哪个网页查询", "网址"),
])
def test_a_question_asking_for_a_fact_says_which_kind(question, kind):
    assert asked_for(question).name == kind


@pytest.mark.parametrize("question", [
    "帮本地出名的粮食打响名号、卖出好价钱，谁家政协做过",  # how it was done, and by whom
    "政协机关干部每月到委员工作室指导履职，这是哪里的做法",
    "三级联动的公益法律服务平台，首批几十名律师进驻",  # a count stated, not asked
    "委员工作站怎样服务群众",
])
def test_a_question_of_how_or_who_asks_for_no_kind(question):
    assert asked_for(question) is None


def test_a_passage_holds_a_fact_of_the_kind_or_not():
    count = asked_for("民盟哈尔滨市委有多少名盟员")
    assert holds(count, "现有盟员一千二百余名") and holds(count, "发展新盟员 56 名")
    assert not holds(count, "民盟市委组建专家团队开展调研")
    assert not holds(count, "共有盟员十二个支部")  # another measure word is another count
    clock = asked_for("书香政协栏目每周几晚上播出")
    assert holds(clock, "每周五晚上八点播出") and not holds(clock, "栏目邀请委员分享读书体会")
    phone = asked_for("政协办公厅的值班电话是多少")
    assert holds(phone, "值班电话：0451-86612345") and not holds(phone, "设立热线，接听群众来电")
    money = asked_for("委员活动经费一年有多少钱")
    assert holds(money, "每年安排经费 20 万元") and not holds(money, "经费由区财政保障")
