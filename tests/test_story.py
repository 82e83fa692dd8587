"""The issue's end-to-end story, exactly as a user would type it."""

from __future__ import annotations

import pytest

import catalog


def test_story_from_the_issue(world):
    admin, alice, bob = world["admin"], world["alice"], world["bob"]

    counted = alice.sql("SELECT count(*) AS n FROM main.ml.churn_features")
    assert counted["n"].tolist() == [4]

    with pytest.raises(catalog.PermissionDenied) as denied:
        bob.sql("SELECT * FROM main.ml.churn_features")
    assert denied.value.error_code == "PERMISSION_DENIED"
    assert "bob" in denied.value.message and "main" in denied.value.message

    audit = admin.sql(
        "SELECT user_identity, action_name, response FROM system.access.audit WHERE response.status_code = 403"
    )
    denials = [row for row in audit.itertuples() if row.user_identity["email"] == "bob"]
    assert len(denials) == 1
    assert denials[0].action_name == "executeQuery"
    assert denials[0].response["status_code"] == 403


def test_grant_on_schema_reaches_future_tables(world):
    admin, alice = world["admin"], world["alice"]
    admin.sql("CREATE TABLE main.ml.later AS SELECT 1 AS x")
    assert alice.sql("SELECT x FROM main.ml.later")["x"].tolist() == [1]
