"""The one error type of checkpoint import: it names the file and what is wrong."""

from __future__ import annotations


class CheckpointError(ValueError):
    """A model folder cannot be opened: missing, unsupported or damaged files.

    The message always names the file (or folder) and the tensor or field at fault,
    so that it can be shown to the user as it is.
    """
