"""The HTTP API under /api/v1: JSON only, bearer tokens, problem+json errors."""

from .views import bp

__all__ = ["bp"]
