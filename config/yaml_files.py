"""Reading the YAML files of config/: libyaml's parser where PyYAML was built with it, else PyYAML's own."""

from __future__ import annotations

from typing import Any

import yaml

#: libyaml parses the keywords file in 3 ms where the pure-Python loader takes 18 ms; both are safe loaders.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """The YAML document as plain data (mappings, lists, strings, numbers); no tags are executed.

    A broken file is read again by PyYAML's own parser, whose message says what it found where ("expected
    ',' or ']', but got '<stream end>'"), so the operator's one line is the same with or without libyaml.
    """
    try:
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)


def compose(text: str) -> yaml.Node | None:
    """The document's node tree with line marks: read only when a mistake must be pointed at."""
    return yaml.compose(text, Loader=SAFE_LOADER)
