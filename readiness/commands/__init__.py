"""Use cases. Each changes objects, writes its audit entry and flushes — never commits,
so several compose into one transaction and a failure rolls back all of them.
"""

from ..domain.inputs import InvalidInput
from .accounts import create_team, create_user, hash_password
from .checklists import SyncResult, sync_checklists
from .reviews import (
    AnswerInput,
    SubmitRefused,
    decide_review,
    save_answers,
    start_review,
    submit_review,
    withdraw_review,
)
from .services import create_service

__all__ = [
    "AnswerInput",
    "InvalidInput",
    "SubmitRefused",
    "SyncResult",
    "create_service",
    "create_team",
    "create_user",
    "decide_review",
    "hash_password",
    "save_answers",
    "start_review",
    "submit_review",
    "sync_checklists",
    "withdraw_review",
]
