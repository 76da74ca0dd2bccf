"""Reads: one loader per decision, building the domain's input from the database.

Every face that shows a decision (page, API, CLI, export) calls the same loader."""
