"""Parser for the HIERARCHY section of a BVH file.

Accepted beyond the textbook layout: any channel order and any subset of the six channels on any
joint; channel names in any letter case; ``End Site`` leaves, and ``End`` blocks that carry
channels (they become ordinary joints named ``<parent>_End``); several ROOTs; joint names with
spaces or ``:``; a ``{`` on the joint's own line; lines starting with ``#`` or ``//`` (comments,
kept aside as source metadata because exporters write user and take names there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from processing.motion.errors import RejectedRecording
from processing.motion.formats.number_table import NUMBER_RE
from processing.motion.limits import MAX_TRACKS

CHANNEL_NAMES = {
    name.lower(): name
    for name in ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")
}
_MAX_NODES = 4 * MAX_TRACKS  # joints plus end sites
_MAX_NAME = 200


@dataclass
class Node:
    """One ROOT/JOINT/End block, in order of appearance (so parents precede children)."""

    name: str
    parent: int
    line: int
    is_end: bool
    offset: tuple[float, float, float] | None = None
    channels: list[str] = field(default_factory=list)
    children: int = 0

    @property
    def is_track(self) -> bool:
        """End Site leaves are geometry only; every other node is a joint with a track."""
        return not self.is_end or bool(self.channels) or self.children > 0


@dataclass
class Hierarchy:
    nodes: list[Node]
    comments: list[str]


@dataclass(frozen=True)
class _Token:
    text: str
    line: int


def short_name(name: str) -> str:
    """A joint name fit for a donor-facing message."""
    return name if len(name) <= 40 else name[:37] + "..."


def _bad(message: str) -> RejectedRecording:
    return RejectedRecording("bvh.bad_structure", message)


def _tokenize(text: str) -> tuple[list[_Token], list[str]]:
    tokens: list[_Token] = []
    comments: list[str] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(("#", "//")):
            comments.append(stripped)
            continue
        for word in stripped.split():
            # "Hips{" and "}}" appear in hand-edited files; braces are tokens of their own.
            for part in word.replace("{", " { ").replace("}", " } ").split():
                tokens.append(_Token(part, line_no))
    return tokens, comments


def parse_hierarchy(text: str) -> Hierarchy:
    """Parse the text before the MOTION line. Raises RejectedRecording (bvh.*) on any defect."""
    tokens, comments = _tokenize(text)
    if not tokens or tokens[0].text.upper() != "HIERARCHY":
        raise _bad("The file does not start with HIERARCHY. Export the recording again as BVH.")
    nodes: list[Node] = []
    open_nodes: list[int] = []
    pos = 1
    while pos < len(tokens):
        token = tokens[pos]
        keyword = token.text.upper()
        pos += 1
        if keyword in ("ROOT", "JOINT", "END"):
            pos = _open_node(tokens, pos, token, nodes, open_nodes)
        elif token.text == "}":
            if not open_nodes:
                raise _bad(f"Line {token.line} closes a joint that was never opened.")
            node = nodes[open_nodes.pop()]
            if node.offset is None:
                raise _bad(f"Joint '{short_name(node.name)}' has no OFFSET (line {node.line}).")
        elif keyword == "OFFSET":
            pos = _read_offset(tokens, pos, token, nodes, open_nodes)
        elif keyword == "CHANNELS":
            pos = _read_channels(tokens, pos, token, nodes, open_nodes)
        else:
            raise _bad(f"Line {token.line} has an unexpected word in the skeleton description.")
    if open_nodes:
        raise _bad("The skeleton description ends before every joint is closed with '}'.")
    if not nodes:
        raise _bad("The file describes no skeleton (no ROOT joint).")
    return Hierarchy(nodes, comments)


def _open_node(
    tokens: list[_Token], pos: int, token: _Token, nodes: list[Node], open_nodes: list[int]
) -> int:
    keyword = token.text.upper()
    if keyword == "ROOT" and open_nodes:
        raise _bad(f"Line {token.line}: a ROOT joint cannot sit inside another joint.")
    if keyword != "ROOT" and not open_nodes:
        raise _bad(f"Line {token.line}: a joint appears outside any ROOT.")
    words = []
    while pos < len(tokens) and tokens[pos].line == token.line and tokens[pos].text != "{":
        words.append(tokens[pos].text)
        pos += 1
    if pos >= len(tokens) or tokens[pos].text != "{":
        raise _bad(f"Line {token.line}: the joint is not followed by '{{'.")
    parent = open_nodes[-1] if open_nodes else -1
    name = " ".join(words)
    if keyword == "END":
        if parent >= 0:
            nodes[parent].children += 1
        name = f"{nodes[parent].name}_End" if words in ([], ["Site"], ["site"]) else name
    elif parent >= 0:
        nodes[parent].children += 1
    if not name:
        raise _bad(f"Line {token.line}: a joint has no name.")
    if len(name) > _MAX_NAME:
        raise _bad(f"Line {token.line}: a joint name is longer than {_MAX_NAME} characters.")
    if len(nodes) >= _MAX_NODES or sum(n.is_track for n in nodes) > MAX_TRACKS:
        raise RejectedRecording(
            "motion.too_many_tracks",
            f"The skeleton has more than {MAX_TRACKS} joints, more than we accept.",
        )
    nodes.append(Node(name=name, parent=parent, line=token.line, is_end=keyword == "END"))
    open_nodes.append(len(nodes) - 1)
    return pos + 1


def _current(token: _Token, nodes: list[Node], open_nodes: list[int]) -> Node:
    if not open_nodes:
        raise _bad(f"Line {token.line}: {token.text} appears outside any joint.")
    return nodes[open_nodes[-1]]


def _read_offset(
    tokens: list[_Token], pos: int, token: _Token, nodes: list[Node], open_nodes: list[int]
) -> int:
    node = _current(token, nodes, open_nodes)
    if node.offset is not None:
        raise _bad(f"Joint '{short_name(node.name)}' has two OFFSET lines (line {token.line}).")
    words = [t.text for t in tokens[pos : pos + 3]]
    if len(words) != 3 or not all(NUMBER_RE.fullmatch(w.encode()) for w in words):
        raise _bad(f"Line {token.line}: OFFSET needs three plain numbers.")
    x, y, z = (float(w) for w in words)
    node.offset = (x, y, z)
    return pos + 3


def _read_channels(
    tokens: list[_Token], pos: int, token: _Token, nodes: list[Node], open_nodes: list[int]
) -> int:
    node = _current(token, nodes, open_nodes)
    count_text = tokens[pos].text if pos < len(tokens) else ""
    if not count_text.isascii() or not count_text.isdigit():
        raise _bad(f"Line {token.line}: CHANNELS must be followed by the number of channels.")
    count = int(count_text)
    if node.channels or count > 6:
        raise RejectedRecording(
            "bvh.bad_channel",
            f"Joint '{short_name(node.name)}' declares more than six channels (line {token.line}).",
        )
    names = [t.text for t in tokens[pos + 1 : pos + 1 + count]]
    channels = [CHANNEL_NAMES.get(n.lower(), "") for n in names]
    if len(channels) != count or "" in channels or len(set(channels)) != count:
        raise RejectedRecording(
            "bvh.bad_channel",
            f"Line {token.line}: joint '{short_name(node.name)}' lists an unknown or repeated "
            "channel. Channels must be Xposition, Yposition, Zposition, Xrotation, Yrotation "
            "or Zrotation.",
        )
    node.channels = channels
    return pos + 1 + count
