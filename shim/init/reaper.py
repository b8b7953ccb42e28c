"""Collecting every zombie PID 1 inherits, and noticing the ones that were a unit's main process.

A unit's keeper (`shim/proc/anchor.py`) is child subreaper of the unit's tree and reaps it. Only
when the keeper is gone (killed, OOM) does the unit's main process end up a child of PID 1: then
PID 1 writes the exit record the keeper would have written and runs the after-exit handling
(Result=, ExecStopPost=, Restart=) in a child, `python3 -m shim.engine.afterexit UNIT_ID`.
"""

import os

from shim.proc.identity import ProcessRef

AFTER_EXIT_MODULE = "shim.engine.afterexit"


class Reaper:
    def __init__(self, state_dir: str, proc_root: str = "/proc", log=None):
        self.state_dir = state_dir
        self.proc_root = proc_root
        self.log = log or (lambda text: None)
        self._stamp = None
        self._mains = {}              # ProcessRef -> unit id, from the records under units/
        self.reaped = 0

    def reap(self):
        """Reap every child that has ended; yields (pid, ProcessRef or None, wait status).

        waitid(WNOWAIT) first looks without reaping, so the zombie's start time can still be read
        from /proc: the (pid, start time) pair is what records name, a bare pid is not enough."""
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if info is None or info.si_pid == 0:
                return
            ref = ProcessRef.of(info.si_pid, self.proc_root)
            try:
                _, status = os.waitpid(info.si_pid, 0)
            except ChildProcessError:
                continue
            self.reaped += 1
            yield info.si_pid, ref, status

    def unit_of(self, ref):
        """The unit whose recorded main process `ref` is, or None."""
        if ref is None:
            return None
        self._refresh()
        return self._mains.get(ref)

    def _refresh(self) -> None:
        """Re-read the records only when the units directory changed (records are replaced by
        rename, which changes the directory's mtime)."""
        units = os.path.join(self.state_dir, "units")
        try:
            stamp = os.stat(units).st_mtime_ns
        except OSError:
            self._mains, self._stamp = {}, None
            return
        if stamp == self._stamp:
            return
        from shim.state import StateStore
        store = StateStore(self.state_dir, self.proc_root)
        mains = {}
        for unit_id, record in store.all_records().items():
            main = record.tracking.main if record.tracking else None
            if main is not None:
                mains[ProcessRef(main.pid, main.starttime)] = unit_id
        self._mains, self._stamp = mains, stamp

    def main_process_ended(self, unit_id: str, ref: ProcessRef, status: int, spawn) -> None:
        """Its keeper is gone: record how the main process ended, hand over to after-exit."""
        from shim.proc.anchor import exit_record, write_exit
        from shim.state import StateStore
        store = StateStore(self.state_dir, self.proc_root)
        if not store.main_exit(unit_id, ref):
            write_exit(store.exit_path(unit_id), exit_record(ref.pid, ref.starttime, status))
        self.log("%s: main process %d ended and its keeper is gone; running the after-exit handling."
                 % (unit_id, ref.pid))
        import importlib.util
        if importlib.util.find_spec(AFTER_EXIT_MODULE) is None:
            self.log("%s: %s is not available: Restart= is not applied." % (unit_id, AFTER_EXIT_MODULE))
            return
        invocation = store.load(unit_id).invocation_id
        spawn(AFTER_EXIT_MODULE, unit_id, invocation)
