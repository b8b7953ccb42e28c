"""daemon-reload and the "changed on disk" warning (unit-files.md 14.6), with real processes:
a started native unit whose fragment or drop-ins change says NeedDaemonReload=yes and `status`
warns on stderr, until daemon-reload (or a restart) loads it again."""

import os
import time

from scripts import gone, wait_for
from shim.backends import unitcache

UNIT_DIR = os.path.join("lib", "systemd", "system")
ETC = os.path.join("etc", "systemd", "system")


def write(root, rel, text):
    path = os.path.join(root.path, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def warning(name):
    return ("Warning: The unit file, source configuration file or drop-ins of %s changed on disk. "
            "Run 'systemctl daemon-reload' to reload units.\n" % name)


def need(root, name):
    return root.run("show", "-p", "NeedDaemonReload", "--value", name).out.strip()


def later(path):
    """Touch `path` one second into the future: a change, whatever the clock's granularity."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, max(st.st_mtime_ns, time.time_ns()) + 10 ** 9))


def started(root, name="dr.service"):
    path = write(root, os.path.join(UNIT_DIR, name),
                 "[Unit]\nDescription=reload me\n[Service]\nExecStart=/usr/bin/env "
                 "SHIM_TEST_TAG=%s sleep 1000\n" % root.tag)
    r = root.run("start", name)
    assert (r.rc, r.err) == (0, ""), str(r)
    return path


def main_pid(root, name):
    return int(root.run("show", "-P", "MainPID", name).out or 0)


def test_unchanged_unit_needs_no_reload(root):
    started(root)
    assert need(root, "dr.service") == "no"
    r = root.run("status", "dr.service")
    assert r.rc == 0 and r.err == ""
    names = [line.partition("=")[0] for line in root.run("show", "dr.service").out.splitlines()]
    assert names.count("NeedDaemonReload") == 1           # systemd's place: after CanIsolate
    assert names.index("NeedDaemonReload") == names.index("CanIsolate") + 1
    assert root.run("show", "-p", "NeedDaemonReload", "nosuch.service").out == "NeedDaemonReload=no\n"


def test_edited_fragment_warns_until_daemon_reload(root):
    path = started(root)
    with open(path, "a") as handle:
        handle.write("# a comment\n")
    later(path)
    assert need(root, "dr.service") == "yes"
    r = root.run("status", "dr.service")
    assert r.rc == 0 and r.err == warning("dr.service"), str(r)
    assert "Active: active (running)" in r.out            # still the running unit
    r = root.run("daemon-reload")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert need(root, "dr.service") == "no"
    assert root.run("status", "dr.service").err == ""


def test_a_user_sees_what_root_sees(root):
    path = started(root)
    later(path)
    r = root.run("show", "-p", "NeedDaemonReload", "--value", "dr.service", user="nobody")
    assert r.out == "yes\n"
    assert root.run("daemon-reload").rc == 0
    r = root.run("show", "-p", "NeedDaemonReload", "--value", "dr.service", user="nobody")
    assert r.out == "no\n"
    assert root.run("status", "dr.service", user="nobody").err == ""


def test_added_and_removed_drop_in(root):
    started(root)
    dropin = write(root, os.path.join(ETC, "dr.service.d", "10-x.conf"), "[Unit]\nDescription=x\n")
    later(os.path.dirname(dropin))
    assert need(root, "dr.service") == "yes"
    assert root.run("daemon-reload").rc == 0
    assert need(root, "dr.service") == "no"
    os.unlink(dropin)
    assert need(root, "dr.service") == "yes"               # the stamp lists it: removal counts
    assert root.run("daemon-reload").rc == 0
    os.rmdir(os.path.dirname(dropin))
    assert need(root, "dr.service") == "yes"               # even the whole directory
    assert root.run("daemon-reload").rc == 0
    assert need(root, "dr.service") == "no"


def test_restart_loads_afresh_and_stopped_units_need_nothing(root):
    path = started(root)
    later(path)
    assert need(root, "dr.service") == "yes"
    time.sleep(1.1)                                        # past the touched mtime
    r = root.run("restart", "dr.service")
    assert r.rc == 0, str(r)
    assert need(root, "dr.service") == "no"                # a new start loads the new file
    pid = main_pid(root, "dr.service")
    assert root.run("stop", "dr.service").rc == 0 and wait_for(lambda: gone(pid))
    later(path)
    assert need(root, "dr.service") == "no"                # not loaded: nothing to reload
    assert root.run("status", "dr.service").err == ""


def test_never_started_unit_and_script_units_never_warn(root):
    path = write(root, os.path.join(UNIT_DIR, "idle.service"), "[Service]\nExecStart=/bin/true\n")
    later(path)
    assert need(root, "idle.service") == "no"
    root.daemon("scripted")
    assert root.run("start", "scripted").rc == 0
    later(os.path.join(root.init_d, "scripted"))
    assert need(root, "scripted") == "no"
    assert root.run("status", "scripted").err == ""
    assert root.run("stop", "scripted").rc == 0


def test_daemon_reload_needs_root(root):
    r = root.run("daemon-reload", user="nobody")
    assert (r.rc, r.err) == (1, "Failed to reload daemon: Access denied\n")


# --- the parse cache through the CLI ------------------------------------------------------------

def test_list_units_cache_is_shared_never_stale_and_not_written_with_root(root):
    paths = []
    for i in range(5):
        paths.append(write(root, os.path.join(UNIT_DIR, "c%d.service" % i),
                           "[Unit]\nDescription=before %d\n[Service]\nExecStart=/bin/true\n" % i))
    time.sleep(unitcache.RACY_NS / 1e9 + 0.1)             # files this fresh are never cached
    cache = os.path.join(root.state_dir(), unitcache.CACHE_NAME)
    first = root.run("list-units", "--all")
    assert "before 3" in first.out
    assert os.stat(cache).st_mode & 0o777 == 0o644
    assert root.run("list-units", "--all").out == first.out
    assert root.run("list-units", "--all", user="nobody").out == first.out
    st = os.stat(paths[3])
    with open(paths[3], "r+") as handle:                  # same size, same inode, same mtime
        handle.write("[Unit]\nDescription=after! 3\n")
    os.utime(paths[3], ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "after! 3" in root.run("list-units", "--all").out
    assert root.run("show", "-p", "Description", "--value", "c3.service").out == "after! 3\n"
    os.unlink(cache)
    r = root.run_offline("list-unit-files")
    assert r.rc == 0 and "c3.service" in r.out
    assert not os.path.exists(cache)                      # --root: the image is only read


def test_deleted_unit_file_of_a_running_unit_after_daemon_reload(root):
    """systemd [measured]: delete the file of a running unit + daemon-reload -> `Loaded:
    not-found` while still active (running); stop works; afterwards the unit is not found."""
    path = started(root)
    pid = main_pid(root, "dr.service")
    assert root.run("daemon-reload").rc == 0           # stamps what it is loaded from
    os.unlink(path)
    assert need(root, "dr.service") == "yes"            # its file is gone since
    assert root.run("daemon-reload").rc == 0
    assert need(root, "dr.service") == "no"
    r = root.run("status", "dr.service")
    assert r.rc == 0 and "Loaded: not-found" in r.out and "Active: active (running)" in r.out, str(r)
    assert root.run("show", "-p", "LoadState", "--value", "dr.service").out == "not-found\n"
    r = root.run("stop", "dr.service")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert wait_for(lambda: gone(pid))
    r = root.run("status", "dr.service")
    assert (r.rc, r.err) == (4, "Unit dr.service could not be found.\n")


def test_stamps_never_hold_a_root_only_secret(root):
    started(root)
    dropin = write(root, os.path.join(ETC, "dr.service.d", "secret.conf"),
                   "[Service]\nEnvironment=TOKEN=s3cret\n")
    os.chmod(dropin, 0o600)
    assert root.run("daemon-reload").rc == 0
    stamps = os.path.join(root.state_dir(), "loaded.marshal")
    assert os.stat(stamps).st_mode & 0o777 == 0o644
    with open(stamps, "rb") as handle:
        data = handle.read()
    assert b"dr.service" in data and b"s3cret" not in data
    assert need(root, "dr.service") == "no"


def test_start_stop_restart_warn_when_the_file_changed(root):
    """The warning on stderr of stop and restart too, systemd's text; gone after daemon-reload."""
    path = os.path.join(root.path, "lib", "systemd", "system", "warned.service")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("[Service]\nExecStart=/bin/sleep 1000\n")
    assert root.run("start", "warned").rc == 0
    time.sleep(0.05)
    with open(path, "a") as handle:
        handle.write("# edited\n")
    os.utime(path, (time.time() + 5, time.time() + 5))      # past the start, whatever the clock tick
    warning = ("Warning: The unit file, source configuration file or drop-ins of warned.service "
               "changed on disk. Run 'systemctl daemon-reload' to reload units.\n")
    r = root.run("restart", "warned")
    assert (r.rc, r.err) == (0, warning), r
    assert root.run("daemon-reload").rc == 0
    r = root.run("stop", "warned")
    assert (r.rc, r.err) == (0, ""), r
