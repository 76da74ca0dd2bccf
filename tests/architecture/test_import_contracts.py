"""The house's direction holds: `lint-imports` keeps the contracts of pyproject.toml, and
fails when someone adds an import they forbid (tried on a copy of the package)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # left out of the quick run (README)

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root):
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True,
                          text=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """A copy of the package and its contracts, to break."""
    root = tmp_path_factory.mktemp("house")
    shutil.copytree(ROOT / "readiness", root / "readiness",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("domain/lifecycle.py", "import flask", "the domain is pure"),
    ("domain/reviews.py", "from ..models import Review", "the domain is pure"),
    ("api/openapi.py", "from ..web import errors", "never import each other"),
    ("web/home.py", "from ..database import is_busy", "only the infrastructure"),
    ("queries/facts.py", "from ..commands import facts", "faces -> commands -> queries"),
    ("domain/charts.py", "from ..queries import facts", "faces -> commands -> queries"),
])
def test_a_forbidden_import_breaks_a_contract(copy, module, line, contract):
    path = copy / "readiness" / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # noqa\n")
    try:
        result = lint_imports(copy)
    finally:
        path.write_text(original)
    assert result.returncode == 1, result.stdout
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert len(broken) >= 1 and any(contract in row for row in broken), result.stdout


def test_no_driver_level_read_is_left():
    sources = "\n".join(p.read_text() for p in (ROOT / "readiness").rglob("*.py"))
    assert "PreparedRead" not in sources
