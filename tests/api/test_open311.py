"""Open311 GeoReport v2: the specification's endpoints, fields, formats and errors."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.config import Settings
from api.main import create_app
from handoff.dispatch import dispatch_ticket
from handoff.models import Ticket, Unit
from handoff.open311 import create_api_key
from tests.fakes import FakeNlu

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
    "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
    "lat", "long", "media_url",
}


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=db_url, data_dir=tmp_path, auto_migrate=False, run_workers=False, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, nlu=FakeNlu())) as client:
        yield client


@pytest.fixture
def api_key(client: TestClient) -> str:
    with client.app.state.runtime.new_uow() as uow:  # type: ignore[attr-defined]
        key = create_api_key(uow.session, name="fixmystreet-test")
        uow.commit()
    return key


def file(client: TestClient, **fields: str) -> tuple[int, object]:
    response = client.post("/open311/v2/requests.json", data=fields)
    return response.status_code, response.json()


def test_discovery_and_services_in_json_and_xml(client: TestClient) -> None:
    discovery = client.get("/open311/v2/discovery.json").json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ElementTree.fromstring(client.get("/open311/v2/discovery.xml").content).tag == "discovery"
    services = client.get("/open311/v2/services.json").json()
    assert len(services) == 7 and all(SERVICE_FIELDS <= set(s) for s in services)
    assert {"service_code": "urban", "service_name": "城乡建设"}.items() <= services[0].items()
    root = ElementTree.fromstring(client.get("/open311/v2/services.xml").content)
    assert root.tag == "services" and [e.tag for e in root] == ["service"] * 7
    assert root[0].find("service_code").text == "urban"  # type: ignore[union-attr]
    assert client.get("/open311/v2/services/urban.json").json() == {"service_code": "urban", "attributes": []}
    assert client.get("/open311/v2/services/nope.json").status_code == 404


def test_filing_needs_a_valid_key_a_service_and_a_place(client: TestClient, api_key: str) -> None:
    assert file(client, service_code="urban", lat="39.99", long="116.47")[0] == 403
    status, body = file(client, api_key="wrong", service_code="urban", lat="39.99", long="116.47")
    assert status == 403 and body == [{"code": 403, "description": "api_key is missing or not valid"}]
    assert file(client, api_key=api_key, lat="39.99", long="116.47")[0] == 400  # no service_code
    assert file(client, api_key=api_key, service_code="cats", lat="39.99", long="116.47")[0] == 400
    status, body = file(client, api_key=api_key, service_code="urban", description="垃圾没人清理")
    assert status == 400 and "location" in body[0]["description"]  # type: ignore[index]
    assert file(client, api_key=api_key, service_code="urban", lat="north", long="116")[0] == 400


def test_a_filed_request_is_a_ticket_that_can_be_followed(client: TestClient, api_key: str) -> None:
    status, body = file(
        client, api_key=api_key, service_code="urban", address_string="朝阳区望京街道阜通东大街6号楼",
        description="楼下垃圾堆了三天没人清理", first_name="明", last_name="李", phone="13812345678",
        media_url="https://example.org/photo.jpg",
    )
    assert status == 201
    [created] = body  # type: ignore[misc]
    number = created["service_request_id"]
    assert set(created) == {"service_request_id", "service_notice", "account_id"} and number in created["service_notice"]

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert (ticket.category, ticket.street_code, ticket.channel, ticket.conversation_id) == ("城乡建设", "110105026", "open311", None)
        unit = uow.session.scalars(select(Unit).where(Unit.code == "110105026")).one()
        dispatch_ticket(uow.session, ticket=ticket, unit_ids=[unit.id], operator=None, now=datetime.now(UTC))
        uow.commit()

    [one] = client.get(f"/open311/v2/requests/{number}.json").json()
    assert set(one) == REQUEST_FIELDS
    assert (one["status"], one["service_code"], one["agency_responsible"]) == ("open", "urban", "望京街道")
    assert one["media_url"] == "https://example.org/photo.jpg" and "望京街道" in one["address"]
    assert one["expected_datetime"] and "已派至望京街道" in one["status_notes"]

    xml = ElementTree.fromstring(client.get(f"/open311/v2/requests/{number}.xml").content)
    assert xml.tag == "service_requests" and xml[0].find("service_request_id").text == number  # type: ignore[union-attr]

    listed = client.get("/open311/v2/requests.json", params={"status": "open", "service_code": "urban"}).json()
    assert [r["service_request_id"] for r in listed] == [number]
    assert client.get("/open311/v2/requests.json", params={"status": "closed"}).json() == []
    assert client.get("/open311/v2/requests.json", params={"service_request_id": f"{number},000"}).json()[0]["service_request_id"] == number
    assert client.get("/open311/v2/requests.json", params={"start_date": "2099-01-01T00:00:00Z"}).json() == []
    assert client.get("/open311/v2/requests.json", params={"status": "maybe"}).status_code == 400
    assert client.get("/open311/v2/requests/000.json").status_code == 404
