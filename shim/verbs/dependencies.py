"""list-dependencies (src/systemctl/systemctl-list-dependencies.c): the tree of what a unit pulls
in (Requires=, Requisite=, Wants=, BindsTo=, the PartOf= units that consist of it), as the
transaction reads it (shim/engine/transaction.py). Targets are expanded, other units only with
--all; a unit already on the path is not expanded again ("..." marks the cut)."""

from shim import names
from shim.engine.transaction import BUILTIN_TARGETS, Graph, is_target, unit_type
from shim.manager import Manager
from shim.render.status import glyph

# systemctl's --reverse / --after / --before choose these instead (when the options exist)
FORWARD = ("requires", "requisite", "wants", "consists_of", "binds_to")
REVERSE = ("required_by", "requisite_of", "wanted_by", "part_of", "bound_by")


def list_dependencies(ctx, verb, patterns) -> int:
    manager = Manager(ctx)
    tree = Tree(ctx, Graph(manager))
    roots = []
    for pattern in patterns or ["default.target"]:
        mangled = names.mangle(pattern)
        if names.is_glob(mangled):
            roots.extend(u.id for u in manager.units([mangled]))
        else:
            roots.append(mangled)
    for index, name in enumerate(roots):
        if index:
            ctx.out.write("\n")
        ctx.out.write(name + "\n")
        tree.one(name, 0, [], 0)
    return 0


class Tree:
    def __init__(self, ctx, graph):
        self.ctx = ctx
        self.graph = graph
        options = ctx.options
        self.plain = options.plain
        self.all = options.all
        self.kinds = ("after",) if getattr(options, "after", False) else \
            ("before",) if getattr(options, "before", False) else \
            REVERSE if getattr(options, "reverse", False) else FORWARD
        branch = ("├─", "└─", "│ ", "  ") if ctx.utf8 else ("|-", "`-", "| ", "  ")
        self.glyphs = dict(zip(("branch", "right", "vertical", "space"), branch))

    def dependencies(self, name) -> list:
        graph = self.graph
        unit = graph.unit(name)
        found = set()
        lists = graph.deps(unit) if unit.found else {}
        for kind in self.kinds:
            if kind in lists:
                found.update(graph.unit(n).id for n in lists[kind])
            elif kind == "consists_of":
                found.update(u.id for u in graph.dependents(unit, ("part_of",)))
            elif kind in ("required_by", "bound_by"):
                key = "requires" if kind == "required_by" else "binds_to"
                found.update(u.id for u in graph.dependents(unit, (key,)))
            elif kind in ("wanted_by", "requisite_of"):
                found.update(self._reverse_lists(unit, "wants" if kind == "wanted_by" else "requisite"))
        found.discard(unit.id)
        # targets last, then by name without case (list_dependencies_compare())
        return sorted(found, key=lambda n: (unit_type(n) == "target", n.lower()))

    def _reverse_lists(self, unit, key) -> set:
        """Units whose `key` list names this one (WantedBy=/RequisiteOf= of what we know)."""
        graph = self.graph
        candidates = set(BUILTIN_TARGETS) | set(graph.manager.index.unit_files().all())
        candidates.update(u.id for u in graph.manager.index.scripts())
        out = set()
        for name in candidates:
            if unit_type(name) not in ("service", "target") or "@." in name:
                continue
            other = graph.unit(name)
            if other.found and unit.id in {graph.unit(n).id for n in graph.deps(other)[key]}:
                out.add(other.id)
        return out

    def state(self, name) -> str:
        unit = self.graph.unit(name)
        if not unit.found:
            return "inactive"
        if is_target(unit):
            return "active" if self.graph.is_active(unit, fresh=False) else "inactive"
        return self.graph.manager.inspector.inspect(unit).active_state

    def line(self, name, state, level, branches, last):
        out = "  " if self.plain or state is None else glyph(state, self.ctx.utf8) + " "
        if not self.plain:
            for i in range(level - 1, -1, -1):
                out += self.glyphs["vertical" if branches & (1 << i) else "space"]
            out += self.glyphs["right" if last else "branch"]
        self.ctx.out.write(out + name + "\n")

    def one(self, name, level, path, branches):
        path.append(name)
        deps = self.dependencies(name)
        circular = False
        for index, dep in enumerate(deps):
            if dep in path:
                circular = True
                continue
            last = index == len(deps) - 1 and not circular
            self.line(dep, self.state(dep), level, branches, last)
            if self.all or unit_type(dep) == "target":
                self.one(dep, level + 1, path, (branches << 1) | (0 if index == len(deps) - 1 else 1))
        if circular and not self.plain:
            self.line("...", None, level, branches, True)
        if not self.plain:
            path.remove(name)
