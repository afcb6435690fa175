"""Self-monitoring: a handler's last outcome as a node-exporter textfile (.prom), written atomically
(`replace`, which discovery's target file uses too)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

Labels = Mapping[str, str]
Sample = float | list[tuple[Labels, float]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(metrics: Mapping[str, Sample], help_text: Mapping[str, str] | None = None,
           types: Mapping[str, str] | None = None, const_labels: Labels | None = None) -> str:
    """Pure: metrics in Prometheus text format, gauges unless `types` names another type (a
    counter must end in `_total`). A list value gives one labelled sample each; `const_labels`
    go on every sample (the tick's `pool`), a sample's own label of the same name wins."""
    lines: list[str] = []
    for name in sorted(metrics):
        if help_text and name in help_text:
            lines.append(f"# HELP {name} {help_text[name]}")
        lines.append(f"# TYPE {name} {(types or {}).get(name, 'gauge')}")
        value = metrics[name]
        samples = value if isinstance(value, list) else [({}, value)]
        for own, number in samples:
            labels = {**(const_labels or {}), **own}
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{name}{{{inner}}} {float(number)!r}" if inner else f"{name} {float(number)!r}")
    return "\n".join(lines) + "\n"


def write(directory: str | None, name: str, text: str) -> None:
    """Replace `<directory>/<name>.prom` atomically; a missing directory or None is a no-op."""
    if directory and os.path.isdir(directory):
        replace(os.path.join(directory, f"{name}.prom"), text)


def replace(path: str, text: str) -> None:
    """Write `path` atomically (a temporary file beside it, renamed over it), readable by all."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
