#!/usr/bin/env python3
"""Checks that every module includes only the headers of modules it links.

The allowed dependencies come from each src/<module>/CMakeLists.txt:
segmenta_module(<name> DEPS ... PRIVATE_DEPS ...). A module links its direct
dependencies (public and private) and, through them, their public dependencies,
as CMake propagates them. Each of these files is checked:

  src/<module>/*.cpp, src/<module>/*.hpp   the module's sources
  include/segmenta/<header>.hpp            the public header of its module

for lines `#include "segmenta/<header>.hpp"` (public headers) and
`#include "<module>/<file>"` (another module's private headers). A file that
includes a header of a module outside its module's links is reported as
`path:line: message` and the check fails.

Usage: check_include_layers.py [SOURCE_DIR]   (default: the repository of this file)
"""
import pathlib
import re
import sys

# Public headers that do not carry their module's name.
EXTRA_HEADERS = {"table.hpp": "core", "files.hpp": "core", "comm.hpp": "core", "streams.hpp": "io", "postgres.hpp": "io", "methods.inc": "pipeline"}

MODULE_CALL = re.compile(r"segmenta_module\s*\(([^)]*)\)", re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def strip_cmake_comments(text):
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def read_modules(src):
    """name -> (public deps, private deps), modules only (segmenta_<name>)."""
    modules = {}
    for cmake in sorted(src.glob("*/CMakeLists.txt")):
        for call in MODULE_CALL.finditer(strip_cmake_comments(cmake.read_text())):
            words = call.group(1).split()
            if not words:
                continue
            public, private, section = [], [], None
            for word in words[1:]:
                if word in ("DEPS", "PRIVATE_DEPS"):
                    section = word
                elif section == "DEPS":
                    public.append(word)
                elif section == "PRIVATE_DEPS":
                    private.append(word)
            modules[words[0]] = (public, private)
    names = set(modules)

    def module_of(target):
        if target.startswith("segmenta_") and target[len("segmenta_"):] in names:
            return target[len("segmenta_"):]
        return None

    return {
        name: ([m for m in map(module_of, pub) if m], [m for m in map(module_of, priv) if m])
        for name, (pub, priv) in modules.items()
    }


def linked(modules):
    """name -> the set of modules it links (itself included)."""
    def public_closure(name, seen):
        for dep in modules[name][0]:
            if dep not in seen:
                seen.add(dep)
                public_closure(dep, seen)
        return seen

    out = {}
    for name, (pub, priv) in modules.items():
        links = {name}
        for dep in pub + priv:
            links.add(dep)
            public_closure(dep, links)
        out[name] = links
    return out


def header_module(include, modules):
    """The module a quoted include belongs to, None for a file of the same
    directory, or '' for an unknown public header."""
    parts = include.split("/")
    if len(parts) == 2 and parts[0] == "segmenta":
        stem = parts[1][:-len(".hpp")] if parts[1].endswith(".hpp") else parts[1]
        if stem in modules:
            return stem
        return EXTRA_HEADERS.get(parts[1], "")
    if len(parts) >= 2 and parts[0] in modules:
        return parts[0]
    return None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    src, include = root / "src", root / "include" / "segmenta"
    modules = read_modules(src)
    if not modules:
        print(f"{src}: no segmenta_module() declarations found")
        return 1
    links = linked(modules)

    files = []  # (path, owning module)
    for name in sorted(modules):
        for path in sorted((src / name).glob("*")):
            if path.suffix in (".cpp", ".hpp"):
                files.append((path, name))
    for path in sorted(include.glob("*.hpp")):
        owner = header_module(f"segmenta/{path.name}", modules)
        if not owner:
            print(f"{path.relative_to(root)}:1: public header of no known module "
                  f"(name it <module>.hpp or add it to EXTRA_HEADERS in {pathlib.Path(__file__).name})")
            return 1
        files.append((path, owner))

    errors = 0
    for path, owner in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            target = header_module(match.group(1), modules)
            if target is None or target in links[owner]:
                continue
            where = f"{path.relative_to(root)}:{number}"
            if target == "":
                print(f"{where}: includes \"{match.group(1)}\", a header of no known module")
            else:
                allowed = ", ".join(sorted(links[owner]))
                print(f"{where}: module {owner} includes \"{match.group(1)}\" of module {target}, "
                      f"which it does not link (it links: {allowed})")
            errors += 1
    if errors:
        print(f"{errors} include(s) cross the module layers; fix the include or the module's "
              f"segmenta_module(... DEPS ...) in src/<module>/CMakeLists.txt")
        return 1
    print(f"include layers: {len(files)} files of {len(modules)} modules are consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
