"""Safe YAML reading with one-line errors and bounded cost.

Cards and zoo files are data, never code: ``yaml.SafeLoader`` only, and every parse error is
turned into one line naming the file and the position. A file is read whole only when it is a
regular file under the size limit (:mod:`harness.common.textio`), and the node graph is checked
*before* it is constructed: anchors and aliases may repeat a few values, but a document whose
expansion exceeds the node budget (a "billion laughs" alias bomb) or whose nesting is too deep
is refused in milliseconds instead of exhausting memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.common.errors import ValidationError
from harness.common.limits import CARD_BYTES, NESTING, YAML_NODES
from harness.common.textio import read_text


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_expansion(node: yaml.Node, path: Path) -> None:
    """Refuse a node graph whose alias-expanded size or depth is above the limits (iterative)."""
    budget, max_depth = YAML_NODES.value, NESTING.value
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    while stack:
        current, depth, done = stack.pop()
        if depth > max_depth:
            raise ValidationError(f"{path}: YAML nesting deeper than {max_depth} levels (at line {current.start_mark.line + 1}); "
                                  f"{NESTING.how()}")
        key = id(current)
        if key in sizes and not done:
            continue
        children = _children(current)
        if done:
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > budget:
                raise ValidationError(f"{path}: YAML anchors/aliases expand to more than {budget} nodes "
                                      f"(near line {current.start_mark.line + 1}); remove the aliases "
                                      f"({YAML_NODES.how()})")
            continue
        sizes[key] = 0  # in progress: a recursive alias counts as 0 here, then fails to construct
        stack.append((current, depth, True))
        stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)


#: libyaml's parser where PyYAML was built with it (10x faster per card, the same documents and marks).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, path: Path) -> Any:
    """Parse one YAML document from ``text`` with the alias budget; errors name ``path``."""
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_expansion(node, path)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ValidationError(f"{path}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise ValidationError(f"{path}: YAML nested too deeply to read; flatten it ({NESTING.how()})") from None
    finally:
        loader.dispose()


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse ``path`` as a YAML mapping, or raise a one-line :class:`ValidationError`."""
    path = Path(path)
    data = parse_yaml(read_text(path, "YAML file", CARD_BYTES), path)
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: expected a YAML mapping of fields, got {type(data).__name__}")
    return data
