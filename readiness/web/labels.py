"""The one label of each state, for templates (from the domain's StrEnums)."""

from ..domain.lifecycle import STATE_LABELS
from ..domain.reviews import REVIEW_STATE_LABELS

# Service and review states have different names, so one lookup serves both.
LABELS = {**STATE_LABELS, **REVIEW_STATE_LABELS}


def state_label(state):
    """The label of a service or review state ("ops_managed" -> "Ops-managed")."""
    return LABELS.get(state, state)
