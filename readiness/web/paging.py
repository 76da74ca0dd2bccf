"""Page numbers in query strings, as every paged list reads them."""


def parse_page(raw, notices):
    """The page number `raw` names (from 1), or 1 with a notice for anything else."""
    if raw is None or raw == "":
        return 1
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 1_000_000:
        return int(raw)
    notices.append(f"“{raw}” is not a page number, so the first page is shown.")
    return 1
