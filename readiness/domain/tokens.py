"""API tokens as text: how one looks, and the digest stored in its place."""

import hashlib

# Not a secret: marks tokens so secret scanners find leaked ones.
TOKEN_PREFIX = "rdy_"  # noqa: S105  # nosec B105
VISIBLE_CHARACTERS = 12
MAX_LENGTH = 200


def digest(token):
    """What is stored of a token: its SHA-256, never the text."""
    return hashlib.sha256(token.encode()).hexdigest()


def may_be_token(presented):
    """Worth looking up: not empty, and not longer than any token we make."""
    return bool(presented) and len(presented) <= MAX_LENGTH
