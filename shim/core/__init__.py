"""The service engine's data, like systemd's src/core: one model of a unit whatever defined it.

* `config.py` — `UnitConfig`: a service as systemd models it (dependencies, Type, Exec*, kill and
  timeout settings, [Install], where it came from). Loaders produce it: the SysV/LSB and OpenRC
  backends the way systemd-sysv-generator does, later native unit files.
* `states.py` — ActiveState, SubState and Result as named constants, and the one table of
  allowed transitions.

Nothing here reads the machine or knows a backend: loaders fill these, verbs and renderers read
them.
"""
