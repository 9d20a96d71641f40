"""Open311 GeoReport v2 at /open311/v2/: discovery, services, requests (create with an API key,
list and filter, one by id), in JSON and XML, with the specification's field names and errors."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import RuntimeDep
from handoff.errors import AuthenticationError, InvalidMessageError, NotFoundError
from handoff.open311 import (
    NewRequest,
    RequestQuery,
    check_api_key,
    file_request,
    find_requests,
    request_json,
    service_json,
    services,
)

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])
Format = Literal["json", "xml"]
SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_FORM_BYTES = 64 * 1024


@router.get("/discovery.{fmt}")
def discovery(fmt: Format, request: Request) -> Response:
    base = str(request.base_url).rstrip("/") + "/open311/v2/"
    body = {
        "changeset": "2026-11-23T00:00:00Z",
        "contact": "12345 市民服务热线",
        "key_service": "API keys are issued by the hotline center (hotline apikey add NAME).",
        "endpoints": [{"specification": SPEC, "url": base, "changeset": "2026-11-23T00:00:00Z", "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }
    if fmt == "json":
        return JSONResponse(body)
    root = ElementTree.Element("discovery")
    for key in ("changeset", "contact", "key_service"):
        ElementTree.SubElement(root, key).text = str(body[key])
    endpoints = ElementTree.SubElement(root, "endpoints")
    endpoint = ElementTree.SubElement(endpoints, "endpoint")
    for key in ("specification", "url", "changeset", "type"):
        ElementTree.SubElement(endpoint, key).text = body["endpoints"][0][key]  # type: ignore[index]
    formats = ElementTree.SubElement(endpoint, "formats")
    for value in ("text/xml", "application/json"):
        ElementTree.SubElement(formats, "format").text = value
    return _xml(root)


@router.get("/services.{fmt}")
def list_services(fmt: Format, runtime: RuntimeDep) -> Response:
    items = [service_json(s) for s in services(runtime.categories)]
    return _render(fmt, items, "services", "service")


@router.get("/services/{code}.{fmt}")
def service_definition(code: str, fmt: Format, runtime: RuntimeDep) -> Response:
    if code not in {s.code for s in services(runtime.categories)}:
        return _error(fmt, 404, f"service_code {code} not found")
    body = {"service_code": code, "attributes": []}
    if fmt == "json":
        return JSONResponse(body)
    root = ElementTree.Element("service_definition")
    ElementTree.SubElement(root, "service_code").text = code
    ElementTree.SubElement(root, "attributes")
    return _xml(root)


@router.get("/requests.{fmt}")
def list_requests(
    fmt: Format,
    runtime: RuntimeDep,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    try:
        query = RequestQuery(
            ids=[i.strip() for i in service_request_id.split(",") if i.strip()] if service_request_id else (),
            service_code=service_code, start=_date(start_date, "start_date"), end=_date(end_date, "end_date"),
            status=_status(status),
        )
    except InvalidMessageError as exc:
        return _error(fmt, 400, str(exc))
    with runtime.new_uow() as uow:
        tickets = find_requests(uow.session, query=query, categories=runtime.categories, now=datetime.now(UTC))
        items = [request_json(uow.session, t, runtime.categories) for t in tickets]
    return _render(fmt, items, "service_requests", "request")


@router.get("/requests/{request_id}.{fmt}")
def one_request(request_id: str, fmt: Format, runtime: RuntimeDep) -> Response:
    with runtime.new_uow() as uow:
        tickets = find_requests(uow.session, query=RequestQuery(ids=[request_id]), categories=runtime.categories, now=datetime.now(UTC))
        if not tickets:
            return _error(fmt, 404, f"service_request_id {request_id} not found")
        items = [request_json(uow.session, tickets[0], runtime.categories)]
    return _render(fmt, items, "service_requests", "request")


@router.post("/requests.{fmt}")
async def create_request(fmt: Format, request: Request, runtime: RuntimeDep) -> Response:
    """Form-encoded, as the specification says: api_key, service_code, lat+long or address_string, …"""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _error(fmt, 413, "request body too large")
    fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=False).items()}
    try:
        new = NewRequest(
            service_code=_required(fields, "service_code"), description=fields.get("description", ""),
            lat=_float(fields.get("lat"), "lat"), long=_float(fields.get("long"), "long"),
            address_string=fields.get("address_string"), email=fields.get("email"), first_name=fields.get("first_name"),
            last_name=fields.get("last_name"), phone=fields.get("phone"), media_url=fields.get("media_url"),
        )
    except InvalidMessageError as exc:
        return _error(fmt, 400, str(exc))

    def file() -> str:
        with runtime.new_uow() as uow:
            client = check_api_key(uow.session, fields.get("api_key"))
            ticket = file_request(uow.session, request=new, categories=runtime.categories, nlu=runtime.nlu,
                                  client=client, now=datetime.now(UTC), tz=runtime.settings.tz)
            uow.commit()
            return ticket.number

    try:
        number = await anyio.to_thread.run_sync(file)
    except AuthenticationError as exc:
        return _error(fmt, 403, str(exc))  # the specification's answer to a bad api_key
    except (NotFoundError, InvalidMessageError) as exc:
        return _error(fmt, 400, str(exc))
    item = {"service_request_id": number, "service_notice": f"已受理，工单编号 {number}", "account_id": None}
    return _render(fmt, [item], "service_requests", "request", status_code=201)


# -- formats --------------------------------------------------------------------------------------


def _render(fmt: Format, items: Sequence[dict[str, Any]], root_name: str, item_name: str, status_code: int = 200) -> Response:
    if fmt == "json":
        return JSONResponse(list(items), status_code=status_code)
    root = ElementTree.Element(root_name)
    for item in items:
        element = ElementTree.SubElement(root, item_name)
        for key, value in item.items():
            child = ElementTree.SubElement(element, key)
            if value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return _xml(root, status_code)


def _xml(root: ElementTree.Element, status_code: int = 200) -> Response:
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)
    return Response(body, status_code=status_code, media_type="text/xml; charset=utf-8")


def _error(fmt: Format, code: int, description: str) -> Response:
    if fmt == "json":
        return JSONResponse([{"code": code, "description": description}], status_code=code)
    root = ElementTree.Element("errors")
    error = ElementTree.SubElement(root, "error")
    ElementTree.SubElement(error, "code").text = str(code)
    ElementTree.SubElement(error, "description").text = description
    return _xml(root, code)


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise InvalidMessageError(f"{name} is required")
    return value


def _float(value: str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise InvalidMessageError(f"{name} must be a number") from exc


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidMessageError(f"{name} must be a W3C date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _status(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in ("open", "closed"):
        raise InvalidMessageError("status must be open or closed")
    return value
