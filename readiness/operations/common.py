"""What all use cases share: the error for input a person must correct, and formats."""

import re

from .. import checklists

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_PATTERN = re.compile(checklists.SLUG_PATTERN)
MIN_PASSWORD_LENGTH = 8


class InvalidInput(ValueError):
    """Input a person must correct; the message says what and how."""
