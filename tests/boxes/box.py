"""Command line for the boxes:

  python3 -m tests.boxes.box build [FLAVOUR...]        build/restore rootfs tarballs
  python3 -m tests.boxes.box boot NAME [-f FLAVOUR] [--keep] [--no-shim]
  python3 -m tests.boxes.box exec NAME [CMD...]        (default: an interactive sh)
  python3 -m tests.boxes.box reboot NAME               (needs --keep at boot)
  python3 -m tests.boxes.box stop NAME [--kill]
  python3 -m tests.boxes.box list
  python3 -m tests.boxes.box check                     leftovers on the host (rc 1 if any)
  python3 -m tests.boxes.box clean                     stop all CLI boxes, drop their state

Boxes booted here live in the session directory $SHIM_BOX_WORK/cli.
"""
import argparse
import os
import sys
import time

from . import flavours, install, leftovers, rootfs
from .session import Session

CLI_SESSION = "cli"


def cmd_build(args):
    # Sequential on purpose: in parallel, two mmdebstraps on a small CI machine
    # were slower than one after the other (and alpine needs sysv first anyway).
    for name in args.flavours or list(flavours.FLAVOURS):
        started = time.monotonic()
        path = rootfs.ensure(name)
        print(f"{name}: {path} ({time.monotonic() - started:.1f}s)")


def cmd_boot(args):
    session = Session.named(CLI_SESSION)
    flavour = args.flavour or args.name
    flavours.get(flavour)
    layers = [] if args.no_shim else [install.install_layer(session, flavour)]
    box = session.new_box(args.name, flavour, layers=layers, keep_upper=args.keep)
    took = box.boot()
    print(f"{args.name}: {flavour} box up in {took:.2f}s, PID 1 is host pid {box.init_pid}")


def cmd_exec(args):
    box = Session.named(CLI_SESSION).box(args.name)
    argv = box.exec_argv(args.command or ["/bin/sh", "-l"])
    os.execvp(argv[0], argv)


def cmd_reboot(args):
    box = Session.named(CLI_SESSION).box(args.name)
    print(f"{args.name}: rebooted in {box.reboot():.2f}s")


def cmd_stop(args):
    box = Session.named(CLI_SESSION).box(args.name)
    started = time.monotonic()
    box.stop(graceful=not args.kill)
    print(f"{args.name}: stopped in {time.monotonic() - started:.2f}s")


def cmd_list(args):
    for box in Session.named(CLI_SESSION).boxes():
        state = f"running (host pid {box.init_pid})" if box.running else "stopped"
        print(f"{box.state_dir.name}\t{box.spec.flavour}\t{state}")


def cmd_check(args):
    problems = leftovers.find()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def cmd_clean(args):
    Session.named(CLI_SESSION).close()


def parser():
    top = argparse.ArgumentParser(prog="python3 -m tests.boxes.box", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("build")
    p.add_argument("flavours", nargs="*")
    p.set_defaults(run=cmd_build)
    p = sub.add_parser("boot")
    p.add_argument("name")
    p.add_argument("-f", "--flavour")
    p.add_argument("--keep", action="store_true", help="upper layer on disk (reboot)")
    p.add_argument("--no-shim", action="store_true", help="do not install the project")
    p.set_defaults(run=cmd_boot)
    p = sub.add_parser("exec")
    p.add_argument("name")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(run=cmd_exec)
    for verb, run in (("reboot", cmd_reboot), ("stop", cmd_stop)):
        p = sub.add_parser(verb)
        p.add_argument("name")
        if verb == "stop":
            p.add_argument("--kill", action="store_true", help="SIGKILL, no orderly halt")
        p.set_defaults(run=run)
    for verb, run in (("list", cmd_list), ("check", cmd_check), ("clean", cmd_clean)):
        sub.add_parser(verb).set_defaults(run=run)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
