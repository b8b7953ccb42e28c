"""The engine's operations on units, like systemd's manager: `jobs` (start, stop, restart, reload
and the rest, under the unit's lock, keeping its record truthful) and `kill` (unit_kill()).

Verbs (`shim/verbs/`) turn a command line into calls here and print the results; the engine
knows nothing of argv or of how systemctl words its messages, except the error texts systemd's
manager itself returns (carried in `ShimError`).
"""
