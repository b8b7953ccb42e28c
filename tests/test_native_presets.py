"""systemd.preset(5) for unit files (reference/unit-files.md §12): `preset` enables or disables
as the preset files say, first match wins across files in name order, no match enables;
status's `preset:` word and show's UnitFilePreset= follow the files."""

import os

from test_cli_native import unit

PRESET_DIR = os.path.join("etc", "systemd", "system-preset")


def preset_file(root, name, text, directory=PRESET_DIR):
    path = os.path.join(root.path, directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def test_preset_follows_the_files(root):
    install = "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n"
    unit(root, "en.service", install)
    unit(root, "other.service", install)
    preset_file(root, "10-test.preset", "# local policy\ndisable en.service\n")
    preset_file(root, "90-default.preset", "enable *\n", "lib/systemd/system-preset")
    preset_file(root, "20-late.preset", "enable en.service\n")       # later file: loses
    assert root.run("enable", "en").rc == 0
    r = root.run("preset", "en")
    assert (r.rc, r.err) == (0, 'Removed "/etc/systemd/system/multi-user.target.wants/en.service".\n'), r
    assert root.run("is-enabled", "en").out.strip() == "disabled"
    assert root.run("show", "-P", "UnitFilePreset", "en").out.strip() == "disabled"
    assert "Loaded: loaded (/lib/systemd/system/en.service; disabled; preset: disabled)" \
        in root.run("status", "en").out
    r = root.run("preset", "other")
    assert r.rc == 0 and "Created symlink /etc/systemd/system/multi-user.target.wants/other.service" in r.err
    assert root.run("show", "-P", "UnitFilePreset", "other").out.strip() == "enabled"
    # --preset-mode=enable-only leaves a unit the files disable alone
    assert root.run("enable", "en").rc == 0
    r = root.run("preset", "--preset-mode=enable-only", "en")
    assert (r.rc, r.err) == (0, ""), r
    assert root.run("is-enabled", "en").out.strip() == "enabled"


def test_no_preset_files_means_enabled(root):
    unit(root, "plain.service", "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n")
    assert root.run("show", "-P", "UnitFilePreset", "plain").out.strip() == "enabled"
    r = root.run("preset", "--preset-mode=disable-only", "plain")
    assert (r.rc, r.err) == (0, ""), r
    assert root.run("is-enabled", "plain").out.strip() == "disabled"


def test_list_unit_files_preset_column(root):
    install = "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n"
    unit(root, "pa.service", install)
    unit(root, "pb.service", install)
    preset_file(root, "50-x.preset", "disable pb.service\n")
    rows = root.run("list-unit-files", "--no-legend", "pa.service", "pb.service").out.split()
    assert rows == ["pa.service", "disabled", "enabled", "pb.service", "disabled", "disabled"], rows
