"""One module per kind: its resource client (observe/create/update/delete), registered in registry.py."""
