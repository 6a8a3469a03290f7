"""Low-carbon knowledge: staff publish articles and quiz questions; customers take a daily quiz.

Each customer gets ``QUESTIONS_PER_DAY`` of the published questions a day (a stable shuffle by
customer and date). The first answer to a question is final (UNIQUE customer + question): a
repeated attempt returns that first answer and earns nothing. A right answer earns
``POINTS_PER_CORRECT`` within ``DAILY_CAP`` per Shanghai business day, counted under the
customer's carbon-account lock so two answers at once cannot both pass the cap. Earned points
are awarded to the carbon account in the same transaction (key ``rewards:quiz:<answer id>``).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory
from greenbank.rewards import carbon_port
from greenbank.rewards.common import RewardNotFound, command, read
from greenbank.rewards.domain import (
    QuizAnswerInvalid,
    check_choice,
    daily_pick,
    quiz_points,
)
from greenbank.rewards.models import Article, Question, QuizAnswer
from greenbank.rewards.schemas import (
    AnswerOut,
    ArticleIn,
    ArticleOut,
    QuestionIn,
    QuestionOut,
    StaffQuestionOut,
)

QUESTIONS_PER_DAY = 3
POINTS_PER_CORRECT = 5
DAILY_CAP = 10  # product defaults: two right answers a day earn points
DRAFT, PUBLISHED, WITHDRAWN = "draft", "published", "withdrawn"
STATUSES = (DRAFT, PUBLISHED, WITHDRAWN)


def create_article(*, uow: UowFactory, clock: Clock, spec: ArticleIn, by: str) -> ArticleOut:
    def work(session: Session) -> ArticleOut:
        row = Article(**spec.model_dump(), status=DRAFT, created_by=by, created_at=clock.now())
        session.add(row)
        session.flush()
        return ArticleOut.model_validate(row)

    return command(uow, clock, work, actor=by, action="rewards.article.create")


def create_question(
    *, uow: UowFactory, clock: Clock, spec: QuestionIn, by: str
) -> StaffQuestionOut:
    check_choice(spec.choices, spec.answer)

    def work(session: Session) -> StaffQuestionOut:
        row = Question(**spec.model_dump(), status=DRAFT, created_by=by, created_at=clock.now())
        session.add(row)
        session.flush()
        return StaffQuestionOut.model_validate(row)

    return command(uow, clock, work, actor=by, action="rewards.question.create")


def set_status(
    *, uow: UowFactory, clock: Clock, kind: str, row_id: str, status: str, by: str
) -> str:
    """Publish or withdraw an article (``kind="article"``) or a question."""
    if status not in STATUSES:
        raise QuizAnswerInvalid(f"status must be one of {', '.join(STATUSES)}")

    def work(session: Session) -> str:
        row = session.get(Article, row_id) if kind == "article" else session.get(Question, row_id)
        if row is None:
            raise RewardNotFound(f"no {kind} {row_id}")
        row.status = status
        if isinstance(row, Article) and status == PUBLISHED:
            row.published_at = clock.now()
        return status

    return command(uow, clock, work, actor=by, action=f"rewards.{kind}.{status}", subject=row_id)


def articles(*, uow: UowFactory, published_only: bool) -> list[ArticleOut]:
    query = select(Article).order_by(Article.id.desc())
    if published_only:
        query = query.where(Article.status == PUBLISHED)
    return read(uow, lambda s: [ArticleOut.model_validate(a) for a in s.scalars(query)])


def questions(*, uow: UowFactory) -> list[StaffQuestionOut]:
    query = select(Question).order_by(Question.id.desc())
    return read(uow, lambda s: [StaffQuestionOut.model_validate(q) for q in s.scalars(query)])


def _todays_ids(session: Session, customer_id: str, clock: Clock) -> list[str]:
    published = session.scalars(select(Question.id).where(Question.status == PUBLISHED))
    day = business_date(clock.now())
    return daily_pick(list(published), customer_id, day, QUESTIONS_PER_DAY)


def daily_quiz(*, uow: UowFactory, clock: Clock, customer_id: str) -> list[QuestionOut]:
    def work(session: Session) -> list[QuestionOut]:
        ids = _todays_ids(session, customer_id, clock)
        answered = set(
            session.scalars(
                select(QuizAnswer.question_id).where(
                    QuizAnswer.customer_id == customer_id, QuizAnswer.question_id.in_(ids)
                )
            )
        )
        rows = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(ids)))}
        return [
            QuestionOut(
                id=i, prompt=rows[i].prompt, choices=rows[i].choices, answered=i in answered
            )
            for i in ids
        ]

    return read(uow, work)


def _earned_today(session: Session, customer_id: str, clock: Clock) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(QuizAnswer.points), 0)).where(
            QuizAnswer.customer_id == customer_id,
            QuizAnswer.business_date == business_date(clock.now()),
        )
    )
    return int(total or 0)


def answer(
    *, uow: UowFactory, clock: Clock, customer_id: str, question_id: str, chosen: int
) -> AnswerOut:
    """Answer one of today's questions; the first answer counts, a repeat earns nothing."""

    def work(session: Session) -> AnswerOut:
        carbon_port.shopper(session, customer_id)  # the customer's lock: the cap is exact
        question = session.get(Question, question_id)
        if question is None:
            raise RewardNotFound(f"no question {question_id}")
        first = session.scalar(
            select(QuizAnswer).where(
                QuizAnswer.customer_id == customer_id, QuizAnswer.question_id == question_id
            )
        )
        if first is None:
            if question_id not in _todays_ids(session, customer_id, clock):
                raise RewardNotFound("the question is not in today's quiz")
            check_choice(question.choices, chosen)
            correct = chosen == question.answer
            earned = _earned_today(session, customer_id, clock)
            first = QuizAnswer(
                customer_id=customer_id,
                question_id=question_id,
                business_date=business_date(clock.now()),
                chosen=chosen,
                correct=correct,
                points=quiz_points(correct, earned, POINTS_PER_CORRECT, DAILY_CAP),
                answered_at=clock.now(),
            )
            session.add(first)
            session.flush()
            if first.points:
                carbon_port.award(
                    session, clock, customer_id=customer_id, points=first.points,
                    key=f"rewards:quiz:{first.id}", reason=f"quiz {question_id}",
                )  # fmt: skip
            replayed = False
        else:
            replayed = True
        return AnswerOut(
            question_id=question_id,
            correct=first.correct,
            answer=question.answer,
            explanation=question.explanation,
            source=question.source,
            points=0 if replayed else first.points,
            points_today=_earned_today(session, customer_id, clock),
            daily_cap=DAILY_CAP,
            replayed=replayed,
        )

    return command(
        uow, clock, work, actor=f"customer:{customer_id}", action="rewards.quiz.answer",
        subject=question_id,
    )  # fmt: skip
