"""One handler per kind of statement: classify a parsed tree, then call the engine services.

``classify`` names each statement's audit action and whether it writes; the handler turns the
tree into service calls and returns the result as a DataFrame (empty for DDL and governance
statements, as Databricks returns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlglot import exp

from catalog.errors import InvalidRequest, SqlError
from catalog.lineage import capture
from catalog.lineage import sql as lineage_sql
from catalog.names import FullName
from catalog.securables import RELATION_TYPES, Securable, SecurableType
from catalog.services import columns as column_meta
from catalog.services import grants, namespace, principals, registry, tables
from catalog.services.context import Context
from catalog.sql import planner, rewrite
from catalog.sql.dialect import CatalogDialect
from catalog.sql.expressions import (
    AlterGroup,
    CommentOn,
    CreatePrincipal,
    DropPrincipal,
    SetOwner,
    ShowGrants,
    ShowObjects,
)
from catalog.sql.resolve import qualify, qualify_container, table_name_parts

Handler = Callable[[Context, exp.Expr], pd.DataFrame]


@dataclass(frozen=True)
class Statement:
    action: str  # audit action_name
    writes: bool
    handler: Handler

    @property
    def writes_data(self) -> bool:
        """Whether the statement writes rows or a relation, and so records lineage."""
        return self.action in DATA_WRITES


DATA_WRITES = frozenset(
    {"createTable", "createView", "insertInto", "updateTable", "deleteFrom", "mergeInto", "truncateTable"}
)


def empty() -> pd.DataFrame:
    return pd.DataFrame()


def affected(count: int, *, inserted: bool = False) -> pd.DataFrame:
    frame = {"num_affected_rows": [count]}
    if inserted:
        frame["num_inserted_rows"] = [count]
    return pd.DataFrame(frame)


# -- names -------------------------------------------------------------------------------------
def object_name(ctx: Context, node: exp.Table) -> FullName:
    return qualify(table_name_parts(node), ctx.current_catalog, ctx.current_schema)


def container_name(ctx: Context, node: exp.Table, kind: str) -> FullName:
    parts = table_name_parts(node)
    if kind == "CATALOG":
        if len(parts) != 1:
            raise InvalidRequest(f"'{'.'.join(parts)}' is not a catalog name.", error_code="INVALID_IDENTIFIER")
        return FullName.of(parts[0])
    return qualify_container(parts, ctx.current_catalog)


_EXPECTED = {
    "TABLE": RELATION_TYPES,
    "VIEW": frozenset({SecurableType.VIEW}),
    "MODEL": frozenset({SecurableType.MODEL}),
    "FUNCTION": frozenset({SecurableType.FUNCTION}),
    "ENDPOINT": frozenset({SecurableType.ENDPOINT}),
    "CATALOG": frozenset({SecurableType.CATALOG}),
    "SCHEMA": frozenset({SecurableType.SCHEMA}),
}


def securable_of(ctx: Context, kind: str, node: exp.Expr | None) -> Securable:
    """The securable an ON clause (GRANT, SHOW GRANTS, ALTER ... OWNER TO) names."""
    if kind == "METASTORE":
        return ctx.snapshot.metastore
    if kind == "EXPERIMENT":  # a path: `/Shared/churn` or '/Shared/churn', kept as written
        return ctx.lookup_experiment(node.name)
    name = container_name(ctx, node, kind) if kind in ("CATALOG", "SCHEMA") else object_name(ctx, node)
    return ctx.lookup(name, _EXPECTED[kind])


def _comment(tree: exp.Expr) -> str | None:
    properties = tree.args.get("properties")
    for prop in properties.expressions if properties else ():
        if isinstance(prop, exp.SchemaCommentProperty):
            return prop.this.name
    return None


def _target_table(ctx: Context, node: exp.Table, *, also_reads: bool) -> Securable:
    target = ctx.lookup_relation(object_name(ctx, node))
    if target.type is not SecurableType.TABLE:
        raise InvalidRequest(
            f"'{target.full_name}' is a {target.type.label}; only tables can be written to.",
            error_code="EXPECT_TABLE_NOT_VIEW",
        )
    namespace.refuse_system(target, "write to")
    ctx.require("write", target)
    if also_reads:
        ctx.require("read", target)
    return target


# -- queries and DML ---------------------------------------------------------------------------
def query(ctx: Context, tree: exp.Expr) -> pd.DataFrame:
    return planner.run(ctx, planner.plan(ctx, tree))


def insert(ctx: Context, tree: exp.Insert) -> pd.DataFrame:
    schema = tree.this if isinstance(tree.this, exp.Schema) else None
    node = schema.this if schema else tree.this
    target = _target_table(ctx, node, also_reads=False)
    if ctx.lineage is not None:
        written = planner.qualify_names(ctx, tree)
        names = [c.name for c in schema.expressions] if schema else _column_names(ctx, target)
        columns_of = lineage_sql.of_query(written.expression, names)
    planned = planner.plan(ctx, tree, exclude=(node,))
    if ctx.lineage is not None:
        capture.record_write(ctx, target, planned.sources, columns=columns_of)
    planner.point_at_storage(ctx, node, target, alias=None)
    storage = target.storage_name
    if not tree.args.get("overwrite"):
        return affected(planner.execute(ctx, planned, counter(ctx)), inserted=True)
    # INSERT OVERWRITE: stage the new rows first, since the source may read the target itself.
    source = planner.Plan(tree.expression, uses_system_tables=planned.uses_system_tables)
    planner.execute(
        ctx, source, lambda sql: ctx.cursor.execute(f"CREATE TEMP TABLE __overwrite AS SELECT * FROM ({sql})")
    )
    column_list = f" ({', '.join(c.sql('duckdb') for c in schema.expressions)})" if schema else ""
    ctx.cursor.execute(f"DELETE FROM {storage}")
    count = counter(ctx)(f"INSERT INTO {storage}{column_list} SELECT * FROM __overwrite")
    ctx.cursor.execute("DROP TABLE __overwrite")
    return affected(count, inserted=True)


def _dml(columns_of: Callable[[Context, exp.Expr, Securable], lineage_sql.ColumnsOf | None]) -> Handler:
    """UPDATE, DELETE and MERGE: MODIFY and SELECT on the target, SELECT on every source."""

    def handle(ctx: Context, tree: exp.Expr) -> pd.DataFrame:
        node = tree.this
        target = _target_table(ctx, node, also_reads=True)
        lineage_columns = columns_of(ctx, planner.qualify_names(ctx, tree), target) if ctx.lineage else None
        planned = planner.plan(ctx, tree, exclude=(node,))
        if ctx.lineage is not None:
            capture.record_write(ctx, target, planned.sources, columns=lineage_columns)
        alias = node.alias or target.full_name.name
        planner.point_at_storage(ctx, node, target, alias=alias)
        rewrite.strip_qualifiers(tree, {target.full_name: alias})
        rewrite.unqualify_assignments(tree)
        return affected(planner.execute(ctx, planned, counter(ctx)))

    return handle


def truncate(ctx: Context, tree: exp.TruncateTable) -> pd.DataFrame:
    """TRUNCATE TABLE t: delete every row (MODIFY on the table)."""
    count = 0
    for node in tree.expressions:
        target = _target_table(ctx, node, also_reads=False)
        ctx.physical_names[target.storage_name.split(".")[1]] = str(target.full_name)
        count += counter(ctx)(f"DELETE FROM {target.storage_name}")
        capture.record_write(ctx, target)
    return affected(count)


update = _dml(lambda ctx, tree, target: lineage_sql.of_update(tree))
delete = _dml(lambda ctx, tree, target: None)
merge = _dml(lambda ctx, tree, target: lineage_sql.of_merge(tree, _column_names(ctx, target)))


def _column_names(ctx: Context, table: Securable) -> list[str]:
    return [c.name for c in ctx.metastore.columns(table.id)]


def counter(ctx: Context) -> Callable[[str], int]:
    """Run a DML statement and return DuckDB's count of the rows it changed."""

    def run(sql: str) -> int:
        rows = ctx.cursor.execute(sql).fetchall()
        return int(rows[0][0]) if rows else 0

    return run


# -- DDL ---------------------------------------------------------------------------------------
def create(ctx: Context, tree: exp.Create) -> pd.DataFrame:
    kind = (tree.kind or "").upper()
    if_not_exists, replace = bool(tree.args.get("exists")), bool(tree.args.get("replace"))
    if if_not_exists and replace:
        raise SqlError("Use either OR REPLACE or IF NOT EXISTS, not both.", error_code="INVALID_PARAMETER_VALUE")
    comment = _comment(tree)
    if kind == "CATALOG":
        namespace.create_catalog(ctx, tree.this.name, comment=comment, if_not_exists=if_not_exists)
    elif kind in ("SCHEMA", "DATABASE"):
        name = container_name(ctx, tree.this, "SCHEMA")
        namespace.create_schema(ctx, name, comment=comment, if_not_exists=if_not_exists)
    elif kind == "TABLE":
        mode = "replace" if replace else "ignore" if if_not_exists else "error"
        _create_table(ctx, tree, comment, mode)
    elif kind == "VIEW":
        mode = "replace" if replace else "ignore" if if_not_exists else "error"
        _create_view(ctx, tree, comment, mode)
    else:
        raise SqlError(f"CREATE {kind} is not supported.", error_code="UNSUPPORTED_STATEMENT")
    return empty()


def _create_table(ctx: Context, tree: exp.Create, comment: str | None, mode: str) -> None:
    if _is_temporary(tree):
        raise SqlError(
            "Temporary tables are not supported; create a table in a schema.", error_code="UNSUPPORTED_FEATURE"
        )
    if tree.args.get("properties") and any(
        isinstance(p, exp.LocationProperty) for p in tree.args["properties"].expressions
    ):
        raise SqlError(
            "External tables (LOCATION) are not supported: every table is managed.", error_code="UNSUPPORTED_FEATURE"
        )
    schema = tree.this if isinstance(tree.this, exp.Schema) else None
    name = object_name(ctx, schema.this if schema else tree.this)
    query_tree = tree.expression
    if query_tree is not None:
        if schema is not None:
            raise SqlError(
                "CREATE TABLE ... (columns) AS SELECT is not supported; name the columns in the SELECT list.",
                error_code="UNSUPPORTED_FEATURE",
            )
        columns_of = lineage_sql.of_query(planner.qualify_names(ctx, query_tree)) if ctx.lineage else None
        planned = planner.plan(ctx, query_tree)
        built = []

        def build(storage: str) -> None:
            planner.execute(ctx, planned, lambda sql: ctx.cursor.execute(f"CREATE TABLE {storage} AS {sql}"))
            built.append(storage)

        table = tables.create_table(ctx, name, build, comment=comment, mode=mode)
        if built:
            capture.record_write(ctx, table, planned.sources, columns=columns_of)
        return
    if schema is None:
        raise SqlError(f"CREATE TABLE {name} needs a column list or AS SELECT.", error_code="PARSE_SYNTAX_ERROR")
    definitions, comments = _column_definitions(schema)
    built = []

    def build(storage: str) -> None:
        ctx.cursor.execute(f"CREATE TABLE {storage} {definitions}")
        built.append(storage)

    table = tables.create_table(ctx, name, build, comment=comment, column_comments=comments, mode=mode)
    if built:
        capture.record_write(ctx, table)


def _is_temporary(tree: exp.Create) -> bool:
    properties = tree.args.get("properties")
    return bool(tree.args.get("temporary")) or any(
        isinstance(p, exp.TemporaryProperty) for p in (properties.expressions if properties else ())
    )


def _column_definitions(schema: exp.Schema) -> tuple[str, dict[str, str | None]]:
    """DuckDB column definitions, with Databricks-only clauses (comments, informational keys) removed."""
    informational = (exp.CommentColumnConstraint, exp.PrimaryKeyColumnConstraint)
    comments: dict[str, str | None] = {}
    kept = []
    for item in schema.expressions:
        if isinstance(item, exp.Identifier) or (isinstance(item, exp.ColumnDef) and item.args.get("kind") is None):
            raise SqlError(
                f"Column '{item.name}' needs a type, e.g. {item.name} STRING.", error_code="PARSE_SYNTAX_ERROR"
            )
        if not isinstance(item, exp.ColumnDef):
            continue  # table constraints such as PRIMARY KEY (...) are informational in Databricks
        item = item.copy()
        constraints = []
        for constraint in item.args.get("constraints") or []:
            if isinstance(constraint.kind, exp.CommentColumnConstraint):
                comments[item.name] = constraint.kind.this.name
            if not isinstance(constraint.kind, informational):
                constraints.append(constraint)
        item.set("constraints", constraints)
        kept.append(item)
    if not kept:
        raise SqlError("CREATE TABLE needs at least one column.", error_code="PARSE_SYNTAX_ERROR")
    return exp.Schema(expressions=kept).sql(dialect="duckdb"), comments


def _create_view(ctx: Context, tree: exp.Create, comment: str | None, mode: str) -> None:
    if isinstance(tree.this, exp.Schema):
        raise SqlError(
            "View column lists are not supported; alias the columns in the SELECT.", error_code="UNSUPPORTED_FEATURE"
        )
    if _is_temporary(tree):
        raise SqlError(
            "Temporary views are not supported; create a view in a schema.", error_code="UNSUPPORTED_FEATURE"
        )
    name = object_name(ctx, tree.this)
    body = tree.expression
    qualified = planner.qualify_names(ctx, body)
    definition = qualified.sql(dialect=CatalogDialect)
    planned = planner.plan(ctx, body.copy())
    if any(read.full_name == name for read in planned.reads):
        raise SqlError(
            f"View '{name}' would read itself (directly or through other views).", error_code="RECURSIVE_VIEW"
        )
    view_columns = planner.execute(ctx, planned, lambda sql: column_meta.describe(ctx.cursor, sql))
    existing = ctx.find(name)
    view = tables.create_view(ctx, name, definition, view_columns, comment=comment, mode=mode)
    if existing is None or mode == "replace":
        capture.record_write(ctx, view, planned.sources, columns=lineage_sql.of_query(qualified))


def drop(ctx: Context, tree: exp.Drop) -> pd.DataFrame:
    kind = (tree.args.get("kind") or "").upper()
    if_exists, cascade = bool(tree.args.get("exists")), bool(tree.args.get("cascade"))
    nodes = tree.args.get("tables") or [tree.this]
    for node in nodes:
        if kind in ("CATALOG", "SCHEMA", "DATABASE"):
            name = container_name(ctx, node, "CATALOG" if kind == "CATALOG" else "SCHEMA")
            namespace.drop_container(ctx, name, if_exists=if_exists, cascade=cascade)
        elif kind in ("TABLE", "VIEW"):
            tables.drop_relation(ctx, object_name(ctx, node), SecurableType(kind), if_exists=if_exists)
        elif kind == "MODEL":
            name = object_name(ctx, node)
            if not (if_exists and ctx.find(name) is None):
                registry.delete_registered_model(ctx, _home(ctx), name)
        else:
            raise SqlError(f"DROP {kind} is not supported.", error_code="UNSUPPORTED_STATEMENT")
    return empty()


def alter(ctx: Context, tree: exp.Alter) -> pd.DataFrame:
    kind = (tree.kind or "").upper()
    actions = tree.actions
    if kind in ("TABLE", "VIEW") and len(actions) == 1 and isinstance(actions[0], exp.AlterRename):
        relation = ctx.lookup(object_name(ctx, tree.this), frozenset({SecurableType(kind)}))
        new_parts = table_name_parts(actions[0].this)
        new_name = (
            relation.full_name.parent.child(new_parts[0])
            if len(new_parts) == 1
            else qualify(new_parts, ctx.current_catalog, ctx.current_schema)
        )
        tables.rename_relation(ctx, relation, new_name)
        return empty()
    raise SqlError(
        f"This form of ALTER {kind} is not supported; supported are ALTER TABLE|VIEW ... "
        "RENAME TO and ALTER ... OWNER TO.",
        error_code="UNSUPPORTED_STATEMENT",
    )


def set_owner(ctx: Context, tree: SetOwner) -> pd.DataFrame:
    securable = securable_of(ctx, tree.args["kind"], tree.this)
    namespace.set_owner(ctx, securable, tree.args["owner"].name)
    return empty()


def comment_on(ctx: Context, tree: CommentOn) -> pd.DataFrame:
    text = None if isinstance(tree.expression, exp.Null) else tree.expression.name
    kind = tree.args["kind"]
    if kind == "COLUMN":
        column = tree.this
        parts = [p.name for p in (column.args.get("catalog"), column.args.get("db"), column.args.get("table")) if p]
        if not parts:
            raise SqlError("COMMENT ON COLUMN needs table.column.", error_code="PARSE_SYNTAX_ERROR")
        table = ctx.lookup_relation(qualify(parts, ctx.current_catalog, ctx.current_schema))
        namespace.set_column_comment(ctx, table, column.name, text)
    elif kind == "EXPERIMENT":
        raise SqlError(
            "COMMENT ON EXPERIMENT is not supported; describe an experiment with its tags.",
            error_code="UNSUPPORTED_STATEMENT",
        )
    else:
        namespace.set_comment(ctx, securable_of(ctx, kind, tree.this), text)
    return empty()


def use(ctx: Context, tree: exp.Use) -> pd.DataFrame:
    kind = (tree.args.get("kind").name if tree.args.get("kind") else "SCHEMA").upper()
    parts = table_name_parts(tree.this)
    if kind == "CATALOG":
        namespace.use(ctx, container_name(ctx, tree.this, "CATALOG"))
    else:
        namespace.use(ctx, qualify_container(parts, ctx.current_catalog))
    return empty()


# -- metadata ----------------------------------------------------------------------------------
def describe(ctx: Context, tree: exp.Describe) -> pd.DataFrame:
    kind = (tree.args.get("kind") or "TABLE").upper()
    style = (tree.args.get("style") or "").upper()
    if style not in ("", "EXTENDED", "FORMATTED"):
        raise SqlError(f"DESCRIBE {style} is not supported.", error_code="UNSUPPORTED_STATEMENT")
    extended = bool(style)
    if kind in ("CATALOG", "SCHEMA", "DATABASE"):
        securable = securable_of(ctx, "CATALOG" if kind == "CATALOG" else "SCHEMA", tree.this)
        ctx.require_visible(securable)
        rows = [
            ("Catalog Name" if kind == "CATALOG" else "Schema Name", str(securable.full_name)),
            ("Comment", securable.comment or ""),
            ("Owner", securable.owner),
        ]
        if extended:
            rows += [
                ("Created Time", str(securable.created_at)),
                ("Created By", securable.created_by or ""),
                ("Last Altered", str(securable.updated_at)),
            ]
        return pd.DataFrame(rows, columns=["info_name", "info_value"])
    if kind == "MODEL":
        return _describe_model(ctx, object_name(ctx, tree.this), extended)
    if not isinstance(tree.this, exp.Table):
        raise SqlError(
            "DESCRIBE takes a table, view, schema or catalog name, not a query.", error_code="UNSUPPORTED_STATEMENT"
        )
    relation = ctx.lookup_relation(object_name(ctx, tree.this))
    ctx.require_visible(relation)
    rows = [(c.name, c.data_type.lower(), c.comment) for c in ctx.metastore.columns(relation.id)]
    if extended:
        kind_name = "VIEW" if relation.type is SecurableType.VIEW else "MANAGED"
        rows += [
            ("", "", None),
            ("# Detailed Table Information", "", None),
            ("Catalog", relation.full_name.catalog, None),
            ("Database", relation.full_name.schema, None),
            ("Table", relation.full_name.name, None),
            ("Owner", relation.owner, None),
            ("Created Time", str(relation.created_at), None),
            ("Created By", relation.created_by, None),
            ("Type", kind_name, None),
            ("Comment", relation.comment or "", None),
        ]
        if relation.definition:
            rows.append(("View Text", relation.definition, None))
    return pd.DataFrame(rows, columns=["col_name", "data_type", "comment"])


def _describe_model(ctx: Context, name: FullName, extended: bool) -> pd.DataFrame:
    """DESCRIBE MODEL: the registered model, its aliases and versions (EXTENDED: each version)."""
    model = registry.get_registered_model(ctx, str(name))
    versions = registry.model_versions(ctx, str(name))
    rows = [
        ("Model Name", model.name),
        ("Comment", model.description or ""),
        ("Owner", model.owner),
        ("Versions", str(len(versions))),
        ("Latest Version", str(versions[0].version) if versions else ""),
        ("Aliases", ", ".join(f"{alias}={version}" for alias, version in model.aliases.items())),
    ]
    if extended:
        rows += [(f"Tag {key}", value) for key, value in model.tags.items()]
        rows += [
            (
                f"Version {v.version}",
                f"{v.status}; stage {v.current_stage}; source {v.source}; by {v.user_id}"
                + (f"; aliases {', '.join(v.aliases)}" if v.aliases else ""),
            )
            for v in versions
        ]
    return pd.DataFrame(rows, columns=["info_name", "info_value"])


def _home(ctx: Context):
    if ctx.home is None:
        raise InvalidRequest("This statement needs a catalog home.", error_code="UNSUPPORTED_OPERATION")
    return ctx.home


def show_objects(ctx: Context, tree: ShowObjects) -> pd.DataFrame:
    kind = tree.args["kind"]
    like = tree.args["like"].name if tree.args.get("like") else None
    scope = tree.args.get("scope")
    if kind in ("USERS", "GROUPS"):
        wanted = kind[:-1]
        matcher = namespace._pattern(like)
        names = sorted(
            n for n, k in ctx.snapshot.principals.items() if k == wanted and (matcher is None or matcher.fullmatch(n))
        )
        return pd.DataFrame({"name": names})
    if kind == "COLUMNS":
        if scope is None:
            raise SqlError("SHOW COLUMNS needs IN table.", error_code="PARSE_SYNTAX_ERROR")
        relation = ctx.lookup_relation(object_name(ctx, scope))
        ctx.require_visible(relation)
        matcher = namespace._pattern(like)
        names = [c.name for c in ctx.metastore.columns(relation.id) if matcher is None or matcher.fullmatch(c.name)]
        return pd.DataFrame({"col_name": names})
    if kind == "CATALOGS":
        found = namespace.visible_children(ctx, ctx.snapshot.metastore, namespace.CATALOG, like)
        return pd.DataFrame({"catalog": [str(s.full_name) for s in found]})
    if kind == "SCHEMAS":
        catalog_name = container_name(ctx, scope, "CATALOG") if scope is not None else FullName.of(_current(ctx))
        catalog = ctx.lookup(catalog_name, namespace.CATALOG)
        ctx.require_visible(catalog)
        found = namespace.visible_children(ctx, catalog, namespace.SCHEMA, like)
        return pd.DataFrame({"databaseName": [s.full_name.name for s in found]})
    schema_name = (
        container_name(ctx, scope, "SCHEMA")
        if scope is not None
        else FullName.of(_current(ctx), ctx.current_schema or "default")
    )
    schema = ctx.lookup(schema_name, namespace.SCHEMA)
    ctx.require_visible(schema)
    kinds = {
        "TABLES": RELATION_TYPES,
        "VIEWS": frozenset({SecurableType.VIEW}),
        "MODELS": frozenset({SecurableType.MODEL}),
    }[kind]
    found = namespace.visible_children(ctx, schema, kinds, like)
    column = {"TABLES": "tableName", "VIEWS": "viewName", "MODELS": "modelName"}[kind]
    return pd.DataFrame(
        {
            "database": [schema_name.name] * len(found),
            column: [s.full_name.name for s in found],
            "isTemporary": [False] * len(found),
        }
    )


def _current(ctx: Context) -> str:
    if ctx.current_catalog is None:
        raise SqlError(
            "No catalog is in use; name one with IN catalog or run USE CATALOG.", error_code="NO_CURRENT_CATALOG"
        )
    return ctx.current_catalog


def show_grants(ctx: Context, tree: ShowGrants) -> pd.DataFrame:
    securable = securable_of(ctx, tree.args["kind"], tree.this)
    principal = tree.args["principal"].name if tree.args.get("principal") else None
    rows = grants.show(ctx, securable, principal)
    return pd.DataFrame([vars(r) for r in rows], columns=grants.SHOW_GRANTS_COLUMNS)


# -- governance --------------------------------------------------------------------------------
def _grant_parts(ctx: Context, tree: exp.Grant | exp.Revoke) -> tuple[Securable, list[str], list[str]]:
    kind = (tree.args.get("kind") or "TABLE").upper()
    if kind == "DATABASE":
        kind = "SCHEMA"
    if kind not in _EXPECTED and kind not in ("METASTORE", "EXPERIMENT"):
        raise SqlError(f"Privileges on {kind} are not supported.", error_code="UNSUPPORTED_STATEMENT")
    securable = securable_of(ctx, kind, tree.args.get("securable"))
    privileges = [p.this.name for p in tree.args["privileges"]]
    names = [p.this.name for p in tree.args["principals"]]
    return securable, privileges, names


def grant(ctx: Context, tree: exp.Grant) -> pd.DataFrame:
    grants.grant(ctx, *_grant_parts(ctx, tree))
    return empty()


def revoke(ctx: Context, tree: exp.Revoke) -> pd.DataFrame:
    grants.revoke(ctx, *_grant_parts(ctx, tree))
    return empty()


def create_principal(ctx: Context, tree: CreatePrincipal) -> pd.DataFrame:
    principals.create(ctx, tree.args["kind"], tree.this.name, if_not_exists=bool(tree.args.get("exists")))
    return empty()


def drop_principal(ctx: Context, tree: DropPrincipal) -> pd.DataFrame:
    principals.drop(ctx, tree.args["kind"], tree.this.name, if_exists=bool(tree.args.get("exists")))
    return empty()


def alter_group(ctx: Context, tree: AlterGroup) -> pd.DataFrame:
    members = [(m.args["kind"], m.this.name) for m in tree.expressions]
    principals.alter_group(ctx, tree.this.name, tree.args["action"], members)
    return empty()


# -- classification ----------------------------------------------------------------------------
def classify(tree: exp.Expr) -> Statement:
    """Which handler runs a statement, under which audit action, and whether it writes."""
    if isinstance(tree, exp.Query):
        return Statement("executeQuery", False, query)
    kind = (tree.args.get("kind") or "") if isinstance(tree, exp.Create | exp.Drop) else ""
    kind = str(kind).upper()
    simple: dict[type, Statement] = {
        exp.Insert: Statement("insertInto", True, insert),
        exp.Update: Statement("updateTable", True, update),
        exp.Delete: Statement("deleteFrom", True, delete),
        exp.Merge: Statement("mergeInto", True, merge),
        exp.TruncateTable: Statement("truncateTable", True, truncate),
        exp.Alter: Statement("renameTable", True, alter),
        SetOwner: Statement("updateOwner", True, set_owner),
        CommentOn: Statement("updateComment", True, comment_on),
        exp.Use: Statement("setCurrentNamespace", False, use),
        exp.Describe: Statement("getTable", False, describe),
        ShowObjects: Statement("listObjects", False, show_objects),
        ShowGrants: Statement("getPermissions", False, show_grants),
        exp.Grant: Statement("updatePermissions", True, grant),
        exp.Revoke: Statement("updatePermissions", True, revoke),
        CreatePrincipal: Statement("createPrincipal", True, create_principal),
        DropPrincipal: Statement("deletePrincipal", True, drop_principal),
        AlterGroup: Statement("updateGroupMembers", True, alter_group),
    }
    if isinstance(tree, exp.Create):
        action = {
            "CATALOG": "createCatalog",
            "SCHEMA": "createSchema",
            "DATABASE": "createSchema",
            "VIEW": "createView",
        }.get(kind, "createTable")
        return Statement(action, True, create)
    if isinstance(tree, exp.Drop):
        action = {
            "CATALOG": "deleteCatalog",
            "SCHEMA": "deleteSchema",
            "DATABASE": "deleteSchema",
            "VIEW": "deleteView",
            "MODEL": "deleteRegisteredModel",
        }.get(kind, "deleteTable")
        return Statement(action, True, drop)
    statement = simple.get(type(tree))
    if statement is None:
        raise SqlError(
            f"'{tree.sql(dialect=CatalogDialect)[:60]}' is not a statement the catalog runs.",
            error_code="UNSUPPORTED_STATEMENT",
        )
    return statement
