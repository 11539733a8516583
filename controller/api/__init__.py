"""The spec language: envelopes, one model per kind, references and CRD generation.

Nothing here performs I/O or knows about AWS clients; every other layer builds on it.
"""
