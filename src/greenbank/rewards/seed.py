"""Demo rewards: a small catalogue (gift, coupon with codes, membership), a tree-planting project,
perk rules (approved by a second demo actor: maker-checker holds for the seed too), and
published articles and quiz questions. Each step runs only when its record is missing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from greenbank.bootstrap import Container
from greenbank.rewards import donations, mall, perks, quizzes
from greenbank.rewards.domain import ItemKind
from greenbank.rewards.models import Article, Item, Project, Question, RuleRow
from greenbank.rewards.schemas import ArticleIn, ItemIn, ProjectIn, QuestionIn

MAKER, CHECKER = "demo-seed", "demo-seed-checker"

ITEMS: list[dict[str, Any]] = [
    {"code": "BAMBOO-CUP", "kind": ItemKind.GIFT, "name": "竹纤维随行杯", "points_price": 800,
     "stock": 200, "per_customer_limit": 2, "description": "可重复使用，减少一次性纸杯"},
    {"code": "METRO-5", "kind": ItemKind.COUPON, "name": "地铁出行 5 元券", "points_price": 300,
     "per_customer_limit": 5, "description": "合作地铁公司电子券"},
    {"code": "BIKE-MONTH", "kind": ItemKind.MEMBERSHIP, "name": "共享单车月卡",
     "points_price": 1500, "stock": 100, "min_level": "leaf", "description": "30 天骑行会员"},
]  # fmt: skip
METRO_CODES = [f"METRO5-DEMO-{n:04d}" for n in range(1, 51)]
PROJECT = ProjectIn(
    code="TREES-KUBUQI",
    name="库布其沙漠植树",
    description="每 200 积分种一棵梭梭树，由合作公益机构种植并养护三年。",
    partner="示例公益基金会",
    unit_name="棵",
    points_per_unit=200,
    target_units=10_000,
)
RULES: list[dict[str, Any]] = [
    {"code": "green_deposit_bonus", "name": "绿叶及以上：绿色定期加息 0.10%",
     "kind": "rate_bonus", "conditions": [{"field": "level", "op": ">=", "value": "leaf"}],
     "params": {"bonus_rate": "0.0010", "max_amount_fen": 5_000_000}, "valid_days": 30,
     "frequency": "monthly"},
    {"code": "tree_instalment_discount", "name": "绿树及以上：分期手续费五折",
     "kind": "instalment_discount", "conditions": [{"field": "level", "op": ">=", "value": "tree"}],
     "params": {"discount_percent": 50, "max_instalments": 12}, "valid_days": 90,
     "frequency": "monthly"},
    {"code": "forest_credit_upgrade", "name": "森林等级：信用卡提额资格",
     "kind": "credit_limit_upgrade",
     "conditions": [{"field": "level", "op": ">=", "value": "forest"}],
     "params": {"suggested_increase_fen": 1_000_000}, "valid_days": 90, "frequency": "once"},
]  # fmt: skip
ARTICLES = [
    ArticleIn(
        title="一度电的碳排放是多少？",
        body="按生态环境部、国家统计局公布的2023年全国电力平均二氧化碳排放因子，"
        "每度电约排放 0.5306 千克二氧化碳。随手关灯、空调调到 26 ℃ 都能减少排放。",
        source="MEE/NBS national average, latest (footprint_factors.yaml 2026.1)",
    ),
    ArticleIn(
        title="坐地铁比开车少排多少碳？",
        body="一辆中型汽油车每公里约排放 192 克二氧化碳当量；深圳地铁出行方法学按每人公里 46.7 "
        "克计算出行减排量。",
        source="DEFRA 2018 (via Our World in Data); 深圳市低碳公共出行碳普惠方法学 (2021-12)",
    ),
]
QUESTIONS = [
    QuestionIn(
        prompt="2023年全国电力平均二氧化碳排放因子约为每千瓦时多少千克？",
        choices=["0.25", "0.53", "0.89", "1.20"],
        answer=1,
        explanation="生态环境部、国家统计局公布的全国平均值为 0.5306 kgCO2/kWh。",
        source="MEE/NBS national average, latest",
    ),
    QuestionIn(
        prompt="以下哪种食物每千克的碳足迹最高？",
        choices=["豆腐", "鸡肉", "牛肉", "土豆"],
        answer=2,
        explanation="牛肉约 99.48 kgCO2e/kg，鸡肉 9.87，豆腐 3.16，土豆 0.46。",
        source="Poore & Nemecek 2018 via Our World in Data (CC BY)",
    ),
    QuestionIn(
        prompt="一立方米天然气燃烧约排放多少千克二氧化碳？",
        choices=["0.5", "1.1", "2.2", "5.0"],
        answer=2,
        explanation="38,931 kJ/m3 × 15.3 tC/TJ × 0.99 × 44/12 ≈ 2.1622 kgCO2/m3。",
        source="GB/T 2589 + provincial inventory guideline",
    ),
    QuestionIn(
        prompt="选择电子账单代替纸质账单，属于哪类低碳行为？",
        choices=["绿色出行", "无纸化", "垃圾分类", "节约用水"],
        answer=1,
        explanation="电子账单、电子回单、线上存款都减少了纸张和网点出行，碳账户按方法学记录减排。",
        source="greenbank carbon scenarios: e_statement, e_receipt, online_deposit",
    ),
]


def seed(container: Container) -> list[str]:
    uow, clock = container.uow, container.clock
    done: list[str] = []
    with uow() as unit:
        items = set(unit.session.scalars(select(Item.code)))
        has_project = unit.session.scalar(select(Project.id).where(Project.code == PROJECT.code))
        rules = set(unit.session.scalars(select(RuleRow.code)))
        has_content = unit.session.scalar(select(Article.id)) or unit.session.scalar(
            select(Question.id)
        )
    for spec in ITEMS:
        if spec["code"] not in items:
            mall.create_item(uow=uow, clock=clock, spec=ItemIn.model_validate(spec), by=MAKER)
            if spec["kind"] is ItemKind.COUPON:
                mall.import_codes(
                    uow=uow, clock=clock, item_code=spec["code"], batch="demo",
                    codes=METRO_CODES, by=MAKER,
                )  # fmt: skip
            done.append(f"rewards item {spec['code']}")
    if not has_project:
        donations.create_project(uow=uow, clock=clock, spec=PROJECT, by=MAKER)
        done.append(f"rewards project {PROJECT.code}")
    for definition in RULES:
        if definition["code"] not in rules:
            rule = perks.create_rule(uow=uow, clock=clock, definition=definition, by=MAKER)
            perks.submit_rule(uow=uow, clock=clock, rule_id=rule.id, by=MAKER)
            perks.approve_rule(uow=uow, clock=clock, rule_id=rule.id, by=CHECKER)
            done.append(f"perk rule {rule.code} v{rule.version} (active)")
    if not has_content:
        for article in ARTICLES:
            row = quizzes.create_article(uow=uow, clock=clock, spec=article, by=MAKER)
            quizzes.set_status(
                uow=uow, clock=clock, kind="article", row_id=row.id, status="published", by=MAKER
            )
        for question in QUESTIONS:
            q = quizzes.create_question(uow=uow, clock=clock, spec=question, by=MAKER)
            quizzes.set_status(
                uow=uow, clock=clock, kind="question", row_id=q.id, status="published", by=MAKER
            )
        done.append(f"{len(ARTICLES)} articles and {len(QUESTIONS)} quiz questions")
    return done
