"""Waivers (DESIGN.md "Waivers"): a team asks to leave one item of a review unmet for a
while, with a reason and a compensating control; a consultant who did not ask grants or
refuses it. A granted waiver that has not expired makes its item count as satisfied.

Pure: no Flask, no database. The one rule of what a waiver does to an item is
`holds`, read by domain.reviews.blocker_for (submission and approval) and by the gate.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from .inputs import InvalidInput, day_start


class WaiverState(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"

    @property
    def label(self):
        return {"requested": "Waiver requested", "granted": "Waived",
                "refused": "Waiver refused", "withdrawn": "Waiver withdrawn"}[self]


WAIVER_STATES = tuple(WaiverState)
# A request or a grant stands for the item: another request waits for it to end.
ACTIVE_STATES = (WaiverState.REQUESTED, WaiverState.GRANTED)
# When a checklist does not set `max_waiver_days`.
DEFAULT_MAX_WAIVER_DAYS = 90
MAX_TEXT = 5_000
# Teams ask while they fill a review in; consultants decide until the review is decided.
# Decided before submission too: what a consultant signs off cannot change under them.
REQUESTABLE_REVIEW_STATES = ("draft", "changes_requested")
DECIDABLE_REVIEW_STATES = REQUESTABLE_REVIEW_STATES
SEPARATION_OF_DUTIES = ("You asked for this waiver, so another consultant must decide it "
                        "(separation of duties).")


def expires_at(expires_on: date) -> datetime:
    """A waiver holds until the start (00:00 UTC) of its expiry date: "expires on DATE"
    means it no longer holds on that day."""
    return day_start(expires_on)


@dataclass(frozen=True)
class Waiver:
    """What the rules look at of a waiver."""

    item_id: str
    state: str
    expires_on: date

    def holds(self, now: datetime) -> bool:
        """Does it make its item count as satisfied at `now`? Granted and not expired."""
        return self.state == WaiverState.GRANTED and now < expires_at(self.expires_on)

    def has_expired(self, now: datetime) -> bool:
        return self.state == WaiverState.GRANTED and now >= expires_at(self.expires_on)


def expired_on_review(waivers, now: datetime) -> Waiver | None:
    """The first granted waiver among `waivers` to have expired by `now`, or None."""
    expired = [w for w in waivers if w.has_expired(now)]
    return min(expired, key=lambda w: (w.expires_on, w.item_id)) if expired else None


def max_waiver_days(content) -> int:
    return content.get("max_waiver_days") or DEFAULT_MAX_WAIVER_DAYS


@dataclass(frozen=True)
class WaiverRequest:
    item_id: str
    reason: str
    control: str
    expires_on: date


def parse_request(*, item_id, reason, control, expires_on, today: date, max_days: int,
                  known_items) -> tuple[WaiverRequest | None, dict]:
    """A WaiverRequest from form or API text, or (None, {field: message})."""
    errors = {}
    reason, control, expires_text = (reason or "").strip(), (control or "").strip(), (
        expires_on or "").strip()
    if item_id not in known_items:
        errors["item"] = "Choose an item of this review's checklist."
    for field, value, what in (("reason", reason, "why the item cannot be met now"),
                               ("control", control, "what limits the risk meanwhile")):
        if not value:
            errors[field] = f"Say {what}."
        elif len(value) > MAX_TEXT:
            errors[field] = f"At most {MAX_TEXT:,} characters."
    expiry = None
    try:
        expiry = date.fromisoformat(expires_text) if len(expires_text) == 10 else None
    except ValueError:
        expiry = None
    latest = today + timedelta(days=max_days)
    if expiry is None:
        errors["expires_on"] = "Give the expiry date as YYYY-MM-DD."
    elif expiry <= today:
        errors["expires_on"] = "The expiry date must be after today."
    elif expiry > latest:
        errors["expires_on"] = (f"A waiver of this checklist may last at most {max_days} "
                                f"days: until {latest.isoformat()} at the latest.")
    if errors:
        return None, errors
    return WaiverRequest(item_id, reason, control, expiry), {}


def check_request(review_state: str, active_on_item: bool) -> None:
    """:raise InvalidInput: when a waiver of the item may not be asked for now."""
    if review_state not in REQUESTABLE_REVIEW_STATES:
        raise InvalidInput("Waivers are asked for while the review is a draft or sent "
                           "back for changes.")
    if active_on_item:
        raise InvalidInput("This item already has a waiver requested or granted.")


def check_decision(*, verdict: str, state: str, review_state: str, is_consultant: bool,
                   requested_by_decider: bool) -> str:
    """The state a consultant's `verdict` (grant or refuse) leads to.

    :raise InvalidInput: when the decision is not allowed; the message says why.
    """
    if verdict not in ("grant", "refuse"):
        raise InvalidInput("Choose grant or refuse.")
    if not is_consultant:
        raise InvalidInput("Only a consultant decides waivers.")
    if requested_by_decider:
        raise InvalidInput(SEPARATION_OF_DUTIES)
    if state != WaiverState.REQUESTED:
        raise InvalidInput(f"This waiver is already {WaiverState(state).value}.")
    if review_state not in DECIDABLE_REVIEW_STATES:
        raise InvalidInput("Waivers are decided while the review is a draft or sent back "
                           "for changes: this one is " + review_state.replace("_", " ") + ".")
    return WaiverState.GRANTED if verdict == "grant" else WaiverState.REFUSED


def frozen(waivers) -> list[dict]:
    """The granted waivers as a sign-off freezes them (its content hash covers these).

    `waivers`: objects with item_id, state, reason, control, expires_on,
    requested_by_id, decided_by_id and comment."""
    return sorted(({"item": w.item_id, "reason": w.reason, "control": w.control,
                    "expires_on": w.expires_on.isoformat(),
                    "requested_by": w.requested_by_id, "granted_by": w.decided_by_id,
                    "comment": w.comment}
                   for w in waivers if w.state == WaiverState.GRANTED),
                  key=lambda w: w["item"])
