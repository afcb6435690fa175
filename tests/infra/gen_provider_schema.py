"""Regenerate tests/infra/fixtures/provider_schema.json from the exoscale provider's generated docs.

The exoscale provider's ``docs/`` pages are produced by tfplugindocs straight from the provider
schema, so their "Required / Optional / Read-Only" lists and "Nested Schema" sections are a faithful
offline mirror of the attribute names (unlike pulumiverse-exoscale, which pluralises list blocks,
e.g. ``healthchecks`` for ``healthcheck``). Usage, with a clone of exoscale/terraform-provider-exoscale:

    python tests/infra/gen_provider_schema.py /path/to/terraform-provider-exoscale v0.70.0

Only the resource and data-source types this project uses are kept, so the fixture stays small.
The other providers' entries (aws, random, archive, cloudinit) are short hand-kept lists in
OTHER_PROVIDERS below, taken from those providers' documentation.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

EXOSCALE_TYPES = {
    "resources": [
        "compute_instance", "iam_api_key", "iam_role", "instance_pool", "nlb",
        "nlb_service", "security_group", "security_group_rule", "ssh_key",
    ],
    "data-sources": ["instance_pool", "template"],
}
# Data sources go to their own map: a data source may share its name with a resource (instance_pool).
TOP = {"resources": "exoscale", "data-sources": "exoscale_data"}

# Hand-kept: only the arguments this project may use, from each provider's documentation.
OTHER_PROVIDERS: dict[str, dict] = {
    "aws_s3_bucket": {"kind": "resource", "required": [], "optional": ["bucket", "bucket_prefix", "force_destroy", "object_lock_enabled", "tags", "timeouts"], "read_only": ["id", "arn"], "blocks": {}},
    "aws_s3_object": {"kind": "resource", "required": ["bucket", "key"], "optional": ["source", "content", "content_type", "etag", "source_hash", "acl", "cache_control", "metadata", "tags", "force_destroy"], "read_only": ["id", "version_id"], "blocks": {}},
    "random_password": {"kind": "resource", "required": ["length"], "optional": ["special", "upper", "lower", "numeric", "min_special", "min_upper", "min_lower", "min_numeric", "override_special", "keepers"], "read_only": ["id", "result", "bcrypt_hash"], "blocks": {}},
    "random_id": {"kind": "resource", "required": ["byte_length"], "optional": ["keepers", "prefix"], "read_only": ["id", "hex", "dec", "b64_url", "b64_std"], "blocks": {}},
    "archive_file": {"kind": "data", "required": ["type", "output_path"], "optional": ["source_dir", "source_file", "source_content", "source_content_filename", "excludes", "exclude_symlink_directories", "output_file_mode"], "read_only": ["id", "output_md5", "output_sha", "output_sha256", "output_base64sha256", "output_size"], "blocks": {"source": {}}},
    "cloudinit_config": {"kind": "data", "required": [], "optional": ["gzip", "base64_encode", "boundary"], "read_only": ["id", "rendered"], "blocks": {"part": {"required": ["content"], "optional": ["content_type", "filename", "merge_type"], "read_only": [], "blocks": {}}}},
}

ITEM = re.compile(r"^- `([a-z0-9_]+)` \(([^)]*)\)")
HEADING = {"### Required": "required", "### Optional": "optional", "### Read-Only": "read_only",
           "Required:": "required", "Optional:": "optional", "Read-Only:": "read_only"}


def _empty() -> dict:
    return {"required": [], "optional": [], "read_only": [], "blocks": {}}


def parse_doc(text: str) -> dict:
    """Turn one tfplugindocs page into {required, optional, read_only, blocks{name: {...}}}."""
    top = _empty()
    nested: dict[str, dict] = {}
    current, section = top, None
    kinds: dict[str, str] = {}
    for line in text.splitlines():
        line = line.rstrip()
        m = re.match(r"^### Nested Schema for `([a-z0-9_.]+)`", line)
        if m:
            current = nested.setdefault(m.group(1), _empty())
            section = None
            continue
        if line in HEADING:
            section = HEADING[line]
            continue
        m = ITEM.match(line)
        if m and section:
            name, typ = m.group(1), m.group(2)
            current[section].append(name)
            kinds[name] = typ
            if "Block" in typ or "Attributes" in typ:
                current.setdefault("kinds", {})[name] = "block" if "Block" in typ else "attribute"
    # attach nested schemas (dotted paths) to their parents
    for path in sorted(nested, key=lambda p: p.count(".")):
        parts = path.split(".")
        node = top
        for part in parts[:-1]:
            node = node["blocks"].setdefault(part, _empty())
        node["blocks"].setdefault(parts[-1], _empty())
        merged = node["blocks"][parts[-1]]
        for key in ("required", "optional", "read_only"):
            merged[key] = nested[path][key]
        if "kinds" in nested[path]:
            merged["kinds"] = nested[path]["kinds"]
    return top


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    repo, ref = argv[1], argv[2]
    out: dict = {"source": f"exoscale/terraform-provider-exoscale {ref} docs/ (tfplugindocs)", "exoscale": {}, "exoscale_data": {},
                 "other": OTHER_PROVIDERS}
    for folder, names in EXOSCALE_TYPES.items():
        for name in names:
            text = subprocess.run(["git", "-C", repo, "show", f"{ref}:docs/{folder}/{name}.md"],
                                  check=True, capture_output=True, text=True).stdout
            schema = parse_doc(text)
            schema["kind"] = "resource" if folder == "resources" else "data"
            out[TOP[folder]][f"exoscale_{name}"] = schema
    target = Path(__file__).parent / "fixtures" / "provider_schema.json"
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
