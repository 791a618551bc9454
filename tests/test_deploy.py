"""The CI recipe in deploy/: ci.sh run for real (a fresh venv with feeds installed from this
checkout, publishing to moto's S3 server on loopback), and the GitHub Actions workflow kept to
the same commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from feeds.publish.plan import PUBLISHED
from feeds.writing import listed_files
from tests.conftest import EXAMPLES, ROOT
from tests.s3server import S3Server

CI = ROOT / "deploy" / "ci.sh"
WORKFLOW = ROOT / "deploy" / "github-actions.yml"


def run_ci(site: Path, s3: S3Server, dest: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(CI), dest],
        cwd=site,
        env={**os.environ, **s3.env(), "FEEDS_VENV": str(site.parent / "venv"), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.external
def test_ci_script_publishes_and_stops_a_risky_deploy(tmp_path: Path, s3: S3Server) -> None:
    site = tmp_path / "site"
    shutil.copytree(EXAMPLES, site / "records")
    shutil.copy(ROOT / "settings.yaml", site / "settings.yaml")
    bucket = s3.bucket()
    dest = f"s3://{bucket}/news"

    first = run_ci(site, s3, dest)
    assert first.returncode == 0, first.stdout + first.stderr
    steps = re.findall(r"^== (\w+)", first.stdout, re.MULTILINE)
    assert steps == ["install", "feeds", "feeds", "feeds", "feeds", "feeds"]
    assert "feeds fetch: nothing published yet" in first.stdout
    public = site / "public"
    assert re.search(
        rf"^feeds publish: {len(listed_files(public))} uploaded, 0 unchanged, 0 deleted, 0 failed",
        first.stdout,
        re.MULTILINE,
    )
    stored = s3.objects(bucket, "news/")
    assert {p: stored[p] for p in listed_files(public)} == {
        p: (public / p).read_bytes() for p in listed_files(public)
    }

    # Deleting the only record of a topic takes its feed away from its subscribers: risky.
    (site / "records" / "002_lunar-relay-satellite.txt").unlink()
    risky = run_ci(site, s3, dest)
    assert risky.returncode == 1, risky.stdout + risky.stderr
    assert "gone: topics/space.atom" in risky.stdout
    assert "not published (set FEEDS_ALLOW_RISKY=1 to publish)" in risky.stderr
    assert "== feeds publish" not in risky.stdout
    assert s3.objects(bucket, "news/") == stored

    allowed = run_ci(site, s3, dest, FEEDS_ALLOW_RISKY="1", FEEDS_PUBLISH_ARGS="--delete")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    now = s3.objects(bucket, "news/")
    assert "topics/space.atom" not in now
    assert set(now) == {*listed_files(public), PUBLISHED}


def commands(text: str, feeds: str) -> list[str]:
    """The feeds subcommands ``text`` runs, in order (comments left out)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return re.findall(re.escape(feeds) + r" (\w+)", "\n".join(lines))


def test_the_workflow_runs_the_same_commands_as_the_script() -> None:
    script = commands(CI.read_text(), '"$feeds"')
    workflow_text = WORKFLOW.read_text()
    workflow = commands(workflow_text, ".venv-deploy/bin/feeds")
    assert script == ["check", "build", "fetch", "diff", "publish"]
    assert workflow == script
    steps = yaml.safe_load(workflow_text)["jobs"]["publish"]["steps"]
    names = [step["name"].split(" (")[0] for step in steps if "name" in step]
    assert names == ["install", *(f"feeds {c}" for c in script)]
    assert "pip install --quiet '.[s3]'" in workflow_text
    assert 'install --quiet "$source[s3]"' in CI.read_text()
