"""Numbers for issue 11: boot-to-running time, stop time and PID 1's memory, for systemctl as PID 1
of the test image in runc and in a namespace box. Run as root from the checkout:

    python3 -m tests.container.measure [ROUNDS] [KIND...]      # default: 5 rounds, runc nsbox

boot: from starting the container to `systemctl is-system-running` saying running (polled every
50 ms through runc exec / nsenter), and PID 1's own "Startup finished" figure (from its start).
stop: from SIGTERM (runc kill / kill from the host, as docker stop) to the container's exit.
memory: Rss and Pss of PID 1 from /proc/1/smaps_rollup once running."""
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.container import image, machines


def one(kind, session, layer, root, serial):
    name = "shim-m%s-%d" % (session.name, serial)
    cls = machines.RuncMachine if kind == "runc" else machines.BoxMachine
    machine = cls(name, [layer, root], session / name).start()
    try:
        boot = machine.wait_running()
        own = float(re.search(r"Startup finished in ([0-9.]+)s", machine.console_text()).group(1))
        rollup = machine.sh("cat /proc/1/smaps_rollup").stdout
        memory = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(Rss|Pss):\s+(\d+) kB", rollup, re.M)}
        time.sleep(0.5)
        began = time.monotonic()
        machine.signal("TERM")
        status = machine.wait(30)
        stop = time.monotonic() - began
        return {"boot": boot, "pid1_boot": own, "stop": stop, "status": status, **memory}
    finally:
        machine.destroy()


def main(argv) -> int:
    rounds = int(argv[0]) if argv and argv[0].isdigit() else 5
    kinds = [a for a in argv if not a.isdigit()] or ["runc", "nsbox"]
    root = image.rootfs()
    session = Path(tempfile.mkdtemp(prefix="m", dir=image.work_dir()))
    layer = image.shim_layer(session / "layer")
    serial = 0
    for kind in kinds:
        runs = []
        for _ in range(rounds):
            serial += 1
            runs.append(one(kind, session, layer, root, serial))
        med = {key: statistics.median(r[key] for r in runs) for key in ("boot", "pid1_boot", "stop", "Rss", "Pss")}
        print("%-6s %d rounds, median: boot to running %.3fs (PID 1's own %.3fs), SIGTERM to exit %.3fs, "
              "PID 1 Rss %d kB Pss %d kB; exit statuses %s; boot range %.3f-%.3fs, stop range %.3f-%.3fs"
              % (kind, rounds, med["boot"], med["pid1_boot"], med["stop"], med["Rss"], med["Pss"],
                 sorted({r["status"] for r in runs}), min(r["boot"] for r in runs), max(r["boot"] for r in runs),
                 min(r["stop"] for r in runs), max(r["stop"] for r in runs)))
    import shutil
    shutil.rmtree(session, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
