"""Where desired state comes from: a directory tree (and, later, a git repository)."""
