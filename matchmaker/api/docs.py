"""The API's documentation page: the generated OpenAPI document, shown as HTML, no script needed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_documentation", __name__, url_prefix="/api/v1")
METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/docs")
def docs():
    """Show every operation of the API with its parameters, body and answers, and every schema."""
    spec = current_app.extensions["matchmaker.api"].spec.to_dict()
    return render_template(
        "api/docs.html",
        spec=spec,
        operations=operations(spec),
        schemas=spec.get("components", {}).get("schemas", {}),
    )


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the document's operations in path order, each with the names of the schemas it reads and writes."""
    found = []
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "anchor": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [*shared, *operation.get("parameters", [])],
                    "body": schema_name(operation.get("requestBody", {})),
                    "responses": [
                        (code, response_description(spec, answer), schema_name(answer))
                        for code, answer in sorted(operation.get("responses", {}).items())
                    ],
                }
            )
    return found


def schema_name(part: dict[str, Any]) -> str:
    """Return the schema a request body or a response carries as JSON, by name; '' for none."""
    if "$ref" in part:
        return "Error" if "/responses/" in part["$ref"] else part["$ref"].rsplit("/", 1)[-1]
    schema = part.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").rsplit("/", 1)[-1]


def response_description(spec: dict[str, Any], answer: dict[str, Any]) -> str:
    """Return what a response means, following a reference to a shared response."""
    if "$ref" in answer:
        name = answer["$ref"].rsplit("/", 1)[-1]
        return spec.get("components", {}).get("responses", {}).get(name, {}).get("description", name)
    return answer.get("description", "")
