"""docs/configuration.md against the code: the environment the handlers read with its `Config` defaults, the
values terraform writes into that environment, and the variables of terraform/variables.tf."""
from __future__ import annotations

import re

import pytest

from functions.common import config
from tests.infra.conftest import REPO, TERRAFORM_DIR

DOC = (REPO / "docs" / "configuration.md").read_text()
CODE_RE = re.compile(r"^`([^`]*)`$")
# The required variables, valid, and nothing else: every other variable takes its default.
MINIMAL = {"EXOSCALE_KEY": "EXOk", "EXOSCALE_SECRET": "s", "EXOSCALE_ZONE": "at-vie-1",
           "INSTANCEPOOL_ID": "pool-1", "SOS_BUCKET": "bucket-1"}


def table(heading: str) -> dict[str, list[str]]:
    """The rows of the Markdown table under a `## heading`, keyed by the first cell's code span."""
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split(" | ") for line in section.splitlines() if line.startswith("| `")]
    return {row[0].strip("` "): [cell.strip() for cell in row[1:]] for row in rows}


ENV = table("The handlers' environment")
TF = table("Terraform variables")


def names_config_reads() -> set[str]:
    source = "".join((REPO / "functions" / "common" / f).read_text() for f in ("config.py", "pools.py"))
    return set(re.findall(r"(?:\(env,\s*|env\.get\()\"([A-Z_]+)\"", source))


def terraform_variables() -> dict[str, str | None]:
    """Each variable of terraform/variables.tf and its default as written (quotes of a string dropped)."""
    text = (TERRAFORM_DIR / "variables.tf").read_text()
    out: dict[str, str | None] = {}
    for name, body in re.findall(r'^variable "(\w+)" \{\n(.*?)^\}', text, re.M | re.S):
        default = re.search(r"^  default\s*=\s*(.+)$", body, re.M)
        value = default.group(1).strip() if default else None
        out[name] = value[1:-1] if value and re.fullmatch(r'"[^"]*"', value) and value != '""' else value
    return out


def deployed_literals() -> dict[str, str]:
    """`NAME=value` lines terraform writes into the handlers' environment whose value is a literal."""
    found: dict[str, str] = {}
    for tf in TERRAFORM_DIR.rglob("*.tf"):
        found.update(re.findall(r'^\s*"([A-Z][A-Z_]+)=([^"$]+)",$', tf.read_text(), re.M))
    return {name: value for name, value in found.items() if name in names_config_reads()}


def test_the_environment_table_lists_exactly_what_config_reads() -> None:
    assert set(ENV) == names_config_reads()


@pytest.mark.parametrize("name", sorted(ENV))
def test_each_documented_default_is_the_config_default(name: str) -> None:
    default = ENV[name][0]
    if default == "required":
        with pytest.raises(config.ConfigError, match=name):
            config.load({k: v for k, v in MINIMAL.items() if k != name})
        return
    assert name not in MINIMAL
    literal = CODE_RE.match(default)
    if literal:  # setting a variable to its documented default changes nothing
        value = literal.group(1).replace("<zone>", MINIMAL["EXOSCALE_ZONE"])
        assert config.load({**MINIMAL, name: value}) == config.load(MINIMAL)
    else:
        assert default.startswith("unset"), f"{name}: a default is `literal`, required or unset: …"


def test_the_on_the_vm_column_is_what_terraform_writes() -> None:
    literals = deployed_literals()
    assert literals, "no NAME=value lines found under terraform/"
    for name, value in literals.items():
        assert ENV[name][1] == f"`{value}`", name
    named = {v for cells in ENV.values() for v in re.findall(r"`var\.(\w+)`", cells[1])}
    assert named and named <= set(terraform_variables())


def test_the_terraform_table_is_variables_tf() -> None:
    variables = terraform_variables()
    assert set(TF) == set(variables)
    for name, default in variables.items():
        assert TF[name][0] == ("required" if default is None else f"`{default}`"), name
    for cells in TF.values():
        assert set(re.findall(r"`([A-Z][A-Z_]+)`", cells[1])) <= set(ENV)


def test_the_table_reader_sees_every_row() -> None:
    rows = sum(line.startswith("| `") for line in DOC.splitlines())
    assert len(ENV) + len(TF) == rows
