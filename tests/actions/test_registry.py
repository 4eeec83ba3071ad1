"""The action registry: every action the policy can pick exists, once."""

from __future__ import annotations

from actions import build_actions
from actions.feedback import FEEDBACK_INTENT, RATE_INTENT
from bot.core.payloads import EXTRA_INTENTS
from nlu.intents import PROCEDURE_INTENTS, Intent


def test_every_intent_and_policy_action_has_a_handler() -> None:
    actions = build_actions()
    policy_actions = {"faq", "ask_procedure", "clarify", "offer_human", "wait_for_staff",
                      "with_staff", "resume_bot"}
    intents = {str(i) for i in Intent} | set(EXTRA_INTENTS)
    assert intents | policy_actions <= set(actions)
    assert {FEEDBACK_INTENT, RATE_INTENT} <= set(actions)


def test_each_action_is_registered_under_its_own_name() -> None:
    for name, action in build_actions().items():
        assert action.name == name
    assert {str(i) for i in PROCEDURE_INTENTS} <= set(build_actions())
