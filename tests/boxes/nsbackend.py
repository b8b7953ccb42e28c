"""testinfra backend "nsbox": runs each command inside a namespace box with
nsenter (its cgroup, all its namespaces and its root). `--hosts=nsbox://NAME`
names a box of the session in $SHIM_BOX_SESSION (set by conftest.py), or of the
CLI session when unset, so the same tests also run against `box boot` boxes."""
import os
import shlex

from testinfra.backend import base

from .cachedir import work_base
from .session import Session

CLI_SESSION = "cli"


def current_session():
    return Session(os.environ.get("SHIM_BOX_SESSION") or work_base() / CLI_SESSION)


class NsBoxBackend(base.BaseBackend):
    NAME = "nsbox"

    def __init__(self, name, *args, **kwargs):
        self.name = name
        super().__init__(name, *args, **kwargs)

    def box(self):
        return current_session().box(self.name)

    def run(self, command, *args, **kwargs):
        cmd = self.get_command(command, *args)
        argv = self.box().exec_argv(["/bin/sh", "-c", cmd])
        out = self.run_local(" ".join(shlex.quote(a) for a in argv))
        out.command = self.encode(cmd)
        return out
