"""Pure reading of the project's Markdown: relative links, heading anchors and the commands quoted in code.

No file or process access here; tests/infra/test_docs.py feeds it the files and the `--help` texts.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

LINK_RE = re.compile(r"!?\[(?:[^\]`]|`[^`]*`)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REF_LINK_RE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)")
SPAN_RE = re.compile(r"(`+)(.+?)\1")
SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# `python -m X`, `.venv/bin/python -m X`, `python3 -m X`, or `./dev VERB`, then the rest of that command.
COMMAND_RE = re.compile(r"(?:^|(?<=[\s(=\"'`]))(?:(?:\S*/)?python3?\s+-m\s+(?P<module>[A-Za-z_][\w.]*)"
                        r"|\./dev\s+(?P<verb>[a-z][\w-]*))(?P<rest>[^;|&)#`]*)")
FLAG_RE = re.compile(r"^\[?(--?[A-Za-z][\w-]*)")


@dataclass(frozen=True)
class Command:
    """One quoted command: `python -m MODULE` or `./dev VERB`, with its words and flags in order."""
    module: str | None
    verb: str | None
    args: tuple[str, ...]
    line: int


def _blocks(text: str) -> Iterator[tuple[bool, int, str]]:
    """(in a fenced code block, first line number, text) for each code line and each prose paragraph."""
    fenced = False
    para: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            if para:
                yield False, start, " ".join(para)
                para = []
            fenced = not fenced
            continue
        if fenced:
            yield True, number, line
        elif line.strip():
            if not para:
                start = number
            para.append(line.strip())
        elif para:
            yield False, start, " ".join(para)
            para = []
    if para:
        yield False, start, " ".join(para)


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link or image outside code, the scheme ones (https:, mailto:) left out."""
    found = []
    for fenced, line, block in _blocks(text):
        if fenced:
            continue
        prose = SPAN_RE.sub("", block)
        targets = [m.group(1) for m in LINK_RE.finditer(prose)]
        ref = REF_LINK_RE.match(prose)
        if ref:
            targets.append(ref.group(1))
        found += [(line, t) for t in targets if not SCHEME_RE.match(t)]
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a Markdown file outside code, repeated headings numbered as GitHub does."""
    seen: dict[str, int] = {}
    out = set()
    for fenced, _, block in _blocks(text):
        match = re.match(r"^#{1,6}\s+(.*)$", block)
        if fenced or not match:
            continue
        base = slug(match.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def _words(code: str) -> tuple[str, ...]:
    return tuple(w for w in (a.strip("[],.:'\"") for a in code.split()) if w)


def commands(text: str) -> list[Command]:
    """Every `python -m MODULE …` and `./dev VERB …` quoted in a code span or a code block line (shell
    comments left out). A span of flags alone (`--fast`) right after a command's span, or after such
    spans, belongs to that command."""
    found = []
    for fenced, line, block in _blocks(text):
        last: Command | None = None
        for code in [re.sub(r"(^|\s)#.*", "", block)] if fenced else [m.group(2) for m in SPAN_RE.finditer(block)]:
            matches = list(COMMAND_RE.finditer(code))
            for m in matches:
                last = Command(m.group("module"), m.group("verb"), _words(m.group("rest")), line)
                found.append(last)
            if matches:
                continue
            if last is not None and flag_of(code.strip()):
                found.append(Command(last.module, last.verb, _words(code), line))
            else:
                last = None
    return found


def flag_of(word: str) -> str | None:
    """The option name a quoted word stands for (`--out` of `--out=DIR`, `[--fast]`), or None for a value."""
    match = FLAG_RE.match(word)
    return match.group(1) if match else None


def has_option(help_text: str, flag: str) -> bool:
    """Whether an argparse `--help` text lists this option."""
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text) is not None


def prog_of(help_text: str) -> str:
    """The program name an argparse usage line starts with (for a sub-command, the parent's and its name)."""
    first = help_text.strip().splitlines()[0] if help_text.strip() else ""
    return re.sub(r"^usage:\s*", "", first).split(" [")[0].strip()


def unknown_flags(words: tuple[str, ...], help_of: Callable[[tuple[str, ...]], str]) -> list[str]:
    """The flags among a command's words that its parser does not list; a word that names a sub-command
    (its `--help` usage ends with it) moves the check to that sub-command's help."""
    path: tuple[str, ...] = ()
    bad = []
    for word in words:
        flag = flag_of(word)
        if flag is not None:
            if not has_option(help_of(path), flag):
                bad.append(" ".join((*path, flag)))
        elif (re.fullmatch(r"[a-z][\w-]*", word) and has_option(help_of(path), word)
              and prog_of(help_of((*path, word))).endswith(" ".join((*path, word)))):
            path = (*path, word)
    return bad


def dev_verbs(dev_script: str) -> set[str]:
    """The verbs of the `./dev` script's `case "$task" in` (its `*)` fallback left out)."""
    body = dev_script.split('case "$task" in', 1)[1].split("esac", 1)[0]
    return {verb for m in re.finditer(r"^\s*([\w|-]+)\)", body, re.M) for verb in m.group(1).split("|")}
