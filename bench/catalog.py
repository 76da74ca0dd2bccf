"""Time `flask catalog import` of a generated catalog, then the same import again.

    python bench/catalog.py [--components 10000] [--database-url sqlite:///...]

Writes N components (and a group per 50 of them) as Backstage descriptor files, 100
documents a file, into a temporary folder; imports them into an empty database (the
default: a fresh SQLite file in a temporary folder) with the app's own command, then
imports them again unchanged. Prints both times and their ratio (issue 13's targets:
under 30 s for 10,000 on SQLite, the unchanged re-import under a fifth of that).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PER_FILE = 100
PER_GROUP = 50


def write_catalog(folder, n):
    groups = (n + PER_GROUP - 1) // PER_GROUP
    (folder / "groups.yaml").write_text("\n---\n".join(
        f"apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-{g:04d}\n"
        f"spec:\n  type: team\n  profile:\n    displayName: Team {g}\n  children: []\n"
        for g in range(groups)))
    for start in range(0, n, PER_FILE):
        docs = []
        for i in range(start, min(n, start + PER_FILE)):
            docs.append(
                f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n"
                f"  name: service_{i:05d}\n  title: Service {i}\n"
                f"  description: Does thing {i}.\n  annotations:\n"
                f"    readiness/tier: \"{1 + i % 3}\"\n"
                f"    github.com/project-slug: acme/service-{i:05d}\n  links:\n"
                f"    - url: https://runbooks.example.com/service-{i:05d}\n"
                f"      title: Runbook\n"
                f"    - url: https://grafana.example.com/d/service-{i:05d}\n"
                f"      type: dashboard\nspec:\n  type: service\n"
                f"  lifecycle: {'production' if i % 4 else 'experimental'}\n"
                f"  owner: group:default/team-{i // PER_GROUP:04d}\n")
        (folder / f"components-{start // PER_FILE:04d}.yaml").write_text("---\n".join(docs))


def timed_import(env, folder):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "catalog", "import",  # noqa: S603
                           str(folder)], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    return seconds, done.stdout.strip().splitlines()[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--database-url", default=None,
                        help="an empty database (default: a new SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="readiness-catalog-") as tmp:
        folder = Path(tmp) / "catalog"
        folder.mkdir()
        write_catalog(folder, args.components)
        url = args.database_url or f"sqlite:///{tmp}/catalog.sqlite"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-catalog"}
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        first, summary = timed_import(env, folder)
        print(f"first import   {first:7.2f} s  {summary}")
        again, summary = timed_import(env, folder)
        print(f"same again     {again:7.2f} s  {summary}")
        print(f"again / first  {again / first:7.3f} (target < 0.2; first < 30 s for 10,000)")


if __name__ == "__main__":
    main()
