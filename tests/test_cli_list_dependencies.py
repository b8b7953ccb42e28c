"""list-dependencies through the real CLI: the tree of what a unit pulls in (targets expanded,
--all for the rest, a unit on the path marked "..."), --plain."""


from test_cli_native import unit


def _units(root):
    unit(root, "a.service", "[Unit]\nRequires=b.service\nWants=c.service x.socket\n[Service]\n"
         "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=app.target\n")
    unit(root, "b.service", "[Unit]\nPartOf=a.service\n[Service]\nType=oneshot\n"
         "RemainAfterExit=yes\nExecStart=/bin/true\n")
    unit(root, "c.service", "[Unit]\nWants=a.service\n[Service]\nExecStart=/bin/false\n")
    unit(root, "app.target", "[Unit]\nDescription=app\n")
    assert root.run("enable", "a").rc == 0


def test_the_tree_of_a_target(root):
    _units(root)
    assert root.run("start", "b").rc == 0
    r = root.run("list-dependencies", "app.target")
    assert (r.rc, r.err) == (0, ""), str(r)
    assert r.out == "app.target\n○ └─a.service\n"
    r = root.run("list-dependencies", "--all", "a")
    assert r.out == "a.service\n● ├─b.service\n○ └─c.service\n    └─...\n", r.out
    r = root.run("list-dependencies", "--all", "--plain", "app.target")
    assert r.out == "app.target\n  a.service\n  b.service\n  c.service\n", r.out
