"""``catalog serving-endpoints``: create, get, list, update-config, delete and query endpoints
with Databricks' JSON (the same shapes as ``databricks serving-endpoints``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from catalog.errors import InvalidRequest

ACTIONS = ("create", "get", "list", "update-config", "delete", "query")


def add_parser(commands: Any) -> None:
    endpoints = commands.add_parser(
        "serving-endpoints", help="create, describe, update, delete and query model serving endpoints"
    )
    actions = endpoints.add_subparsers(dest="action", metavar="ACTION")
    create = actions.add_parser("create", help="create an endpoint from --json '{\"config\": {...}}'")
    create.add_argument("--name", help="catalog.schema.endpoint (or 'name' in the JSON)")
    _json_option(create, 'the endpoint: {"name": ..., "config": {"served_entities": [...], ...}}')
    get = actions.add_parser("get", help="describe an endpoint (JSON)")
    get.add_argument("name")
    actions.add_parser("list", help="list the endpoints you may see")
    update = actions.add_parser("update-config", help="replace an endpoint's served entities and routes")
    update.add_argument("name")
    _json_option(update, 'the config: {"served_entities": [...], "traffic_config": {...}}')
    delete = actions.add_parser("delete", help="delete an endpoint")
    delete.add_argument("name")
    query = actions.add_parser("query", help="score a request: --json '{\"dataframe_records\": [...]}'")
    query.add_argument("name")
    _json_option(query, "the request: dataframe_split, dataframe_records, instances or inputs")

    gateway = commands.add_parser(
        "serving-gateway", help="answer endpoint invocations in N worker processes, through a catalog server (--uri)"
    )
    gateway.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    gateway.add_argument("--port", type=int, default=8081, help="port (default: 8081)")
    gateway.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    gateway.add_argument(
        "--auth-ttl", type=float, default=5.0, help="seconds a caller's QUERY is remembered (default: 5)"
    )
    gateway.add_argument("--plan-ttl", type=float, default=2.0, help="seconds between config checks (default: 2)")
    gateway.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def run_gateway(args: argparse.Namespace) -> int:
    from catalog.serving.gateway import serve_gateway

    if not args.uri or not args.token:
        raise InvalidRequest(
            "The gateway talks to a catalog server: give --uri http://host:port and --token (the endpoints' "
            "owner's, or a principal with MANAGE on them), or set $CATALOG_URI and $CATALOG_TOKEN.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    if args.workers < 1:
        raise InvalidRequest("--workers must be 1 or more.", error_code="INVALID_PARAMETER_VALUE")
    serve_gateway(
        args.uri,
        args.token,
        host=args.host,
        port=args.port,
        workers=args.workers,
        auth_ttl_s=args.auth_ttl,
        plan_ttl_s=args.plan_ttl,
        log_level=args.log_level,
    )
    return 0


def _json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", required=True, metavar="JSON", help=f"{what}; @FILE reads a file, - reads stdin")


def run(args: argparse.Namespace, connect: Callable[[argparse.Namespace], Any]) -> int:
    from catalog.cli.output import print_frame, print_json

    if args.action is None:
        print(f"catalog serving-endpoints: choose one of {', '.join(ACTIONS)}", file=sys.stderr)
        return 2
    with connect(args) as cat:
        serving = cat.serving
        if args.action == "create":
            body = _load(args.json)
            name = args.name or body.get("name")
            if not name:
                raise InvalidRequest(
                    "Give the endpoint's name with --name or as 'name' in the JSON.", error_code="MALFORMED_REQUEST"
                )
            print_json(serving.create_endpoint(name, body.get("config", body)))
        elif args.action == "get":
            print_json(serving.get_endpoint(args.name))
        elif args.action == "update-config":
            print_json(serving.update_config(args.name, _load(args.json)))
        elif args.action == "delete":
            serving.delete_endpoint(args.name)
            print(f"Deleted serving endpoint {args.name}.")
        elif args.action == "query":
            answer = serving.query(args.name, _load(args.json))
            print_json({"predictions": answer.predictions, "served_entity": answer.served_entity})
        else:
            print_frame(_listing(serving.list_endpoints()), args.format)
    return 0


def _listing(endpoints: list[dict[str, Any]]):
    import pandas as pd

    rows = [
        (
            e["name"],
            e["state"]["ready"],
            e["state"]["config_update"],
            e["config"]["config_version"],
            ", ".join(
                f"{s['name']}={s['entity_name']}/{s['entity_version']} ({s['traffic_percentage']}%)"
                for s in e["config"]["served_entities"]
            ),
            e["owner"],
        )
        for e in endpoints
    ]
    return pd.DataFrame(rows, columns=["name", "ready", "config_update", "config_version", "served_entities", "owner"])


def _load(text: str) -> dict[str, Any]:
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        with open(text[1:], encoding="utf-8") as handle:
            text = handle.read()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"--json is not valid JSON: {exc}.", error_code="MALFORMED_REQUEST") from None
    if not isinstance(value, dict):
        raise InvalidRequest("--json must be a JSON object.", error_code="MALFORMED_REQUEST")
    return value
