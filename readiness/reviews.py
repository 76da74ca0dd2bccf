"""Rules of reviews that need no database: content hashing for sign-offs."""

from .hashing import content_hash


def review_content(review):
    """What a sign-off covers: the exact checklist version and every answer."""
    version = review.checklist_version
    return {
        "review": review.id,
        "service_id": review.service_id,
        "checklist": {
            "id": version.checklist_id,
            "version": version.version,
            "content_hash": version.content_hash,
        },
        "answers": sorted(
            (
                {"item": a.item_id, "status": a.status, "evidence": a.evidence, "link": a.link}
                for a in review.answers
            ),
            key=lambda a: a["item"],
        ),
    }


def review_content_hash(review):
    return content_hash(review_content(review))
