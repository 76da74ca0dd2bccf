"""`flask teams create` and `flask users create`."""

from sqlalchemy import select
from werkzeug.security import check_password_hash

from readiness.extensions import db
from readiness.models import AuditEntry, User


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


def test_create_a_user_with_roles_and_teams(runner):
    assert runner.invoke(args=["teams", "create", "payments", "--name", "Payments"]).exit_code == 0
    result = runner.invoke(args=["users", "create", "Ana@Example.com", "--name", "Ana Lima",
                                 "--password", "long enough", "--role", "consultant",
                                 "--role", "admin", "--team", "payments"])
    assert result.exit_code == 0, result.output
    ana = user("ana@example.com")
    assert ana.roles == ["consultant", "admin"]
    assert [team.slug for team in ana.teams] == ["payments"]
    assert check_password_hash(ana.password_hash, "long enough")
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry.action == "user:create"
    assert "long enough" not in str(entry.changes)  # never record secrets
    assert entry.changes["roles"] == ["admin", "consultant"]


def test_the_password_is_prompted_for_when_not_given(runner):
    result = runner.invoke(args=["users", "create", "bo@example.com", "--name", "Bo"],
                           input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(user("bo@example.com").password_hash, "s3cret-pass")


def test_bad_input_exits_1_with_a_message_and_adds_nobody(runner):
    runner.invoke(args=["users", "create", "taken@example.com", "--name", "T",
                        "--password", "long enough"])
    cases = [
        (["not-an-email"], "is not an email address"),
        (["taken@example.com"], "already exists"),
        (["x@example.com", "--role", "wizard"], "unknown role wizard"),
        (["x@example.com", "--team", "nowhere"], "no team nowhere"),
        (["x@example.com", "--password", "short"], "at least 8 characters"),
    ]
    for args, message in cases:
        password = [] if "--password" in args else ["--password", "long enough"]
        result = runner.invoke(args=["users", "create", *args, "--name", "X", *password])
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output
    assert db.session.scalars(select(User.email)).all() == ["taken@example.com"]


def test_team_slugs_are_checked(runner):
    result = runner.invoke(args=["teams", "create", "Bad Slug", "--name", "B"])
    assert result.exit_code == 1
    assert "is not a slug" in result.output
