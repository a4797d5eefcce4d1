"""Errors a user can cause and fix: the command line prints them as one line, never a traceback."""

from __future__ import annotations


class EncoreError(Exception):
    """Base class for every error caused by bad input (files, settings, payloads)."""


class SeedError(EncoreError):
    """A seed MIDI file that cannot be read or holds no notes."""


class CheckpointError(EncoreError):
    """A checkpoint folder that is missing or inconsistent."""
