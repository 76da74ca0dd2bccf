"""Web pages, one blueprint per area."""
