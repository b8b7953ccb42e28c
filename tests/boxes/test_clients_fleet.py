"""Real clients, unmodified: one Ansible playbook run over ssh against three boxes
at once (examples/fleet: two sysv boxes and an openrc one; Alpine has no sshd).

The controller (ansible-core in a venv in the box cache) runs on the host. Each box
is reached only inside its own network namespace: ssh's ProxyCommand is
examples/fleet/box-proxy.py, which setns()es into the box's netns and connects to
its own 127.0.0.1:22. The playbook restarts cron with the systemd module and kills
it with `systemctl kill`; the test then checks every box from outside (through the
box's exec, not ssh): the boot-time cron and the restarted one are both gone, and
the shim agrees.
"""
import os
import subprocess
import time

import pytest

from . import clients, helpers
from .helpers import alive, wait_until

pytestmark = pytest.mark.box

FLEET = clients.checkout() / "examples" / "fleet"
BOXES = {"sysv-a": "sysv", "sysv-b": "sysv", "openrc-a": "openrc"}


class BoxHost:
    """Just enough of testinfra's host for helpers.* (run -> rc/stdout)."""

    def __init__(self, box):
        self.box = box

    def run(self, command, *args):
        import shlex
        command = command % tuple(shlex.quote(str(a)) for a in args)
        result = self.box.exec(["/bin/sh", "-c", command], text=True, timeout=60)
        result.rc = result.returncode
        return result


@pytest.fixture
def fleet(box_session, tmp_path):
    wanted = os.environ.get("SHIM_BOX_FLAVOURS")
    if wanted and not {"sysv", "openrc"} & set(wanted.split(",")):
        pytest.skip("the fleet is made of sysv and openrc boxes")
    key = tmp_path / "fleet-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-controller",
                    "-f", str(key)], check=True)
    machines = {}
    try:
        for name, flavour in BOXES.items():
            machine = clients.ClientMachine(box_session, flavour, name=name)
            machines[name] = machine
            machine.box.sh(f"echo '{key.with_suffix('.pub').read_text().strip()}' "
                           ">> /root/.ssh/authorized_keys")
        yield machines, key
    finally:
        for machine in machines.values():
            machine.close()


def test_playbook_restarts_and_kills_cron_on_three_boxes(fleet, tmp_path):
    machines, key = fleet
    hosts = {name: BoxHost(m.box) for name, m in machines.items()}
    before = {}
    for name, host in hosts.items():
        before[name] = wait_until(lambda: helpers.cron_pid(host))
        assert before[name], f"{name}: cron is not running after boot"
        assert wait_until(lambda: clients.alive_pidfile(host, helpers.SSHD_PIDFILE)), name

    venv = clients.controller_venv()
    env = dict(os.environ, ANSIBLE_CONFIG=str(FLEET / "ansible.cfg"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_NOCOLOR="1",
               PATH=f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    started = time.monotonic()
    result = subprocess.run([str(venv / "bin" / "ansible-playbook"), "--private-key", str(key),
                             "-i", str(FLEET / "inventory.ini"), str(FLEET / "playbook.yml")],
                            cwd=FLEET, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=300)
    took = time.monotonic() - started
    assert result.returncode == 0, f"playbook failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    recap = result.stdout[result.stdout.index("PLAY RECAP"):]
    for name in BOXES:
        assert f"{name}" in recap and "failed=0" in recap.split(name, 1)[1].splitlines()[0], recap
        assert "unreachable=0" in recap.split(name, 1)[1].splitlines()[0], recap

    for name, host in hosts.items():
        restarted = helpers.read_pid(host, "/run/fleet-restarted.pid")
        assert restarted and restarted != before[name], name
        assert not alive(host, before[name]), f"{name}: the boot-time cron survived the restart"
        assert wait_until(lambda: not alive(host, restarted), 5), \
            f"{name}: the restarted cron survived systemctl kill"
        assert helpers.cron_pid(host) is None, f"{name}: a cron runs after the kill"
        active = host.run("systemctl is-active cron")
        assert active.rc == 3 and active.stdout.strip() in ("inactive", "failed"), active.stdout
        # The fleet's ssh logins were never part of the service: sshd still runs.
        assert clients.alive_pidfile(host, helpers.SSHD_PIDFILE), f"{name}: sshd died"
    print(f"playbook over 3 boxes took {took:.1f}s")
