"""The HTTP API under /api/v1: JSON only, bearer tokens, problem+json errors."""

from .metrics import bp as metrics_bp
from .views import bp

__all__ = ["bp", "metrics_bp"]
