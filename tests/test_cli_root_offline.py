"""--root=DIR is an image, not a running machine (systemctl-behaviour.md 2.10, issue 8.1).

systemd 252 refuses every VERB_ONLINE_ONLY verb with --root before doing anything; the offline
verbs work on the files below DIR. Here the image's script is hostile: run, it leaves a mark, and
its pidfile names a real process of this test (standing in for a host daemon). Nothing may run
the script, read that process as the unit's, or signal it.
"""

import os
import signal

import pytest

from shim.context import Context, OfflineError

ONLINE = [("start",), ("stop",), ("restart",), ("reload",), ("try-restart",),
          ("reload-or-restart",), ("force-reload",), ("condrestart",), ("status",),
          ("is-active",), ("check",), ("is-failed",), ("kill",), ("kill", "-s", "KILL"),
          ("show",), ("cat",), ("reset-failed",)]
ONLINE_NO_UNIT = [("list-units",), ("daemon-reload",), ("daemon-reexec",), ("show-environment",),
                  ("status",), ()]
OFFLINE = [("enable",), ("disable",), ("reenable",), ("is-enabled",), ("mask",), ("unmask",),
           ("preset",)]


@pytest.fixture
def image(root):
    """An image whose init script would mark its execution, with a pidfile naming a live process
    of ours (what a host daemon would be)."""
    bystander = root.spawn_tagged_sleep()
    pidfile = os.path.join(root.pids, "evil.pid")
    with open(pidfile, "w") as handle:
        handle.write("%d\n" % bystander.pid)
    ran = os.path.join(root.marks, "evil.ran")
    root.raw("evil", """\
        #!/bin/sh
        ### BEGIN INIT INFO
        # Provides:          evil
        # Default-Start:     2 3 4 5
        # Default-Stop:      0 1 6
        # Short-Description: runs on the host if anyone lets it
        ### END INIT INFO
        PIDFILE=%s
        echo "$1" >> %s
        """ % (pidfile, ran))
    root.bystander, root.ran = bystander, ran
    return root


def _untouched(image):
    assert not os.path.exists(image.ran), "the image's script was executed"
    assert image.bystander.poll() is None, "a process named by the image's pidfile was signalled"
    assert not os.path.exists(os.path.join(image.path, "run", "systemctl-shim")), \
        "state was written below the image"


@pytest.mark.parametrize("args", ONLINE, ids=" ".join)
def test_online_verb_refused_before_anything(image, args):
    r = image.run_offline(*args, "evil")
    assert (r.rc, r.out) == (1, "")
    assert r.err == "Verb '%s' cannot be used with --root= or --image=.\n" % args[0]
    _untouched(image)


@pytest.mark.parametrize("args", ONLINE_NO_UNIT, ids=lambda a: " ".join(a) or "(no verb)")
def test_online_verb_without_unit_refused(image, args):
    r = image.run_offline(*args)
    verb = args[0] if args else "list-units"
    assert (r.rc, r.out, r.err) == (1, "", "Verb '%s' cannot be used with --root= or --image=.\n" % verb)
    _untouched(image)


@pytest.mark.parametrize("args", OFFLINE, ids=" ".join)
def test_offline_verb_works_on_the_image_only(image, args):
    r = image.run_offline(*args, "evil")
    assert r.rc in (0, 1) and "cannot be used with --root" not in r.err, str(r)
    assert "processes are not looked at" not in r.err, str(r)
    _untouched(image)


def test_offline_enable_is_enabled_round_trip(image):
    assert image.run_offline("enable", "evil").rc == 0
    assert os.path.islink(os.path.join(image.path, "etc", "rc2.d", "S01evil"))
    r = image.run_offline("is-enabled", "evil")
    assert (r.rc, r.out) == (0, "enabled\n")
    r = image.run_offline("list-unit-files", "--no-legend", "evil.service")
    assert r.rc == 0 and r.out.split()[:2] == ["evil.service", "enabled"]
    assert image.run_offline("disable", "evil").rc == 0
    assert (image.run_offline("is-enabled", "evil").out, image.run_offline("get-default").out) == \
        ("disabled\n", "multi-user.target\n")
    r = image.run_offline("is-system-running")
    assert (r.rc, r.out) == (1, "offline\n")
    _untouched(image)


def test_enable_now_changes_links_then_refuses_to_start(image):
    r = image.run_offline("enable", "--now", "evil")
    assert r.rc == 1 and r.err.endswith("--now cannot be used with --root=.\n")
    _untouched(image)


def test_the_same_tree_online_does_run_it(image):
    """The control: without --root (the tree as the live machine's files) the script runs, so
    the refusals above are not vacuous."""
    r = image.run("show", "-p", "MainPID", "--value", "evil")
    assert r.out == "%d\n" % image.bystander.pid          # the pidfile is read online
    image.bystander.send_signal(signal.SIGKILL)
    image.bystander.wait()
    os.unlink(os.path.join(image.pids, "evil.pid"))     # else a start leaving no daemon fails
    assert image.run("start", "evil").rc == 0 and os.path.exists(image.ran)


def test_context_refuses_processes_offline(tmp_path):
    """The tripwire behind the dispatch: with --root, code that reaches for /proc fails loudly."""
    ctx = Context(root=str(tmp_path), offline=True)
    with pytest.raises(OfflineError):
        _ = ctx.proc
    assert Context(root=str(tmp_path)).proc == "/proc"
