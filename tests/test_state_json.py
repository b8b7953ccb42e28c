"""Records are read without importing json (and re): read_json must agree with json.loads on
everything we write and refuse what is not one JSON value, never raising anything but ValueError."""

import json
import random

import pytest

from shim.proc.identity import ProcessRef
from shim.proc.tracking import Tracking
from shim.state import Control, Record, read_json


def _record(rng):
    refs = [ProcessRef(rng.randint(2, 4194304), rng.randint(0, 2 ** 40)) for _ in range(rng.randint(0, 20))]
    record = Record(state=rng.choice(["", "started", "stopped", "failed"]), result="exit-code",
                    active_since=rng.random() * 2e9, invocation_id="%032x" % rng.getrandbits(128),
                    tracking=Tracking(invocation_id="i\u00e9\"\\\n", processes=refs, sessions=refs[:2],
                                      keeper=refs[0] if refs else None),
                    control=Control(5, 6, "start"),
                    last_exec={"verb": "start", "cmd": "/bin/sh -c 'echo \"$X\"' \u2192", "status": -3})
    return json.dumps(record.to_dict(), sort_keys=True)


def test_agrees_with_json_on_what_we_write():
    rng = random.Random(7)
    for _ in range(300):
        text = _record(rng)
        assert read_json(text) == json.loads(text)
        assert Record.from_dict(read_json(text)) == Record.from_dict(json.loads(text))


@pytest.mark.parametrize("text", ["", "   ", "{", "{\"a\": 1} trailing", "[1,]", "{\"a\" 1}", "NaN",
                                  "\ufeff{}", "{\"a\": \"\\x\"}", "nul", "[" * 100 + "]" * 99])
def test_refuses_what_is_not_one_json_value(text):
    with pytest.raises(ValueError):
        read_json(text)


@pytest.mark.parametrize("text", ["{not json\x00\xff", "{\"a\": 1, ", "{1: 2}", "[\"\\ud800\"", "\x00"])
def test_garbage_is_a_value_error(text):
    with pytest.raises(ValueError):
        read_json(text)
