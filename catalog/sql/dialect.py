"""The catalog's SQL dialect: Databricks, plus real trees for its governance statements.

sqlglot's Databricks dialect parses plain GRANT/REVOKE but falls back to an opaque ``Command``
for GRANT USE CATALOG, SHOW GRANTS, CREATE CATALOG, ALTER ... OWNER TO, users and groups. This
subclass overrides the parser entry points for those statements (as sqlglot's own dialects do)
and adds generator methods so every node prints back as Databricks SQL.

Experiments (MLflow's, named by a workspace path) are securables too. Databricks sets their
permission levels through its REST API only; here they take the GRANT family of statements,
with the path backquoted or as a string literal after the keyword EXPERIMENT:

    GRANT CAN READ ON EXPERIMENT `/Shared/churn` TO alice
    GRANT CAN EDIT, CAN READ ON EXPERIMENT '/Shared/churn' TO `data-scientists`
    REVOKE CAN MANAGE ON EXPERIMENT `/Shared/churn` FROM bob
    SHOW GRANTS [principal] ON EXPERIMENT `/Shared/churn`
    ALTER EXPERIMENT `/Shared/churn` [SET] OWNER TO bob

The path parses into an ``exp.Identifier`` (quoted) or an ``exp.Literal`` string, kept as
written so that the statement prints back the same.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.databricks import Databricks
from sqlglot.generators.databricks import DatabricksGenerator
from sqlglot.parsers.databricks import DatabricksParser
from sqlglot.tokens import TokenType

from catalog.sql.expressions import (
    AlterGroup,
    CommentOn,
    CreatePrincipal,
    DropPrincipal,
    GroupMember,
    SetOwner,
    ShowGrants,
    ShowObjects,
)

# Keywords that name a securable type after ON / ALTER / COMMENT ON / DESCRIBE.
SECURABLE_KINDS = {
    "CATALOG": "CATALOG",
    "SCHEMA": "SCHEMA",
    "DATABASE": "SCHEMA",
    "TABLE": "TABLE",
    "VIEW": "VIEW",
    "MODEL": "MODEL",
    "FUNCTION": "FUNCTION",
    "ENDPOINT": "ENDPOINT",
}
SHOW_KINDS = {
    "COLUMNS": "COLUMNS",
    "CATALOGS": "CATALOGS",
    "SCHEMAS": "SCHEMAS",
    "DATABASES": "SCHEMAS",
    "TABLES": "TABLES",
    "VIEWS": "VIEWS",
    "MODELS": "MODELS",
    "USERS": "USERS",
    "GROUPS": "GROUPS",
}
PRINCIPAL_KINDS = ("USER", "GROUP")
EXPERIMENT = "EXPERIMENT"  # named by a path (`/Shared/churn`), not by a dotted name


class CatalogTokenizer(Databricks.Tokenizer):
    # SHOW is parsed into real nodes, not swallowed whole as a command.
    COMMANDS = Databricks.Tokenizer.COMMANDS - {TokenType.SHOW}


def _placed(marker: exp.Expr, offset: int) -> exp.Expr:
    marker.meta["offset"] = offset
    return marker


class CatalogParser(DatabricksParser):
    # A ? marker remembers where it stood in the text: parameters bind to markers in the order
    # they appear, which a walk of the tree does not give (a CTE's or a LIMIT's marker comes
    # out of place).
    PLACEHOLDER_PARSERS = {
        **DatabricksParser.PLACEHOLDER_PARSERS,
        TokenType.PLACEHOLDER: lambda self: _placed(self.expression(exp.Placeholder()), self._prev.start),
    }
    STATEMENT_PARSERS = {
        **DatabricksParser.STATEMENT_PARSERS,
        TokenType.SHOW: lambda self: self._parse_show(),
    }

    # -- helpers -----------------------------------------------------------------------------
    def _match_word(self, *words: str) -> str | None:
        """Consume the current token if its text is one of ``words``; return it upper-cased."""
        if self._curr and self._curr.text.upper() in words:
            self._advance()
            return self._prev.text.upper()
        return None

    def _parse_principal_name(self) -> exp.Identifier:
        name = self._parse_id_var(any_token=True)
        if not name:
            self.raise_error("Expected a user or group name")
        return name

    def _parse_securable(self, *, allow_bare: bool = True) -> tuple[str, exp.Expr | None]:
        """``METASTORE`` | ``CATALOG [name]`` | ``SCHEMA name`` | ``[TABLE] name`` | ...
        | ``EXPERIMENT `path``` | ``EXPERIMENT 'path'``."""
        if self._match_word("METASTORE"):
            return "METASTORE", None
        if self._match_word(EXPERIMENT):
            return EXPERIMENT, self._parse_experiment_path()
        word = self._match_word(*SECURABLE_KINDS)
        if word is None and not allow_bare:
            self.raise_error("Expected CATALOG, SCHEMA, TABLE, VIEW, MODEL, FUNCTION, EXPERIMENT or METASTORE")
        kind = SECURABLE_KINDS[word] if word else "TABLE"
        table = self._parse_table_parts()
        if not table or not table.name:
            self.raise_error(f"Expected the name of a {kind.lower()}")
        return kind, table

    def _parse_experiment_path(self) -> exp.Identifier | exp.Literal:
        """An experiment's path: a backquoted identifier or a string literal, not a dotted name."""
        if self._curr and self._curr.token_type == TokenType.STRING:
            return self._parse_string()
        if not self._curr or self._curr.token_type != TokenType.IDENTIFIER:  # IDENTIFIER: backquoted
            self.raise_error("Expected an experiment path, backquoted or as a string: EXPERIMENT `/Shared/churn`")
        return self._parse_id_var()

    def _parse_table_parts(self, *args, **kwargs) -> exp.Table:
        # sqlglot silently drops a third part of a schema name (CREATE SCHEMA a.b.c); refuse it.
        start = self._index
        table = super()._parse_table_parts(*args, **kwargs)
        if kwargs.get("is_db_reference"):
            dots = sum(1 for t in self._tokens[start : self._index] if t.token_type == TokenType.DOT)
            if dots > 1:
                self.raise_error("A schema name has at most two parts: catalog.schema")
        return table

    def _expect_end(self) -> None:
        if self._curr:
            self.raise_error(f"Unexpected '{self._curr.text}'")

    # -- GRANT / REVOKE ----------------------------------------------------------------------
    def _parse_grant(self) -> exp.Grant:
        privileges = self._parse_csv(self._parse_grant_privilege)
        if not self._match(TokenType.ON):
            self.raise_error("Expected ON after the privileges")
        kind, securable = self._parse_securable()
        if not self._match_text_seq("TO"):
            self.raise_error("Expected TO and a principal")
        principals = self._parse_csv(self._parse_grant_principal)
        self._expect_end()
        # Built directly: sqlglot's Grant requires a securable, and METASTORE has no name.
        return exp.Grant(privileges=privileges, kind=kind, securable=securable, principals=principals)

    def _parse_revoke(self) -> exp.Revoke:
        privileges = self._parse_csv(self._parse_grant_privilege)
        if not self._match(TokenType.ON):
            self.raise_error("Expected ON after the privileges")
        kind, securable = self._parse_securable()
        if not self._match_text_seq("FROM"):
            self.raise_error("Expected FROM and a principal")
        principals = self._parse_csv(self._parse_grant_principal)
        self._expect_end()
        return exp.Revoke(privileges=privileges, kind=kind, securable=securable, principals=principals)

    def _parse_grant_principal(self) -> exp.GrantPrincipal:
        return self.expression(exp.GrantPrincipal(this=self._parse_principal_name()))

    # -- SHOW --------------------------------------------------------------------------------
    def _parse_show(self) -> exp.Expr:
        start = self._prev
        if self._match_word("GRANTS", "GRANT"):
            principal = None
            if not self._match(TokenType.ON, advance=False):
                principal = self._parse_principal_name()
            if not self._match(TokenType.ON):
                self.raise_error("Expected ON and a securable after SHOW GRANTS")
            kind, securable = self._parse_securable()
            self._expect_end()
            return self.expression(ShowGrants(principal=principal, kind=kind, this=securable))
        word = self._match_word(*SHOW_KINDS)
        if word is None:  # a SHOW the catalog does not run: refused as unsupported, not a syntax error
            return self._parse_as_command(start)
        scope = None
        if self._match_set((TokenType.IN, TokenType.FROM)):
            scope = self._parse_table_parts()
        like = None
        if (
            self._match(TokenType.LIKE)
            or self._match_word("LIKE")
            or (self._curr and self._curr.token_type == TokenType.STRING)
        ):
            like = self._parse_string()
        self._expect_end()
        return self.expression(ShowObjects(kind=SHOW_KINDS[word], scope=scope, like=like))

    # -- CREATE / DROP -----------------------------------------------------------------------
    def _parse_create(self) -> exp.Expr:
        if self._match_word("CATALOG"):
            exists = self._parse_exists(not_=True)
            name = self._parse_id_var()
            if not name:
                self.raise_error("Expected a catalog name")
            comment = self._parse_string() if self._match(TokenType.COMMENT) else None
            self._expect_end()
            properties = exp.Properties(expressions=[exp.SchemaCommentProperty(this=comment)]) if comment else None
            return self.expression(
                exp.Create(
                    this=exp.Table(this=name),
                    kind="CATALOG",
                    exists=exists,
                    properties=properties,
                )
            )
        kind = self._match_word(*PRINCIPAL_KINDS)
        if kind:
            exists = self._parse_exists(not_=True)
            name = self._parse_principal_name()
            self._expect_end()
            return self.expression(CreatePrincipal(kind=kind, this=name, exists=exists))
        return super()._parse_create()

    def _parse_drop(self, exists: bool = False, kind: str | None = None) -> exp.Expr:
        if kind is None and self._match_word("CATALOG"):
            if_exists = self._parse_exists()
            name = self._parse_id_var()
            if not name:
                self.raise_error("Expected a catalog name")
            cascade = self._match_text_seq("CASCADE")
            self._match_text_seq("RESTRICT")
            self._expect_end()
            return self.expression(
                exp.Drop(tables=[exp.Table(this=name)], kind="CATALOG", exists=if_exists, cascade=cascade)
            )
        if kind is None and self._match_word("MODEL"):
            if_exists = self._parse_exists()
            name = self._parse_table_parts()
            self._expect_end()
            return self.expression(exp.Drop(tables=[name], kind="MODEL", exists=if_exists))
        principal_kind = self._match_word(*PRINCIPAL_KINDS) if kind is None else None
        if principal_kind:
            if_exists = self._parse_exists()
            name = self._parse_principal_name()
            self._expect_end()
            return self.expression(DropPrincipal(kind=principal_kind, this=name, exists=if_exists))
        return super()._parse_drop(exists=exists, kind=kind)

    # -- ALTER -------------------------------------------------------------------------------
    def _parse_alter(self) -> exp.Expr:
        if self._match_word("GROUP"):
            group = self._parse_principal_name()
            action = self._match_word("ADD", "REMOVE")
            if not action:
                self.raise_error("Expected ADD or REMOVE after ALTER GROUP name")
            members = self._parse_csv(self._parse_group_member)
            self._expect_end()
            return self.expression(AlterGroup(this=group, action=action, expressions=members))
        start = self._index
        if self._curr and self._curr.text.upper() in (*SECURABLE_KINDS, "METASTORE", EXPERIMENT):
            kind, securable = self._parse_securable(allow_bare=False)
            self._match(TokenType.SET)
            if self._match_text_seq("OWNER", "TO"):
                owner = self._parse_principal_name()
                self._expect_end()
                return self.expression(SetOwner(kind=kind, this=securable, owner=owner))
            self._retreat(start)
        return super()._parse_alter()

    def _parse_group_member(self) -> GroupMember:
        kind = self._match_word(*PRINCIPAL_KINDS)
        if not kind:
            self.raise_error("Expected USER or GROUP before each member")
        return self.expression(GroupMember(kind=kind, this=self._parse_principal_name()))

    # -- COMMENT ON / DESCRIBE ---------------------------------------------------------------
    def _parse_comment(self, allow_exists: bool = True) -> exp.Expr:
        if not self._match(TokenType.ON):
            self.raise_error("Expected ON after COMMENT")
        if self._match_word("COLUMN"):
            kind, this = "COLUMN", self._parse_column()
        else:
            kind, this = self._parse_securable(allow_bare=False)
        if not self._match(TokenType.IS):
            self.raise_error("Expected IS and a string or NULL")
        text = exp.null() if self._match(TokenType.NULL) else self._parse_string()
        if text is None:
            self.raise_error("Expected a string or NULL after IS")
        self._expect_end()
        return self.expression(CommentOn(kind=kind, this=this, expression=text))

    def _parse_describe(self) -> exp.Expr:
        if self._match_word("CATALOG"):
            style = self._match_word("EXTENDED")
            name = self._parse_id_var()
            self._expect_end()
            return self.expression(exp.Describe(this=exp.Table(this=name), kind="CATALOG", style=style))
        if self._match_word("MODEL"):
            style = self._match_word("EXTENDED")
            name = self._parse_table_parts()
            self._expect_end()
            return self.expression(exp.Describe(this=name, kind="MODEL", style=style))
        return super()._parse_describe()


class CatalogGenerator(DatabricksGenerator):
    def describe_sql(self, e: exp.Describe) -> str:
        kind = (e.args.get("kind") or "").upper()
        if kind not in ("CATALOG", "SCHEMA", "DATABASE", "MODEL"):
            return super().describe_sql(e)
        style = f" {e.args['style']}" if e.args.get("style") else ""
        return f"DESCRIBE {kind}{style} {self.sql(e, 'this')}"

    def showobjects_sql(self, e: ShowObjects) -> str:
        scope = f" IN {self.sql(e, 'scope')}" if e.args.get("scope") else ""
        like = f" LIKE {self.sql(e, 'like')}" if e.args.get("like") else ""
        return f"SHOW {e.args['kind']}{scope}{like}"

    def showgrants_sql(self, e: ShowGrants) -> str:
        principal = f" {self.sql(e, 'principal')}" if e.args.get("principal") else ""
        target = f" {self.sql(e, 'this')}" if e.args.get("this") else ""
        return f"SHOW GRANTS{principal} ON {e.args['kind']}{target}"

    def setowner_sql(self, e: SetOwner) -> str:
        target = f" {self.sql(e, 'this')}" if e.args.get("this") else ""
        return f"ALTER {e.args['kind']}{target} OWNER TO {self.sql(e, 'owner')}"

    def createprincipal_sql(self, e: CreatePrincipal) -> str:
        exists = " IF NOT EXISTS" if e.args.get("exists") else ""
        return f"CREATE {e.args['kind']}{exists} {self.sql(e, 'this')}"

    def dropprincipal_sql(self, e: DropPrincipal) -> str:
        exists = " IF EXISTS" if e.args.get("exists") else ""
        return f"DROP {e.args['kind']}{exists} {self.sql(e, 'this')}"

    def groupmember_sql(self, e: GroupMember) -> str:
        return f"{e.args['kind']} {self.sql(e, 'this')}"

    def altergroup_sql(self, e: AlterGroup) -> str:
        return f"ALTER GROUP {self.sql(e, 'this')} {e.args['action']} {self.expressions(e, flat=True)}"

    def commenton_sql(self, e: CommentOn) -> str:
        return f"COMMENT ON {e.args['kind']} {self.sql(e, 'this')} IS {self.sql(e, 'expression')}"


CatalogGenerator.TRANSFORMS = {
    **DatabricksGenerator.TRANSFORMS,
    ShowObjects: CatalogGenerator.showobjects_sql,
    ShowGrants: CatalogGenerator.showgrants_sql,
    SetOwner: CatalogGenerator.setowner_sql,
    CreatePrincipal: CatalogGenerator.createprincipal_sql,
    DropPrincipal: CatalogGenerator.dropprincipal_sql,
    GroupMember: CatalogGenerator.groupmember_sql,
    AlterGroup: CatalogGenerator.altergroup_sql,
    CommentOn: CatalogGenerator.commenton_sql,
}


class CatalogDialect(Databricks):
    """Databricks SQL as the catalog accepts it."""

    Tokenizer = CatalogTokenizer
    Parser = CatalogParser
    Generator = CatalogGenerator
