"""The header every JSON document the harness writes starts with.

report.json, sensitivity.json, select-layer.json, explain.json and sharing.json are read by
other tools (``harness compare``, notebooks, CI); they all say which harness wrote them and
when, and the ones about a zoo say which zoo, in the same words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from harness import __version__
from harness.model.zoo import Zoo


def utc_now() -> str:
    """The creation time documents carry: UTC, ISO 8601, whole seconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def zoo_identity(zoo: Zoo, *, description: bool = False, cards: bool = False) -> dict[str, Any]:
    """``{"name", "version"}`` of a zoo, with its description and per-card content hashes on request."""
    block: dict[str, Any] = {"name": zoo.name, "version": zoo.version}
    if description:
        block["description"] = zoo.description
    if cards:
        block["cards"] = {c.id: c.content_hash() for c in zoo.cards}
    return block


def document_header(kind: str | None = None, *, zoo: Zoo | None = None, zoo_description: bool = False,
                    zoo_cards: bool = False) -> dict[str, Any]:
    """``harness_version``, ``created``, then ``kind`` and ``zoo`` where given; documents add their own keys after."""
    header: dict[str, Any] = {"harness_version": __version__, "created": utc_now()}
    if kind is not None:
        header["kind"] = kind
    if zoo is not None:
        header["zoo"] = zoo_identity(zoo, description=zoo_description, cards=zoo_cards)
    return header
