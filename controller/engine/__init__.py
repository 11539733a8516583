"""The engine: the generic reconciler, dependency-ordered execution, and (later) the controller loop."""
