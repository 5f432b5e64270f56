"""Every intermediate tensor of a forward pass, recorded by name with its meaning."""

from explorer.trace.pseudocode import ALGORITHMS, Algorithm
from explorer.trace.record import Trace, hooks_attached, record
from explorer.trace.splice import record_edit
from explorer.trace.steps import Step, describe

__all__ = ["ALGORITHMS", "Algorithm", "Step", "Trace", "describe", "hooks_attached", "record",
           "record_edit"]
