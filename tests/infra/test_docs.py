"""docs/deploy.md states deploy/watch/inspect/destroy, the cost with prices and date, and what was exercised."""
from __future__ import annotations

from tests.infra.conftest import REPO


def test_deploy_doc_has_the_required_sections() -> None:
    text = (REPO / "docs" / "deploy.md").read_text()
    for heading in ("## Deploy", "## Watch", "## Inspect the bucket", "## Destroy", "## Hourly cost",
                    "## What was exercised, and what only a real account would show", "Not exercised"):
        assert heading in text, heading
    assert "Prices and source date" in text and "EUR" in text
