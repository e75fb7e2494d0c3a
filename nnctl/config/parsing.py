"""Strict YAML: safe tags only, ``1e-3`` read as a float, duplicate keys refused, and size
bounds (bytes, nesting, values after alias expansion) checked before anything is constructed.
Every problem is one ``ConfigError`` line naming the source."""

from __future__ import annotations

import re
import sys
from typing import Any

import yaml

from nnctl.system import ConfigError, quote, quote_text

# libyaml's C parser where PyYAML has it: a large config parses in a fraction of the time.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A config nests three levels deep and holds a few dozen values. These bounds are far above
# any real config and far below what an attack needs: aliases can make a 400-byte file stand
# for billions of values ("billion laughs"), and deep nesting exhausts the stack.
MAX_YAML_DEPTH = 50
MAX_YAML_NODES = 100_000  # values after expanding aliases
WHERE_STEPS = 4  # of a place named in a refusal


class _Strict:
    """A SafeLoader that reads ``1e-3`` as a float and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise _DuplicateKey(
                    f"duplicate key {quote(key)} (line {key_node.start_mark.line + 1})"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _StrictLoader(_Strict, _SafeLoader):  # type: ignore[misc, valid-type]
    pass


class _PyStrictLoader(_Strict, yaml.SafeLoader):
    """The pure-Python parser: used again on a syntax error only, for its clearer wording."""


class _DuplicateKey(Exception):
    pass


class _TooBig(Exception):
    pass


# YAML 1.1 floats need a dot, so PyYAML reads 1e-3 as the *string* '1e-3'. Add the YAML 1.2
# exponent forms (1e-3, 5E4, -2e+1) to the float resolver.
for _loader in (_StrictLoader, _PyStrictLoader):
    _loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )


def _children(node: yaml.Node) -> list[tuple[yaml.Node, str | int]]:
    """(child, where it sits): a sequence's entries by index, a mapping's keys and values by
    the key (a scalar key's text, cut short)."""
    if isinstance(node, yaml.SequenceNode):
        return list(zip(node.value, range(len(node.value))))
    if isinstance(node, yaml.MappingNode):
        out: list[tuple[yaml.Node, str | int]] = []
        for k, v in node.value:
            name = quote_text(k.value, 40) if isinstance(k, yaml.ScalarNode) else "?"
            out += [(k, name), (v, name)]
        return out
    return []


def _where(path: tuple[str | int, ...]) -> str:
    """A place in the document as a user writes it: ``dataset.train``, ``layer_dims[3]``; its
    first steps only (a line, however deep the place)."""
    text = ""
    for step in path[:WHERE_STEPS]:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text + ("..." if len(path) > WHERE_STEPS else "")


def _check_size(root: yaml.Node) -> None:
    """Refuses a document nested deeper than MAX_YAML_DEPTH or standing for more than
    MAX_YAML_NODES values once its aliases are expanded, or an alias that contains itself,
    naming the key where it happens. Iterative, and each node is visited once however often
    it is aliased, in document order: an anchor's value is met first where it is defined."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool, tuple[str | int, ...]]] = [(root, False, ())]
    active: set[int] = set()

    def too_big(what: str, path: tuple[str | int, ...]) -> _TooBig:
        return _TooBig(f"{what} (under {_where(path)})" if path else what)

    while stack:
        node, done, path = stack.pop()
        key = id(node)
        if done:
            kids = [k for k, _ in _children(node)]
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            active.discard(key)
            if size[key] > MAX_YAML_NODES:
                raise too_big(f"aliases expand to more than {MAX_YAML_NODES:,} values", path)
            if depth[key] > MAX_YAML_DEPTH:
                raise too_big(f"nested more than {MAX_YAML_DEPTH} levels deep", path)
            continue
        if key in size:
            continue
        if key in active:
            raise too_big("an alias refers to a value that contains it", path)
        if len(active) > MAX_YAML_DEPTH:
            raise too_big(f"nested more than {MAX_YAML_DEPTH} levels deep", path)
        active.add(key)
        stack.append((node, True, path))
        # reversed: the stack pops the first child first, so the walk is in document order
        stack.extend(
            (k, False, (*path, step)) for k, step in reversed(_children(node)) if id(k) not in size
        )


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely (no ``!!python/...`` tags); errors become one-line ConfigErrors.
    Refuses text over ``resources.MAX_CONFIG_BYTES``, nesting over MAX_YAML_DEPTH and aliases
    expanding to over MAX_YAML_NODES values, before constructing anything."""
    from nnctl.system import MAX_CONFIG_BYTES, human_bytes

    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{source}: {human_bytes(len(text))} of YAML, more than a config may have "
            f"({human_bytes(MAX_CONFIG_BYTES)})"
        )
    return _parse(text, source, _StrictLoader)


def _parse(text: str, source: str, loader_class: type) -> Any:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    except _DuplicateKey as exc:
        raise ConfigError(f"{source}: {exc}; each key may appear once") from None
    except _TooBig as exc:
        raise ConfigError(f"{source}: refused: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: refused: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        if loader_class is not _PyStrictLoader:
            # libyaml says "did not find expected ','"; PyYAML's wording names what it got
            _parse(text, source, _PyStrictLoader)
        where = ""
        if exc.problem_mark is not None:
            where = f"line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}: "
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "python/" in str(exc):
            problem = f"{problem} (python tags are not allowed in configs)"
        raise ConfigError(f"{source}: {where}{quote_text(problem)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{source}: invalid YAML: {quote_text(str(exc).splitlines()[0])}"
        ) from None
    except ValueError as exc:  # a value the constructors cannot make (a 5,000-digit integer)
        if "integer string conversion" in str(exc):
            raise ConfigError(
                f"{source}: refused: a number of more than {sys.get_int_max_str_digits():,} digits"
            ) from None
        raise ConfigError(f"{source}: invalid value: {quote_text(str(exc))}") from None
    finally:
        loader.dispose()
