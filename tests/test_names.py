"""Full names: parsing, quoting, validation, case."""

from __future__ import annotations

import pytest

from catalog import InvalidName
from catalog.names import FullName, normalize_principal, quote_part, split_name


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("main", ["main"]),
        ("main.ml.churn", ["main", "ml", "churn"]),
        ("`main`.`ml`.`churn-features`", ["main", "ml", "churn-features"]),
        ("main.`with.dot`", ["main", "with.dot"]),
        ("  main.ml  ", ["main", "ml"]),
    ],
)
def test_split_name(text, parts):
    assert split_name(text) == parts


@pytest.mark.parametrize("text", ["", "a..b", "`a", "a.`b`c", ".a", "a."])
def test_split_name_refuses(text):
    with pytest.raises(InvalidName) as error:
        split_name(text)
    assert error.value.error_code == "INVALID_IDENTIFIER"


@pytest.mark.parametrize(
    ("text", "normalized"),
    [("Main.ML.Churn", "main.ml.churn"), ("`MAIN`.ml", "main.ml"), ("`app-data`", "app-data")],
)
def test_names_are_case_insensitive(text, normalized):
    assert str(FullName.parse(text)) == normalized


@pytest.mark.parametrize("bad", ["has space", "has/slash", "has,comma", "tab\there", "`tick`x"])
def test_object_names_refuse_forbidden_characters(bad):
    with pytest.raises(InvalidName):
        FullName.of(bad)


def test_too_many_parts_and_too_long():
    with pytest.raises(InvalidName):
        FullName.parse("a.b.c.d")
    with pytest.raises(InvalidName):
        FullName.of("x" * 256)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("Alice", "alice"), ("alice@Example.com", "alice@example.com"), ("account users", "account users")],
)
def test_principal_names(raw, normalized):
    assert normalize_principal(raw) == normalized


@pytest.mark.parametrize("bad", ["", "  ", "a,b", "a`b"])
def test_principal_names_refused(bad):
    with pytest.raises(InvalidName):
        normalize_principal(bad)


@pytest.mark.parametrize(("part", "quoted"), [("churn", "churn"), ("churn-x", "`churn-x`"), ("9lives", "`9lives`")])
def test_quote_part(part, quoted):
    assert quote_part(part) == quoted


def test_full_name_relations():
    name = FullName.parse("main.ml.churn")
    assert (name.catalog, name.schema, name.name) == ("main", "ml", "churn")
    assert str(name.parent) == "main.ml"
    assert name.parent.child("other") == FullName.parse("main.ml.other")
    assert FullName.parse("main").parent is None
