#!/usr/bin/env python3
"""Validates a gx:LegalPerson JSON-LD document against the Gaia-X Loire 25.11 SHACL shapes.

Usage:
    cargo run -p passerelle-identity --example legal-person > legal-person.jsonld
    python3 connector/identity/tests/shacl/check.py legal-person.jsonld

Needs `pip install pyshacl` (brings rdflib). Works offline: the Gaia-X context URL is
mapped to shared/spec/gaiax-loire-25.11/gx.context.jsonld beside the repository, and
any other remote context is refused rather than fetched.

Besides validating the document, the script proves the shapes are active: the
document must contain the nodes the shapes target (so conformance is not vacuous),
and two broken variants (a member outside the closed LegalPerson shape, a missing
registration number) must NOT conform. Exit status 0 only if all of this holds.
"""

import copy
import json
import pathlib
import sys

from pyshacl import validate
from rdflib import Graph, Namespace, RDF

GX_CONTEXT_URL = "https://w3id.org/gaia-x/development#"
GX = Namespace("https://w3id.org/gaia-x/development#")


def spec_dir() -> pathlib.Path:
    here = pathlib.Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "spec" / "gaiax-loire-25.11"
        if candidate.is_dir():
            return candidate
    sys.exit("error: shared/spec/gaiax-loire-25.11 not found beside the repository")


def inline_contexts(document: dict, gx_context: dict) -> dict:
    """Replaces the Gaia-X context URL by the local context; refuses any other remote context."""
    document = copy.deepcopy(document)
    contexts = document.get("@context", [])
    if not isinstance(contexts, list):
        contexts = [contexts]
    inlined = []
    for context in contexts:
        if context == GX_CONTEXT_URL:
            inlined.append(gx_context)
        elif isinstance(context, str):
            sys.exit(f"error: remote context {context} would need the network; only {GX_CONTEXT_URL} is mapped")
        else:
            inlined.append(context)
    document["@context"] = inlined
    return document


def graph_of(document: dict, gx_context: dict) -> Graph:
    graph = Graph()
    graph.parse(data=json.dumps(inline_contexts(document, gx_context)), format="json-ld")
    return graph


def conforms(document: dict, gx_context: dict, shapes: Graph) -> tuple[bool, str]:
    ok, _, text = validate(graph_of(document, gx_context), shacl_graph=shapes, inference="none", advanced=True)
    return ok, text


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    spec = spec_dir()
    document = json.loads(pathlib.Path(sys.argv[1]).read_text())
    gx_context = json.loads((spec / "gx.context.jsonld").read_text())["@context"]
    shapes = Graph().parse(spec / "gx.shacl.ttl", format="turtle")

    data = graph_of(document, gx_context)
    for cls in (GX.LegalPerson, GX.Address, GX.RegistrationNumber):
        if not any(data.subjects(RDF.type, cls)):
            print(f"FAIL: no node typed {cls}; the shapes would not even apply")
            return 1

    ok, report = conforms(document, gx_context, shapes)
    print(report)
    if not ok:
        print("FAIL: the LegalPerson does not conform to gx.shacl.ttl")
        return 1

    extra = copy.deepcopy(document)
    extra["legalName"] = "a 22.10 property the closed 25.11 shape forbids"
    missing = copy.deepcopy(document)
    del missing["registrationNumber"]
    for name, broken in (("extra member", extra), ("missing registrationNumber", missing)):
        bad_ok, _ = conforms(broken, gx_context, shapes)
        if bad_ok:
            print(f"FAIL: the broken variant ({name}) conforms too; the shapes are not being applied")
            return 1
        print(f"ok: broken variant ({name}) is rejected")
    print("ok: the LegalPerson conforms to the Gaia-X Loire 25.11 shapes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
