"""A right first answer within the daily cap raises the carbon points balance; nothing else does."""

from __future__ import annotations

from rewards_support import STAFF, carbon_customer, points_of

from greenbank.bootstrap import Container
from greenbank.rewards import quizzes
from greenbank.rewards.schemas import QuestionIn


def test_quiz_points_reach_the_balance_once_and_within_the_cap(container: Container) -> None:
    staff = {"uow": container.uow, "clock": container.clock, "by": STAFF}
    for _ in range(3):
        spec = QuestionIn(prompt="?", choices=["a", "b"], answer=1, explanation="e", source="s")
        row = quizzes.create_question(**staff, spec=spec)
        quizzes.set_status(**staff, kind="question", row_id=row.id, status="published")
    customer = carbon_customer(container, 7)
    kw = {"uow": container.uow, "clock": container.clock, "customer_id": customer}
    q1, q2, q3 = (q.id for q in quizzes.daily_quiz(**kw))
    assert (quizzes.POINTS_PER_CORRECT, quizzes.DAILY_CAP) == (5, 10)

    assert quizzes.answer(**kw, question_id=q1, chosen=1).points == 5
    assert points_of(container, customer) == 7 + 5
    assert quizzes.answer(**kw, question_id=q1, chosen=1).replayed  # a second attempt
    assert points_of(container, customer) == 12
    assert quizzes.answer(**kw, question_id=q2, chosen=1).points == 5
    assert points_of(container, customer) == 17  # the cap (10) is reached
    over = quizzes.answer(**kw, question_id=q3, chosen=1)
    assert (over.correct, over.points, over.points_today) == (True, 0, 10)
    assert points_of(container, customer) == 17
