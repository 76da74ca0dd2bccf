"""The pure rules: no Flask, no SQLAlchemy. Each face and use case asks these."""
