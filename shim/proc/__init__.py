"""The process model: snapshots of /proc, process identity, tracking, membership and killing.

It knows nothing of units or backends; see docs/ARCHITECTURE.md, "The process model".
"""
