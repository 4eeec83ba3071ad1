"""The intent contract: the names training data, the policy, the actions and evaluation share."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    """Every intent the bot understands (DESIGN.md, "The intent contract")."""

    PROCEDURE_OVERVIEW = "procedure_overview"
    PROCEDURE_DOCUMENTS = "procedure_documents"
    PROCEDURE_FEE = "procedure_fee"
    PROCEDURE_DURATION = "procedure_duration"
    PROCEDURE_LOCATION = "procedure_location"
    PROCEDURE_ONLINE = "procedure_online"
    DOSSIER_STATUS = "dossier_status"
    FOLLOW_DOSSIER = "follow_dossier"  # "theo dõi hồ sơ <mã>": told when its status changes
    UNFOLLOW_DOSSIER = "unfollow_dossier"  # "hủy theo dõi"
    FOLLOWED_DOSSIERS = "followed_dossiers"  # "hồ sơ đang theo dõi"
    OFFICE_INFO = "office_info"  # hours, address, phone of an office (a unit's, the city's)
    CHECK_PAPERS = "check_papers"  # walk through a procedure's papers before going
    HUMAN_HANDOFF = "human_handoff"
    HELP = "help"
    GREET = "greet"
    GOODBYE = "goodbye"
    THANK = "thank"
    OUT_OF_SCOPE = "out_of_scope"
    MY_DATA = "my_data"  # what the bot keeps about the citizen, and for how long
    DELETE_MY_DATA = "delete_my_data"  # erase the citizen's conversation (after confirming)


PROCEDURE_INTENTS: frozenset[Intent] = frozenset(
    {
        Intent.PROCEDURE_OVERVIEW,
        Intent.PROCEDURE_DOCUMENTS,
        Intent.PROCEDURE_FEE,
        Intent.PROCEDURE_DURATION,
        Intent.PROCEDURE_LOCATION,
        Intent.PROCEDURE_ONLINE,
    }
)

# Intents about one procedure: its aspects, and the walk through its papers.
ABOUT_A_PROCEDURE: frozenset[Intent] = PROCEDURE_INTENTS | {Intent.CHECK_PAPERS}


class EntityType(StrEnum):
    """Entity names of the contract."""

    PROCEDURE = "procedure"
    DOSSIER_CODE = "dossier_code"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    PLACE = "place"  # a xã/phường: the unit's name when the place list knows it (gazetteer),
    # else the words as typed (learned: extractor "crf")
    RELATION = "relation"  # whom a procedure is for: "con", "bố", "mẹ", "vợ", "chồng", "ông",
    # "bà", "cháu", "anh chị em" (learned from the training data's annotations)
    DATE = "date"  # "DD/MM" or "DD/MM/YYYY" when written in digits (pattern), else the words
    # as typed ("hôm qua", "thứ hai tuần sau"; learned)
