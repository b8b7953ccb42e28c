"""Plain data classes without the cost of `dataclasses`.

`systemctl is-active` must start about as fast as Python itself, and creating a dataclass costs
milliseconds (it generates and compiles methods at import time; importing `dataclasses` pulls in
`inspect`). Our records only need keyword construction, defaults, a readable repr, equality and
`replace()`: this base gives exactly that. Declare fields as class attributes with their
defaults; mutable defaults go in `_factories` so that instances never share them.
"""


class Plain:
    _factories = {}

    def __init__(self, *args, **values):
        names = self._fields()
        if len(args) > len(names):
            raise TypeError("%s takes at most %d positional arguments" % (type(self).__name__, len(names)))
        values.update(zip(names, args))
        for name in names:
            if name in values:
                setattr(self, name, values.pop(name))
            elif name in self._factories:
                setattr(self, name, self._factories[name]())
        if values:
            raise TypeError("%s has no field %s" % (type(self).__name__, ", ".join(sorted(values))))

    @classmethod
    def _fields(cls):
        """Field names in declaration order (class attributes that are not methods or private)."""
        cached = cls.__dict__.get("_field_names")
        if cached is not None:
            return cached
        names = []
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if not name.startswith("_") and not callable(value) and \
                        not isinstance(value, (property, classmethod, staticmethod)) and name not in names:
                    names.append(name)
        cls._field_names = names
        return names

    def replace(self, **changes):
        values = {name: getattr(self, name) for name in self._fields()}
        values.update(changes)
        return type(self)(**values)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self._fields()}

    def __eq__(self, other):
        return type(other) is type(self) and self.as_dict() == other.as_dict()

    __hash__ = None

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__,
                           ", ".join("%s=%r" % item for item in self.as_dict().items()))
