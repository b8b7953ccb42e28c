"""Run send() from inside the service (protected: ourselves and our ancestors). argv: READY_DIR with tracking.json;
writes READY_DIR/caller.out."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

from shim.proc import killer, membership  # noqa: E402
from shim.proc.tracking import Tracking  # noqa: E402

ready = sys.argv[1]
with open(os.path.join(ready, "tracking.json")) as handle:
    tracking = Tracking.from_dict(json.load(handle))
out = os.path.join(ready, "caller.out")
report = killer.send(lambda snapshot: membership.compute(snapshot, tracking).pids, signal.SIGTERM)
with open(out + ".tmp", "w") as handle:
    json.dump({"pid": os.getpid(), "ppid": os.getppid(), "signalled": [list(r) for r in report.signalled]}, handle)
os.rename(out + ".tmp", out)
signal.pause()
