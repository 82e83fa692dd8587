"""The ``catalog`` command: SQL, policy files, audit queries, the server and serving endpoints, from a shell.

    catalog --home ./demo-home --user alice sql "SHOW GRANTS ON SCHEMA main.ml"
    catalog sql -f setup.sql
    catalog policy export -o grants.csv
    catalog policy plan grants.csv
    catalog policy apply grants.csv
    catalog audit list
    catalog audit run who_read_table -p table_name=main.ml.churn_features -p since=2026-11-16

    catalog --home ./team-home server --port 8080
    catalog --home ./team-home tokens create --user alice
    CATALOG_URI=http://127.0.0.1:8080 CATALOG_TOKEN=... catalog sql "SHOW CATALOGS"
    catalog serving-endpoints create --name main.ml.churn_endpoint --json @endpoint.json
    catalog serving-endpoints query main.ml.churn_endpoint --json '{"dataframe_records": [{...}]}'
    catalog --uri http://127.0.0.1:8080 --token ... serving-gateway --workers 2 --port 8081

``--home``, ``--user``, ``--uri`` and ``--token`` default to ``$CATALOG_HOME``, ``$CATALOG_USER``,
``$CATALOG_URI`` and ``$CATALOG_TOKEN``; with a URI every command goes through that server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalog.cli import serving
from catalog.cli.output import FORMATS, print_frame, print_lines

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalog",
        description="A governance-first data and ML catalog.",
        epilog="Environment: CATALOG_HOME (default ./.catalog), CATALOG_USER (default: the metastore admin), "
        "CATALOG_URI and CATALOG_TOKEN (use a catalog server).",
    )
    parser.add_argument("--home", help="catalog home folder (default: $CATALOG_HOME or ./.catalog)")
    parser.add_argument("--user", help="act as this user (default: $CATALOG_USER or the metastore admin)")
    parser.add_argument("--uri", help="a catalog server, http://HOST:PORT (default: $CATALOG_URI)")
    parser.add_argument("--token", help="the server token (default: $CATALOG_TOKEN)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sql = commands.add_parser("sql", help="run Databricks SQL statements")
    sql.add_argument("statement", nargs="?", help="the SQL text (or use -f)")
    sql.add_argument("-f", "--file", help="read statements from a file ('-' for standard input)")

    policy = commands.add_parser("policy", help="export, plan and apply casbin policy files")
    actions = policy.add_subparsers(dest="action", metavar="ACTION")
    export = actions.add_parser("export", help="write the live grants as a policy file")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    plan = actions.add_parser("plan", help="print the statements that would make the grants equal FILE")
    plan.add_argument("file")
    apply = actions.add_parser("apply", help="apply FILE: run the planned statements in one transaction")
    apply.add_argument("file")

    audit = commands.add_parser("audit", help="run the audit query library (sql/audit/)")
    audit_actions = audit.add_subparsers(dest="action", metavar="ACTION")
    audit_actions.add_parser("list", help="list the audit queries and their parameters")
    show = audit_actions.add_parser("show", help="print a query's SQL, header included")
    show.add_argument("name")
    run = audit_actions.add_parser("run", help="run a query with -p NAME=VALUE for each parameter")
    run.add_argument("name")
    run.add_argument(
        "-p", "--param", action="append", default=[], type=_parameter, metavar="NAME=VALUE", help="a parameter"
    )

    server = commands.add_parser("server", help="serve the home over REST to many users (FastAPI on uvicorn)")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    server.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    server.add_argument("--max-body-mb", type=int, default=256, help="largest request body in MiB (default: 256)")
    server.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])

    tokens = commands.add_parser("tokens", help="create, list and revoke server tokens")
    token_actions = tokens.add_subparsers(dest="action", metavar="ACTION")
    create = token_actions.add_parser("create", help="create a token and print it (shown once)")
    create.add_argument("--user", dest="owner", metavar="USER", help="the user it acts as (default: you)")
    create.add_argument("--comment", help="what the token is for")
    create.add_argument("--lifetime-days", type=float, help="expire after this many days (default: never)")
    listing = token_actions.add_parser("list", help="list tokens (admins: everyone's)")
    listing.add_argument("--user", dest="owner", metavar="USER", help="only this user's tokens")
    revoke = token_actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")

    serving.add_parser(commands)
    return parser


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=VALUE")
    return name.strip(), value


def _connect(args: argparse.Namespace):
    import catalog

    return catalog.connect(args.uri or args.home, user=args.user, token=args.token)


def _run_sql(args: argparse.Namespace) -> int:
    from catalog.sql.runner import split_statements

    if args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    elif args.statement:
        text = args.statement
    else:
        print("catalog sql: give a statement, or -f FILE", file=sys.stderr)
        return EXIT_USAGE
    statements = split_statements(text)
    with _connect(args) as cat:
        for statement in statements:
            if len(statements) > 1 and args.format == "table":
                print(f"> {statement}")
            print_frame(cat.sql(statement), args.format)
    return EXIT_OK


def _run_policy(args: argparse.Namespace) -> int:
    if args.action is None:
        print("catalog policy: choose export, plan or apply", file=sys.stderr)
        return EXIT_USAGE
    with _connect(args) as cat:
        if args.action == "export":
            text = cat.policy.export()
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
                print(f"Wrote {args.output}")
            else:
                sys.stdout.write(text)
            return EXIT_OK
        text = Path(args.file).read_text(encoding="utf-8")
        if args.action == "plan":
            statements = cat.policy.plan(text)
            print_lines(statements or ["-- no changes: the live grants already match the file"])
            return EXIT_OK
        statements = cat.policy.apply(text)
        print_lines(statements)
        print(f"Applied {len(statements)} statement(s) from {args.file}.")
        return EXIT_OK


def _run_audit(args: argparse.Namespace) -> int:
    import pandas as pd

    from catalog import audit_queries

    if args.action is None:
        print("catalog audit: choose list, show or run", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "list":
        rows = [
            (q.name, q.title, ", ".join(f":{p}" for p in q.parameter_names)) for q in audit_queries.library().values()
        ]
        print_frame(pd.DataFrame(rows, columns=["name", "title", "parameters"]), args.format)
        return EXIT_OK
    query = audit_queries.get(args.name)
    if args.action == "show":
        sys.stdout.write(query.sql)
        return EXIT_OK
    params: dict[str, str] = {}
    for name, value in args.param:
        if name in params:
            print(f"catalog audit run: parameter '{name}' is given twice", file=sys.stderr)
            return EXIT_USAGE
        params[name] = value
    with _connect(args) as cat:
        print_frame(audit_queries.run(cat, query.name, **params), args.format)
    return EXIT_OK


def _run_server(args: argparse.Namespace) -> int:
    import os

    from catalog import DEFAULT_HOME, HOME_ENV
    from catalog.server import serve

    if args.uri:
        print("catalog server: serves a home folder (--home), not a URI", file=sys.stderr)
        return EXIT_USAGE
    home = args.home or os.environ.get(HOME_ENV) or DEFAULT_HOME
    print(f"Serving catalog home {home} on http://{args.host}:{args.port} (API docs at /docs)", flush=True)
    serve(
        home,
        host=args.host,
        port=args.port,
        admin=args.user or "admin",
        max_body_bytes=args.max_body_mb * 1024 * 1024,
        log_level=args.log_level,
    )
    return EXIT_OK


def _run_tokens(args: argparse.Namespace) -> int:
    import pandas as pd

    if args.action is None:
        print("catalog tokens: choose create, list or revoke", file=sys.stderr)
        return EXIT_USAGE
    with _connect(args) as cat:
        if args.action == "create":
            lifetime = round(args.lifetime_days * 86400) if args.lifetime_days is not None else None
            created = cat.tokens.create(args.owner, comment=args.comment, lifetime_seconds=lifetime)
            info = created.info
            expiry = f", expires {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else ""
            print(f"Token {info.token_id} for {info.principal}{expiry}. Copy it now; it is not shown again:")
            print(created.token)
            return EXIT_OK
        if args.action == "revoke":
            info = cat.tokens.revoke(args.token_id)
            print(f"Revoked token {info.token_id} of {info.principal}.")
            return EXIT_OK
        rows = [
            (t.token_id, t.principal, t.comment, t.created_by, t.created_at, t.expires_at, t.revoked_at)
            for t in cat.tokens.list(args.owner)
        ]
        columns = ["token_id", "user", "comment", "created_by", "created_at", "expires_at", "revoked_at"]
        print_frame(pd.DataFrame(rows, columns=columns), args.format)
        return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    from catalog.errors import CatalogError

    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {
        "sql": _run_sql,
        "policy": _run_policy,
        "audit": _run_audit,
        "server": _run_server,
        "tokens": _run_tokens,
        "serving-endpoints": lambda args: serving.run(args, _connect),
        "serving-gateway": serving.run_gateway,
    }
    if args.command not in handlers:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handlers[args.command](args)
    except CatalogError as error:
        print(f"Error [{error.error_code}]: {error.message}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
