"""Catalogs, schemas, tables and grants as REST resources, and policy files.

Each route writes the Databricks SQL statement it stands for, from validated names, and runs it
through the same planner as ``POST /api/v1/sql``: one path to authorization and audit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from catalog.authz.authorizer import AccessDenied, Authorizer
from catalog.errors import InvalidName, InvalidRequest
from catalog.names import FullName, normalize_principal
from catalog.securables import Privilege, Securable, SecurableType
from catalog.server.routes.common import Caller, json_response, records, text_body
from catalog.sql import runner

router = APIRouter(prefix="/api/v1", tags=["catalogs, schemas, tables, grants"])


def _name(text: str, parts: int | None = None) -> str:
    name = FullName.parse(text)
    if parts is not None and len(name.parts) != parts:
        raise InvalidName(f"'{text}' must have {parts} part(s), e.g. {'main.default.t'.split('.', 3 - parts)[0]!r}.")
    return name.quoted()


class NewCatalog(BaseModel):
    name: str = Field(max_length=255)
    comment: str | None = Field(default=None, max_length=4096)


class NewSchema(BaseModel):
    catalog_name: str = Field(max_length=255)
    name: str = Field(max_length=255)
    comment: str | None = Field(default=None, max_length=4096)


def _comment(text: str | None) -> str:
    return "" if text is None else " COMMENT '" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@router.get("/me", summary="Who the token acts as, what they may administer, and the OpenLineage namespace")
def whoami(cat: Caller) -> Response:
    snapshot, authz = cat.session.engine.state()
    audit_log = snapshot.find(FullName.parse(AUDIT_TABLE))
    return json_response(
        {
            "user": cat.user,
            "lineage_namespace": cat.lineage.namespace,
            "metastore_admin": authz.is_admin(cat.user),
            # what front ends show (the audit page); reading it is still decided and audited as usual
            "can_read_audit": audit_log is not None and _allowed(authz, cat.user, audit_log),
        },
        cat,
    )


AUDIT_TABLE = "system.access.audit"


def _allowed(authz: Authorizer, principal: str, securable: Securable) -> bool:
    try:
        authz.require(principal, "read", securable)
    except AccessDenied:
        return False
    return True


# -- catalogs ------------------------------------------------------------------------------
@router.get("/catalogs", summary="Catalogs the caller may see")
def list_catalogs(cat: Caller) -> Response:
    return json_response({"catalogs": records(cat.sql("SHOW CATALOGS"))})


@router.post("/catalogs", status_code=201, summary="Create a catalog (needs CREATE CATALOG)")
def create_catalog(body: NewCatalog, cat: Caller) -> Response:
    cat.sql(f"CREATE CATALOG {_name(body.name, 1)}{_comment(body.comment)}")
    return json_response({"name": str(FullName.parse(body.name))}, status_code=201)


@router.get("/catalogs/{name}", summary="Describe a catalog")
def get_catalog(name: str, cat: Caller) -> Response:
    return json_response({"properties": records(cat.sql(f"DESCRIBE CATALOG {_name(name, 1)}"))})


@router.delete("/catalogs/{name}", summary="Drop a catalog (owner; cascade drops what it holds)")
def drop_catalog(name: str, cat: Caller, cascade: bool = False) -> Response:
    cat.sql(f"DROP CATALOG {_name(name, 1)}{' CASCADE' if cascade else ''}")
    return Response(status_code=204)


# -- schemas -------------------------------------------------------------------------------
@router.get("/schemas", summary="Schemas of a catalog the caller may see")
def list_schemas(catalog_name: str, cat: Caller) -> Response:
    return json_response({"schemas": records(cat.sql(f"SHOW SCHEMAS IN {_name(catalog_name, 1)}"))})


@router.post("/schemas", status_code=201, summary="Create a schema (needs CREATE SCHEMA on the catalog)")
def create_schema(body: NewSchema, cat: Caller) -> Response:
    full = f"{_name(body.catalog_name, 1)}.{_name(body.name, 1)}"
    cat.sql(f"CREATE SCHEMA {full}{_comment(body.comment)}")
    return json_response({"full_name": f"{body.catalog_name}.{body.name}".lower()}, status_code=201)


@router.get("/schemas/{full_name}", summary="Describe a schema")
def get_schema(full_name: str, cat: Caller) -> Response:
    return json_response({"properties": records(cat.sql(f"DESCRIBE SCHEMA {_name(full_name, 2)}"))})


@router.delete("/schemas/{full_name}", summary="Drop a schema")
def drop_schema(full_name: str, cat: Caller, cascade: bool = False) -> Response:
    cat.sql(f"DROP SCHEMA {_name(full_name, 2)}{' CASCADE' if cascade else ''}")
    return Response(status_code=204)


# -- tables --------------------------------------------------------------------------------
@router.get("/tables", summary="Tables and views of a schema the caller may see")
def list_tables(catalog_name: str, schema_name: str, cat: Caller) -> Response:
    schema = f"{_name(catalog_name, 1)}.{_name(schema_name, 1)}"
    return json_response({"tables": records(cat.sql(f"SHOW TABLES IN {schema}"))})


@router.get("/tables/{full_name}", summary="Columns and properties of a table")
def get_table(full_name: str, cat: Caller) -> Response:
    return json_response({"columns": records(cat.sql(f"DESCRIBE TABLE EXTENDED {_name(full_name, 3)}"))})


@router.delete("/tables/{full_name}", summary="Drop a table or view")
def drop_table(full_name: str, cat: Caller) -> Response:
    cat.sql(f"DROP TABLE {_name(full_name, 3)}")
    return Response(status_code=204)


# -- grants --------------------------------------------------------------------------------
class PermissionChange(BaseModel):
    principal: str = Field(max_length=255)
    add: list[Privilege] = Field(default_factory=list, max_length=32)
    remove: list[Privilege] = Field(default_factory=list, max_length=32)


class PermissionsUpdate(BaseModel):
    changes: list[PermissionChange] = Field(max_length=1000)


def _securable(type_text: str, full_name: str) -> str:
    try:
        securable_type = SecurableType(type_text.upper())
    except ValueError:
        kinds = ", ".join(t.value.lower() for t in SecurableType)
        raise InvalidRequest(f"'{type_text}' is not a securable type; use one of {kinds}.") from None
    if securable_type is SecurableType.METASTORE:
        return "METASTORE"
    if securable_type is SecurableType.EXPERIMENT:
        if "`" in full_name or not full_name.startswith("/"):
            raise InvalidName(f"'{full_name}' is not an experiment path such as /Shared/churn.")
        return f"EXPERIMENT `{full_name}`"
    return f"{securable_type.value} {_name(full_name, securable_type.depth)}"


@router.get("/permissions/{securable_type}/{full_name:path}", summary="Grants on a securable (SHOW GRANTS)")
def get_permissions(securable_type: str, full_name: str, cat: Caller) -> Response:
    rows = cat.sql(f"SHOW GRANTS ON {_securable(securable_type, full_name)}")
    return json_response({"privilege_assignments": records(rows)})


@router.patch(
    "/permissions/{securable_type}/{full_name:path}",
    summary="Grant and revoke privileges, all changes in one transaction (Unity Catalog's updatePermissions)",
)
def update_permissions(securable_type: str, full_name: str, body: PermissionsUpdate, cat: Caller) -> Response:
    target = _securable(securable_type, full_name)
    statements = []
    for change in body.changes:
        principal = f"`{normalize_principal(change.principal)}`"
        statements += [f"GRANT {p.value} ON {target} TO {principal}" for p in change.add]
        statements += [f"REVOKE {p.value} ON {target} FROM {principal}" for p in change.remove]
    if not statements:
        raise InvalidRequest("The update changes nothing; list privileges to add or remove.")
    script = ";\n".join(statements)
    cat.session.run(
        "updatePermissions",
        lambda ctx: runner.execute_in(ctx, script),
        request_params={"commandText": script},
    )
    return get_permissions(securable_type, full_name, cat)


# -- policy files --------------------------------------------------------------------------
PolicyText = Annotated[str, Depends(text_body)]


@router.get("/policy", summary="The live grants as a casbin policy file (metastore admins)")
def export_policy(cat: Caller) -> Response:
    return Response(cat.policy.export(), media_type="text/csv")


@router.post("/policy/plan", summary="The statements that would make the grants equal the posted file")
def plan_policy(text: PolicyText, cat: Caller) -> Response:
    return json_response({"statements": cat.policy.plan(text)})


@router.post("/policy/apply", summary="Apply the posted policy file in one transaction")
def apply_policy(text: PolicyText, cat: Caller) -> Response:
    return json_response({"statements": cat.policy.apply(text)})
