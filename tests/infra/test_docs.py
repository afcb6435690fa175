"""The docs hold together: deploy.md's sections, and every relative link and quoted command of README.md and docs/."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra import docscan
from tests.infra.conftest import REPO


def test_deploy_doc_has_the_required_sections() -> None:
    text = (REPO / "docs" / "deploy.md").read_text()
    for heading in ("## Deploy", "## Watch", "## Inspect the bucket", "## Destroy", "## Hourly cost",
                    "## What was exercised, and what only a real account would show", "Not exercised"):
        assert heading in text, heading
    assert "Prices and source date" in text and "EUR" in text


# Every relative link and every quoted command of the project's Markdown resolves (tests/infra/docscan.py reads it).
LINKED = sorted([REPO / "README.md", REPO / "CHANGELOG.md", *(REPO / "docs").rglob("*.md")])
QUOTING = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
DEV_MODULES = {"sandbox": "sandbox", "acceptance": "acceptance", "test": "pytest"}


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def broken_links(path: Path) -> list[str]:
    """The links of one Markdown file whose file or heading anchor does not exist."""
    bad = []
    for line, target in docscan.links(path.read_text()):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            bad.append(f"{_rel(path)}:{line}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in docscan.anchors(dest.read_text()):
            bad.append(f"{_rel(path)}:{line}: {target} (no such heading)")
    return bad


@functools.cache
def help_text(module: str, path: tuple[str, ...]) -> str:
    """`python -m MODULE [SUB…] --help`, run from the repository; '' when it does not exit 0."""
    run = subprocess.run([sys.executable, "-m", module, *path, "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    return run.stdout if run.returncode == 0 else ""


def bad_commands(path: Path, verbs: set[str]) -> list[str]:
    """The quoted commands of one file whose verb, module or flags do not exist."""
    bad = []
    for cmd in docscan.commands(path.read_text()):
        where = f"{_rel(path)}:{cmd.line}"
        if cmd.verb is not None and cmd.verb not in verbs:
            bad.append(f"{where}: ./dev {cmd.verb} (no such verb)")
            continue
        module = cmd.module if cmd.verb is None else DEV_MODULES.get(cmd.verb)
        if module is None:
            continue
        if not help_text(module, ()):
            bad.append(f"{where}: python -m {module} (no such module, or its --help fails)")
            continue
        bad += [f"{where}: python -m {module} {flag} (no such option)"
                for flag in docscan.unknown_flags(cmd.args, functools.partial(help_text, module))]
    return bad


@pytest.mark.parametrize("path", LINKED, ids=_rel)
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path) == []


@pytest.mark.parametrize("path", QUOTING, ids=_rel)
def test_every_quoted_command_verb_module_and_flag_exists(path: Path) -> None:
    assert bad_commands(path, docscan.dev_verbs((REPO / "dev").read_text())) == []


def test_the_checks_catch_a_broken_link_a_wrong_flag_and_an_unknown_verb(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A heading\n")
    doc = tmp_path / "doc.md"
    doc.write_text("[ok](there.md#a-heading) [gone](missing.md) [bad anchor](there.md#nope)\n\n"
                   "`./dev sandbox --fast --no-such-flag` and `./dev nope`; `./dev sandbox`, `--out`, `--neither`\n\n"
                   "```\npython -m functions.inspect history --since 1h --until 2h\n```\n")
    assert broken_links(doc) == ["doc.md:1: missing.md (no such file)",
                                 "doc.md:1: there.md#nope (no such heading)"]
    assert [b.split(": ", 1)[1] for b in bad_commands(doc, {"sandbox"})] == [
        "python -m sandbox --no-such-flag (no such option)",
        "./dev nope (no such verb)",
        "python -m sandbox --neither (no such option)",
        "python -m functions.inspect history --until (no such option)",
    ]


def test_the_readme_is_a_five_minute_read() -> None:
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= 150, f"README.md has {lines} lines"
