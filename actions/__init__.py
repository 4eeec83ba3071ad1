"""What the bot can do: one handler per action, in one explicit registry.

``build_actions()`` returns every action by name. The dialogue policy (in ``bot``) picks one
name per message; the action returns replies and slot changes and never sends anything.
"""

from __future__ import annotations

from actions.base import Action
from actions.clarify import AskProcedure, Clarify, NoProcedure
from actions.dossier import DossierStatusLookup
from actions.faq import AnswerFaq
from actions.feedback import Feedback, RateHelp
from actions.follow import FollowDossier, FollowedDossiers, UnfollowDossier
from actions.handoff import HumanHandoff, ResumeBot, WaitForStaff, WithStaff
from actions.notices import Notice
from actions.offices import OfficeInfo
from actions.own_data import DeleteMyData, DeleteWithStaff, MyData
from actions.precheck import CheckPapers
from actions.procedures import RENDERERS, ProcedureAspect
from actions.smalltalk import Goodbye, Greet, Help, OfferHuman, OutOfScope, Thank


def build_actions() -> dict[str, Action]:
    """The registry: every action by its name (names are unique)."""
    actions: tuple[Action, ...] = (
        *(ProcedureAspect(aspect) for aspect in RENDERERS),
        AnswerFaq(),
        DossierStatusLookup(),
        FollowDossier(),
        UnfollowDossier(),
        FollowedDossiers(),
        AskProcedure(),
        Clarify(),
        NoProcedure(),
        Greet(),
        Goodbye(),
        Thank(),
        Help(),
        OutOfScope(),
        OfferHuman(),
        HumanHandoff(),
        WaitForStaff(),
        WithStaff(),
        ResumeBot(),
        Feedback(),
        RateHelp(),
        Notice(),
        OfficeInfo(),
        MyData(),
        DeleteMyData(),
        DeleteWithStaff(),
        CheckPapers(),
    )
    registry = {action.name: action for action in actions}
    if len(registry) != len(actions):
        raise ValueError("two actions share a name")
    return registry
