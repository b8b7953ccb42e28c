"""The parse cache of native unit files (shim/backends/unitcache.py): a hit gives exactly what
parsing gives, any change of the files re-parses, and a damaged, foreign or hostile cache file
is ignored. Real files in a temporary tree; no root needed except where a test says so."""

import marshal
import os
import sys
import time
import zlib

import pytest

from shim.backends import unitcache
from shim.backends.native import UnitFiles
from shim.backends.unitcache import UnitCache, decode, encode
from shim.context import Context

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import unittree  # noqa: E402

LIB = "lib/systemd/system"
ETC = "etc/systemd/system"

RICH = """[Unit]
Description=rich %n
Documentation=man:rich(8) https://example.org/rich
After=network.target
Wants=other.service
ConditionPathExists=!/etc/rich/disabled
AssertPathIsDirectory=/tmp

[Service]
Type=forking
PIDFile=rich.pid
Environment="A=1 2" B=x
EnvironmentFile=-/etc/default/rich
ExecStartPre=-/bin/true pre
ExecStart=@/bin/sleep rich-sleep 1000
ExecStartPost=+/bin/true
ExecReload=:/bin/kill -HUP $MAINPID
ExecStop=!!/bin/kill $MAINPID
LimitNOFILE=1024:4096
LimitCORE=infinity
TimeoutStopSec=20s
Restart=on-failure
RestartSec=3
SuccessExitStatus=143 SIGUSR1
RestartPreventExitStatus=255
KillSignal=SIGINT
UMask=0027
Nice=5
RuntimeDirectory=rich rich/sub
User=daemon
SupplementaryGroups=adm
ProtectSystem=full
UnknownSetting=warns

[Install]
WantedBy=multi-user.target
Alias=rich-alias.service
"""


@pytest.fixture
def tree(tmp_path):
    root = str(tmp_path / "root")
    for d in (LIB, ETC):
        os.makedirs(os.path.join(root, d))
    tree.root = root
    tree.cache_path = str(tmp_path / "state" / unitcache.CACHE_NAME)
    return tree


def write(tree, rel, text, age=10):
    """Write a file whose mtime is `age` seconds in the past (its ctime is now, as always)."""
    path = os.path.join(tree.root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    past = time.time_ns() - age * 10 ** 9
    os.utime(path, ns=(past, past))
    return path


def files(tree, racy_ns=0, **kwargs):
    """A fresh command's view of the tree with the cache file. racy_ns=0: files just written
    may be cached (the racy rule has its own test)."""
    return UnitFiles(tree.root, cache=UnitCache(tree.cache_path, racy_ns=racy_ns, **kwargs))


def uncached(tree):
    return UnitFiles(tree.root).load


def cached_twice(tree, name):
    """(config from a cache miss, config from a hit, the second command's cache)."""
    first = files(tree)
    a = first.load(name)
    second = files(tree)
    b = second.load(name)
    return a, b, second.cache


# --- round trip -----------------------------------------------------------------------------------

def test_encode_decode_round_trip_for_every_debian_unit_and_a_rich_one(tree):
    for base, text in unittree.DEBIAN_UNITS.items():
        write(tree, "%s/%s.service" % (LIB, base), text)
    write(tree, LIB + "/rich.service", RICH)
    write(tree, LIB + "/tpl@.service", "[Service]\nExecStart=/bin/echo %i %I\n")
    load = uncached(tree)
    for name in list(unittree.DEBIAN_UNITS) + ["rich", "tpl@a-b"]:
        config = load(name + ".service")
        assert config.load_state == "loaded", config.load_error
        fields = encode(config)
        assert fields is not None
        assert decode(marshal.loads(marshal.dumps(fields))) == config


def test_a_hit_is_what_parsing_gives(tree):
    write(tree, LIB + "/rich.service", RICH)
    write(tree, ETC + "/rich.service.d/10-env.conf", "[Service]\nEnvironment=C=3\n")
    a, b, cache = cached_twice(tree, "rich.service")
    assert cache.hits == 1 and cache.misses == 0
    assert a == b == uncached(tree)("rich.service")
    assert b.environment == ("A=1 2", "B=x", "C=3") and b.exec_start[0].argv[0] == "rich-sleep"
    assert any("UnknownSetting" in w for w in b.warnings)     # warnings come back too


def test_cache_file_is_world_readable_and_framed(tree):
    write(tree, LIB + "/a.service", "[Service]\nExecStart=/bin/true\n")
    files(tree).load("a.service")
    st = os.stat(tree.cache_path)
    assert st.st_mode & 0o777 == 0o644              # users' list-units read it too
    with open(tree.cache_path, "rb") as handle:
        assert handle.read().startswith(unitcache.MAGIC)


@pytest.mark.parametrize("private", ["file", "directory"])
def test_units_with_a_file_only_root_may_read_are_never_cached(tree, private):
    """A drop-in holding a secret (0600, or in a 0700 directory) keeps its unit out of the
    world-readable cache; the unit still loads, parsed every time."""
    write(tree, LIB + "/sec.service", "[Service]\nExecStart=/bin/true\n")
    dropin = write(tree, ETC + "/sec.service.d/secret.conf", "[Service]\nEnvironment=TOKEN=s3cret\n")
    write(tree, LIB + "/pub.service", "[Service]\nExecStart=/bin/true\n")
    os.chmod(dropin if private == "file" else os.path.dirname(dropin),
             0o600 if private == "file" else 0o700)
    first = files(tree)
    assert first.load("sec.service").environment == ("TOKEN=s3cret",)
    first.load("pub.service")
    with open(tree.cache_path, "rb") as handle:
        data = handle.read()
    assert b"s3cret" not in data and b"pub.service" in data
    _, b, cache = cached_twice(tree, "sec.service")
    assert cache.hits == 0 and b.environment == ("TOKEN=s3cret",)


def test_listing_everything_writes_once_and_hits_next_time(tree):
    info = unittree.build(tree.root, count=60, running=2)
    first = files(tree)
    names = [n for n in first.all() if n.endswith(".service")]
    configs = {n: first.load(n) for n in names}
    second = files(tree)
    assert {n: second.load(n) for n in second.all() if n.endswith(".service")} == configs
    assert second.cache.misses == 0 and second.cache.hits >= len(info["units"]) - 2   # masks
    plain = UnitFiles(tree.root)
    assert {n: plain.load(n) for n in names} == configs


# --- every change re-parses -----------------------------------------------------------------------

def test_same_size_same_mtime_rewrite_is_seen(tree):
    """An edit within one clock tick keeps mtime_ns and size; inode or ctime still differ."""
    path = write(tree, LIB + "/e.service", "[Unit]\nDescription=AAAA\n[Service]\nExecStart=/bin/true\n")
    st = os.stat(path)
    assert files(tree).load("e.service").description == "AAAA"
    with open(path, "r+") as handle:                 # in place: same inode
        handle.write("[Unit]\nDescription=BBBB\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = os.stat(path)
    assert (again.st_size, again.st_mtime_ns, again.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert files(tree).load("e.service").description == "BBBB"


def test_replaced_file_with_the_same_mtime_is_seen(tree):
    path = write(tree, LIB + "/r.service", "[Unit]\nDescription=one\n[Service]\nExecStart=/bin/true\n")
    st = os.stat(path)
    assert files(tree).load("r.service").description == "one"
    tmp = path + ".new"
    with open(tmp, "w") as handle:
        handle.write("[Unit]\nDescription=two\n[Service]\nExecStart=/bin/true\n")
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.rename(tmp, path)                             # as dpkg and editors do
    assert files(tree).load("r.service").description == "two"


def test_recent_files_are_not_cached(tree):
    """git's racy rule: a file changed in the last RACY_NS is parsed every time."""
    write(tree, LIB + "/fresh.service", "[Service]\nExecStart=/bin/true\n", age=0)
    cache = UnitCache(tree.cache_path)               # the real threshold
    UnitFiles(tree.root, cache=cache).load("fresh.service")
    assert not os.path.exists(tree.cache_path)
    u = UnitFiles(tree.root)
    assert unitcache.is_racy(u.signature(u.find("fresh.service")), time.time_ns())


def test_unit_file_replaced_by_a_symlink(tree):
    path = write(tree, LIB + "/s.service", "[Unit]\nDescription=file\n[Service]\nExecStart=/bin/true\n")
    elsewhere = write(tree, "opt/s.service", "[Unit]\nDescription=link\n[Service]\nExecStart=/bin/true\n")
    assert files(tree).load("s.service").description == "file"
    os.unlink(path)
    os.symlink("/opt/s.service", path)
    config = files(tree).load("s.service")
    assert (config.description, config.fragment_path) == ("link", "/opt/s.service")
    os.unlink(elsewhere)                             # dangling now: the unit is gone
    assert files(tree).load("s.service").load_state == "not-found"


def test_drop_in_added_changed_and_removed(tree):
    write(tree, LIB + "/d.service", "[Unit]\nDescription=base\n[Service]\nExecStart=/bin/true\n")
    assert files(tree).load("d.service").description == "base"
    dropin = write(tree, ETC + "/d.service.d/10-a.conf", "[Unit]\nDescription=dropped\n")
    config = files(tree).load("d.service")
    assert (config.description, config.dropin_paths) == \
        ("dropped", ("/etc/systemd/system/d.service.d/10-a.conf",))
    write(tree, "etc/systemd/system/service.d/50-top.conf", "[Unit]\nDescription=top\n")
    assert files(tree).load("d.service").description == "top"     # sorted by file name
    os.unlink(os.path.join(tree.root, "etc/systemd/system/service.d/50-top.conf"))
    assert files(tree).load("d.service").description == "dropped"
    os.unlink(dropin)
    config = files(tree).load("d.service")
    assert (config.description, config.dropin_paths) == ("base", ())
    os.symlink("/dev/null", dropin)                  # a masked drop-in is listed, adds nothing
    config = files(tree).load("d.service")
    assert (config.description, len(config.dropin_paths)) == ("base", 1)


def test_new_alias_changes_names(tree):
    write(tree, LIB + "/n.service", "[Service]\nExecStart=/bin/true\n")
    assert files(tree).load("n.service").names == ("n.service",)
    os.symlink("n.service", os.path.join(tree.root, LIB, "n-alias.service"))
    assert files(tree).load("n.service").names == ("n.service", "n-alias.service")


def test_host_specifiers_are_never_cached(tree):
    write(tree, LIB + "/h.service", "[Unit]\nDescription=on %H\n[Service]\nExecStart=/bin/true\n")
    a, b, cache = cached_twice(tree, "h.service")
    assert a.description == "on " + os.uname().nodename
    assert cache.hits == 0 and a == b


# --- damaged, foreign and hostile cache files -----------------------------------------------------

def _warm(tree):
    write(tree, LIB + "/g.service", "[Unit]\nDescription=good\n[Service]\nExecStart=/bin/true\n")
    files(tree).load("g.service")
    with open(tree.cache_path, "rb") as handle:
        return handle.read()


def _frame(value):
    body = marshal.dumps(value)
    return unitcache.MAGIC + zlib.crc32(body).to_bytes(4, "big") + body


def _poison(tree, data):
    os.makedirs(os.path.dirname(tree.cache_path), exist_ok=True)
    with open(tree.cache_path, "wb") as handle:
        handle.write(data)
    os.chmod(tree.cache_path, 0o600)


def _entry(tree, fields):
    """A well-framed cache whose g.service entry has the right signature and these fields."""
    u = UnitFiles(tree.root)
    signature = u.signature(u.find("g.service"))
    return _frame({"g.service": marshal.dumps((signature, fields))})


@pytest.mark.parametrize("damage", [
    "truncated", "empty", "garbage", "bad-crc", "not-a-dict", "code-object", "wrong-type",
    "unknown-field", "bad-exec", "other-id", "bytes-in-tuple",
])
def test_damaged_or_hostile_cache_is_ignored(tree, damage):
    good = _warm(tree)
    right = uncached(tree)("g.service")
    data = {
        "truncated": lambda: good[:len(good) // 2],
        "empty": lambda: b"",
        "garbage": lambda: os.urandom(4096),
        "bad-crc": lambda: good[:-1] + bytes([good[-1] ^ 0xff]),
        "not-a-dict": lambda: _frame(["g.service"]),
        "code-object": lambda: _frame({"g.service": marshal.dumps(compile("1", "x", "eval"))}),
        "wrong-type": lambda: _entry(tree, {"id": "g.service", "description": 5}),
        "unknown-field": lambda: _entry(tree, {"id": "g.service", "no_such_field": "x"}),
        "bad-exec": lambda: _entry(tree, {"id": "g.service", "exec_start": (("/bin/x",),)}),
        "other-id": lambda: _entry(tree, {"id": "evil.service"}),
        "bytes-in-tuple": lambda: _entry(tree, {"id": "g.service", "names": (b"x",)}),
    }[damage]()
    _poison(tree, data)
    u = files(tree)
    assert u.load("g.service") == right
    assert u.cache.hits == 0


def test_a_poisoned_cache_is_replaced_by_a_good_one(tree):
    _warm(tree)
    _poison(tree, b"garbage")
    files(tree).load("g.service")
    _, b, cache = cached_twice(tree, "g.service")
    assert cache.hits == 1 and b.description == "good"


def test_world_writable_cache_is_ignored(tree):
    _warm(tree)
    os.chmod(tree.cache_path, 0o666)
    u = files(tree, writable=False)
    assert u.load("g.service").description == "good" and u.cache.hits == 0


def test_cache_owned_by_someone_else_is_ignored(tree):
    if os.geteuid() != 0:
        pytest.skip("needs root to chown")
    _warm(tree)
    os.chown(tree.cache_path, 65534, 65534)
    u = files(tree, writable=False)
    assert u.load("g.service").description == "good" and u.cache.hits == 0


def test_symlinked_cache_is_not_followed(tree):
    good = _warm(tree)
    elsewhere = tree.cache_path + ".real"
    with open(elsewhere, "wb") as handle:
        handle.write(good)
    os.chmod(elsewhere, 0o600)
    os.unlink(tree.cache_path)
    os.symlink(elsewhere, tree.cache_path)
    u = files(tree, writable=False)
    assert u.load("g.service").description == "good" and u.cache.hits == 0


def test_stale_entry_for_a_masked_unit_is_not_used(tree):
    path = write(tree, LIB + "/m.service", "[Service]\nExecStart=/bin/true\n")
    files(tree).load("m.service")
    os.symlink("/dev/null", os.path.join(tree.root, ETC, "m.service"))
    assert files(tree).load("m.service").load_state == "masked"
    os.unlink(os.path.join(tree.root, ETC, "m.service"))
    open(path, "w").close()                          # an empty file masks too
    assert files(tree).load("m.service").load_state == "masked"


# --- where the cache lives ------------------------------------------------------------------------

def test_no_cache_with_root_offline(tmp_path):
    ctx = Context(root=str(tmp_path), offline=True)
    assert unitcache.for_context(ctx) is None
    assert UnitFiles.for_context(ctx).cache is None
    online = Context(root=str(tmp_path), state_dir=str(tmp_path / "state"))
    cache = unitcache.for_context(online)
    assert cache.path == str(tmp_path / "state" / unitcache.CACHE_NAME)
    assert cache.writable == (os.geteuid() == 0)


def test_writing_never_follows_a_prepared_temporary_name(tree):
    """The cache is written through `<cache>.<pid>.tmp` + rename: a symlink or file waiting
    under that name is replaced, never written through."""
    victim = os.path.join(os.path.dirname(tree.cache_path), "victim")
    os.makedirs(os.path.dirname(victim), exist_ok=True)
    with open(victim, "w") as handle:
        handle.write("keep me")
    os.symlink(victim, "%s.%d.tmp" % (tree.cache_path, os.getpid()))
    assert unitcache.write_framed(tree.cache_path, {"x": b"y"})
    with open(victim) as handle:
        assert handle.read() == "keep me"
    assert unitcache.read_framed(tree.cache_path) == {"x": b"y"}
    assert not os.path.lexists("%s.%d.tmp" % (tree.cache_path, os.getpid()))


def test_a_warm_cache_imports_no_parser(tmp_path):
    """The point of the cache: list-units over unchanged unit files never loads the parser
    (unitload, unitparse, execline, envfile)."""
    if os.geteuid() != 0:
        pytest.skip("only root writes the cache")
    import subprocess
    root = str(tmp_path)
    os.chmod(root, 0o755)               # the machine's / (pytest makes it 0700: nothing public)
    unittree.build(root, count=12, running=1)
    past = time.time_ns() - 10 ** 10
    for directory, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(directory, name), ns=(past, past), follow_symlinks=False)
    time.sleep(unitcache.RACY_NS / 1e9 + 0.1)       # ctimes are now: wait them out
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, SYSTEMCTL_SHIM_ROOT=root, PYTHONPATH=repo, SYSTEMCTL_SHIM_CGROUP="none")

    def parser_modules():
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "shim", "list-units", "--all"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert r.returncode == 0, r.stderr
        loaded = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if "|" in line}
        return loaded & {"shim.backends.unitload", "shim.backends.unitparse",
                         "shim.backends.execline", "shim.backends.envfile"}

    assert parser_modules() == {"shim.backends.unitload", "shim.backends.unitparse",
                                "shim.backends.execline", "shim.backends.envfile"}     # cold
    assert parser_modules() == set()                                                   # warm


def test_entries_of_another_parser_are_not_trusted(tmp_path):
    """An upgraded (or edited) shim parses anew: the entries carry what parsed them."""
    from shim.core.config import UnitConfig
    path = str(tmp_path / "cache")
    signature = ("x.service", ("x.service",), ("/x", 1, 2, 3, 4), ())
    cache = UnitCache(path, racy_ns=0)
    cache.put("x.service", signature, UnitConfig(id="x.service", description="old parser"))
    cache.flush()
    assert UnitCache(path, racy_ns=0).get("x.service", signature).description == "old parser"
    newer = UnitCache(path, racy_ns=0)
    newer._code = (("backends/unitload.py", 1, 1),)
    assert newer.get("x.service", signature) is None
