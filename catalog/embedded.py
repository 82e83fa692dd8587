"""The embedded catalog: the engine running in this process on a local home folder."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlglot import exp

from catalog import engine as engines
from catalog import operations
from catalog.api import Catalog, CreateMode, Lineage, PolicyFiles, WriteMode
from catalog.errors import InvalidRequest
from catalog.lineage import capture, ingest
from catalog.lineage.graph import Direction, LineageGraph
from catalog.names import split_name
from catalog.services import lineage, policies, tables
from catalog.services.context import Context
from catalog.sql import planner, runner
from catalog.sql.resolve import qualify

if TYPE_CHECKING:
    from catalog.serving.runtime import Invocation

_CREATE_MODES = {"error": "error", "ignore": "ignore", "overwrite": "replace"}


class EmbeddedCatalog(Catalog):
    """A connection to the catalog home at ``home`` as ``user``."""

    def __init__(self, home: Path, user: str | None, *, default_admin: str = "admin") -> None:
        self._engine = engines.acquire(home)
        try:
            if self._engine.is_new:
                self._engine.bootstrap(user or default_admin)
            user = user or self._engine.state()[0].admin
            self._session = engines.Session(self._engine, user)
        except BaseException:
            engines.release(self._engine)
            raise
        self._owns_session = True
        self._adopt(self._session)

    @classmethod
    def over(cls, session: engines.Session) -> EmbeddedCatalog:
        """A connection acting through ``session``, which the caller keeps and closes (the
        server makes one per request, for the request's principal)."""
        cat = cls.__new__(cls)
        cat._engine = session.engine
        cat._session = session
        cat._owns_session = False
        cat._adopt(session)
        return cat

    def _adopt(self, session: engines.Session) -> None:
        self.user = session.principal
        self.home = session.engine.home
        # Called with (full name, frame) after each read_table: an active tracking run records
        # the tables it read this way.
        self.read_listeners: list[Callable[[str, pd.DataFrame], None]] = []

    def __repr__(self) -> str:
        return f"<EmbeddedCatalog home={str(self.home)!r} user={self.user!r}>"

    @property
    def session(self) -> engines.Session:
        return self._session

    def sql(self, statement: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pd.DataFrame:
        return runner.execute(self._session, statement, params)

    def _name(self, ctx: Context, name: str):
        return qualify(split_name(name), ctx.current_catalog, ctx.current_schema)

    def create_table(
        self, name: str, df: pd.DataFrame, *, comment: str | None = None, mode: CreateMode = "error"
    ) -> str:
        def work(ctx: Context) -> str:
            if mode not in _CREATE_MODES:
                raise InvalidRequest(
                    f"create_table mode must be one of {', '.join(_CREATE_MODES)}, not {mode!r}.",
                    error_code="INVALID_PARAMETER_VALUE",
                )
            tables.check_frame(df, f"create_table('{name}')")
            full_name = self._name(ctx, name)
            existed = ctx.find(full_name) is not None
            table = tables.create_table(
                ctx, full_name, tables.frame_builder(ctx, df), comment=comment, mode=_CREATE_MODES[mode]
            )
            if not existed or mode == "overwrite":
                capture.record_write(ctx, table, capture.frame_sources(ctx, df))
            return str(full_name)

        return self._session.run("createTable", work, request_params={"name": name, "mode": mode}, lineage="PYTHON")

    def read_table(self, name: str) -> pd.DataFrame:
        def work(ctx: Context) -> pd.DataFrame:
            full_name = self._name(ctx, name)
            tree = exp.select("*").from_(exp.table_(full_name.name, db=full_name.schema, catalog=full_name.catalog))
            frame = planner.run(ctx, planner.plan(ctx, tree))
            frame.attrs[capture.SOURCE_ATTR] = str(full_name)
            return frame

        frame = self._session.run(
            "readTable",
            work,
            writes=False,
            request_params={"name": name},
            result_summary=lambda frame: f"{len(frame)} row(s)",
        )
        for listener in list(self.read_listeners):
            listener(frame.attrs[capture.SOURCE_ATTR], frame)
        return frame

    def write_table(self, name: str, df: pd.DataFrame, mode: WriteMode = "append") -> int:
        def work(ctx: Context) -> int:
            table = ctx.lookup_relation(self._name(ctx, name))
            count = tables.write_frame(ctx, table, df, mode)
            capture.record_write(ctx, table, capture.frame_sources(ctx, df))
            return count

        return self._session.run(
            "writeTable",
            work,
            request_params={"name": name, "mode": mode},
            result_summary=lambda count: f"{count} row(s)",
            lineage="PYTHON",
        )

    def invoke(self, action: str, **arguments: Any) -> Any:
        return operations.run(self._session, action, arguments)

    def query_endpoint(self, name: str, body: Mapping[str, Any]) -> Invocation:
        from catalog.serving.runtime import Caller, runtime_for

        if self._session.closed:
            raise InvalidRequest(
                "This catalog connection is closed; open a new one with catalog.connect().",
                error_code="CONNECTION_CLOSED",
            )
        caller = Caller(self._session.principal, self._session.source_ip_address, self._session.user_agent)
        return runtime_for(self._engine).invoke(caller, name, body)

    @property
    def lineage(self) -> Lineage:
        return _EmbeddedLineage(self._session)

    @property
    def policy(self) -> PolicyFiles:
        return _EmbeddedPolicyFiles(self._session)

    @property
    def closed(self) -> bool:
        return self._session.closed

    def close(self) -> None:
        if self._owns_session and not self._session.closed:
            self._session.close()
            engines.release(self._engine)


class _EmbeddedLineage(Lineage):
    def __init__(self, session: engines.Session) -> None:
        self._session = session

    @property
    def namespace(self) -> str:
        return self._session.engine.lineage_namespace

    def upstream(self, name: str, depth: int | None = None) -> LineageGraph:
        return self._graph(name, "upstream", depth)

    def downstream(self, name: str, depth: int | None = None) -> LineageGraph:
        return self._graph(name, "downstream", depth)

    def _graph(self, name: str, direction: Direction, depth: int | None) -> LineageGraph:
        def work(ctx: Context) -> LineageGraph:
            full_name = qualify(split_name(name), ctx.current_catalog, ctx.current_schema)
            return lineage.lineage_graph(ctx, full_name, direction, depth)

        return self._session.run(
            "getLineage",
            work,
            writes=False,
            request_params={"name": name, "direction": direction, "depth": str(depth)},
            result_summary=lambda graph: f"{len(graph.nodes_table)} node(s), {len(graph.edges_table)} edge(s)",
        )

    def ingest(self, event: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
        namespace = self.namespace

        def work(ctx: Context) -> dict[str, Any]:
            parsed = ingest.parse(event)
            recorded = lineage.ingest_event(ctx, parsed, namespace)
            forwarded.append(ingest.as_run_event(parsed))
            return recorded

        forwarded: list = []
        result = self._session.run(
            "ingestLineageEvent",
            work,
            request_params={"source": "python"},
            result_summary=lambda r: f"{r['event_type']} run {r['run_id']}: {r['edges']} edge(s)",
        )
        self._session.forward(forwarded)
        return result


class _EmbeddedPolicyFiles(PolicyFiles):
    def __init__(self, session: engines.Session) -> None:
        self._session = session

    def export(self) -> str:
        source = str(self._session.engine.home)
        return self._session.run("exportPolicy", lambda ctx: policies.export(ctx, source), writes=False)

    def plan(self, text: str) -> list[str]:
        return self._session.run(
            "planPolicy",
            lambda ctx: policies.plan(ctx, text),
            writes=False,
            result_summary=lambda statements: f"{len(statements)} statement(s)",
        )

    def apply(self, text: str) -> list[str]:
        return self._session.run(
            "applyPolicy",
            lambda ctx: policies.apply(ctx, text, runner.execute_in),
            result_summary=lambda statements: "; ".join(statements) or "no changes",
        )
