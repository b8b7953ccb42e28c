"""The docopt-free fast path of shim/cli.py must give exactly docopt's answer, or step aside."""
import itertools
import random

import pytest
from docopt import DocoptExit, docopt

from shim import cli

OPTION_WORDS = [[], ["-q"], ["--quiet"], ["-a"], ["--all"], ["-l"], ["--full"], ["--value"],
                ["--no-pager"], ["--no-legend"], ["--plain"], ["--system"], ["--failed"],
                ["--now"], ["--no-block"], ["-p", "MainPID"], ["--property=Id,Names"],
                ["--property", "ActiveState"], ["-P", "SubState"], ["-t", "service"],
                ["--type=service,target"], ["--state", "failed"], ["--state=running"],
                # shapes the fast path leaves to docopt
                ["-qa"], ["--qui"], ["-pId"], ["--"], ["-n", "3"], ["--lines=3"], ["-h"],
                ["--root=/x"], ["-s", "HUP"], ["--kill-whom=main"], ["-p"], ["--property="],
                ["-P", "A", "-P", "B"], ["-q", "-q"], ["--value=yes"], ["-"]]
UNIT_WORDS = [[], ["cron"], ["cron", "ssh.service"], ["*.service"], ["status"], ["show"]]


def docopt_answer(argv):
    verb = cli._verb_of(argv)
    try:
        return docopt(cli._grammar_for(verb), argv, default_help=False)
    except DocoptExit:
        return "DocoptExit"


def check(argv):
    verb = cli._verb_of(argv)
    if verb is None or verb not in cli.VERBS:
        return None
    fast = cli._fast_parse(argv, verb)
    if fast is not None:
        assert fast == docopt_answer(argv), argv
    return fast


@pytest.mark.parametrize("verb", sorted(cli.VERBS))
def test_every_verb_alone_and_with_units(verb):
    for options, units in itertools.product(OPTION_WORDS, UNIT_WORDS[:3]):
        check([verb] + options + units)
        check(options + [verb] + units[1:] + units[:1])


def test_random_combinations_agree_with_docopt():
    rng = random.Random(252)
    verbs = sorted(cli.VERBS)
    for _ in range(1500):
        words = [rng.choice(verbs)]
        for _ in range(rng.randint(0, 4)):
            words[rng.randint(0, len(words)):0] = rng.choice(OPTION_WORDS)
        words += rng.choice(UNIT_WORDS)
        check(words)


@pytest.mark.parametrize("argv", [
    ["is-active", "cron"], ["is-active", "-q", "cron"], ["is-enabled", "cron"],
    ["is-failed", "cron", "ssh"], ["show", "-p", "MainPID", "--value", "cron"],
    ["show", "cron", "--property=ActiveState,SubState"], ["-P", "MainPID", "show", "cron"],
    ["status", "cron"], ["status", "--no-pager", "-l", "cron"], ["status"],
    ["list-units", "--all"], ["list-units", "--type=service", "--all", "--no-legend"],
    ["list-unit-files", "-t", "service"], ["start", "cron"], ["kill", "cron"],
    ["daemon-reload"], ["is-system-running"],
])
def test_the_common_shapes_take_the_fast_path(argv):
    assert check(argv) is not None, argv


@pytest.mark.parametrize("argv", [
    ["is-active"], ["status", "--"], ["show", "-pId", "x"], ["kill", "-s", "HUP", "cron"],
    ["is-active", "--qui", "cron"], ["status", "-n", "3", "cron"], ["daemon-reload", "x"],
    ["show", "-p", "Id", "-p", "Names", "x"],
])
def test_other_shapes_go_to_docopt(argv):
    assert cli._fast_parse(argv, cli._verb_of(argv)) is None
