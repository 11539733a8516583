"""SNS's attribute maps (a topic's, a subscription's): every value is a string on the wire."""

from __future__ import annotations

import json
from typing import Any


def attributes_to_send(state: dict[str, Any], *, strings: dict[str, str], documents: dict[str, str],
                       booleans: dict[str, str]) -> dict[str, str]:
    """The managed state's fields named in the maps (spec field -> SNS attribute) as SNS attributes:
    strings as they are, documents as JSON, booleans as "true"/"false"."""
    attributes = {name: state[key] for key, name in strings.items() if key in state}
    attributes.update({name: json.dumps(state[key]) for key, name in documents.items() if key in state})
    attributes.update({name: str(state[key]).lower() for key, name in booleans.items() if key in state})
    return attributes
