import json

import pytest

from shim.proc.identity import ProcessRef
from shim.proc.tracking import Tracking


def test_round_trip_through_json():
    tracking = Tracking("inv", [ProcessRef(10, 5)], [ProcessRef(9, 4)], [ProcessRef(10, 5)], "/sys/fs/cgroup/x", False)
    assert Tracking.from_dict(json.loads(json.dumps(tracking.to_dict()))) == tracking
    assert Tracking.from_dict(Tracking().to_dict()) == Tracking()


@pytest.mark.parametrize("data", [
    None, 5, "x", [], {"processes": "x"}, {"processes": [[0, 1]]}, {"processes": [[-3, 1]]},
    {"processes": [[True, 1]]}, {"processes": [[1.0, 1]]}, {"processes": [["1", 1]]}, {"processes": [[1, -1]]},
    {"processes": [[1, 2, 3]]}, {"processes": [[2**40, 1]]}, {"sessions": [None]}, {"invocation_id": 7},
    {"cgroup": "relative/path"}, {"cgroup": "/"}, {"cgroup": "/a/../b"}, {"cgroup": "/a//b"}, {"cgroup": 3},
    {"adopted": "yes"}, {"pgroups": {"1": 2}},
])
def test_hostile_input_gives_an_empty_tracking(data):
    assert Tracking.from_dict(data) == Tracking()


def test_deep_nesting_does_not_raise():
    data = []
    for _ in range(100000):
        data = [data]
    assert Tracking.from_dict({"processes": data}) == Tracking()


def test_merged():
    a = Tracking("a", [ProcessRef(1, 1)], adopted=False)
    b = Tracking("b", [ProcessRef(1, 1), ProcessRef(2, 2)], [ProcessRef(2, 2)], cgroup="/c", adopted=True)
    merged = a.merged(b)
    assert merged.invocation_id == "a" and merged.processes == [ProcessRef(1, 1), ProcessRef(2, 2)]
    assert merged.sessions == [ProcessRef(2, 2)] and merged.cgroup == "/c" and not merged.adopted
    assert Tracking().merged(b).adopted and b.merged(Tracking(adopted=True)).adopted
    assert not Tracking().merged(Tracking()).adopted
