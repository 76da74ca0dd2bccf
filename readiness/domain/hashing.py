"""Canonical JSON and its SHA-256: the one way content is fingerprinted."""

import hashlib
import json


def canonical_json(content):
    """`content` as JSON with sorted keys and no whitespace, so equal data hashes equal."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content):
    """SHA-256 (hex) of `content`'s canonical JSON."""
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()
