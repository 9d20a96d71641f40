"""The console API: accounts, the queue, live chat, review, dispatch, units, supervision, search.

Runs the real app (TestClient with its lifespan) on SQLite and PostgreSQL, with citizens writing
through the real conversation engine.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from api.config import Settings
from api.main import create_app
from handoff.accounts import create_operator, hash_password
from handoff.errors import ConflictError
from handoff.intake import Submission, handle_batch, handle_inbound
from handoff.messages import InboundMessage
from handoff.models import Conversation, ConversationState, NluFeedback, Operator, OutboxEntry, Role, Ticket, TicketAssignment, Unit
from handoff.queue import claim_conversation
from tests.fakes import FakeNlu

DEMO = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"
PASSWORD = "correct horse battery"
_counter = iter(range(1, 10**6))


@pytest.fixture
def app_client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=db_url, data_dir=tmp_path, auto_migrate=False, run_workers=False, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, nlu=FakeNlu())
    with TestClient(app, base_url="http://testserver") as client:
        runtime = app.state.runtime
        with runtime.new_uow() as uow:
            create_operator(uow.session, username="op1", display_name="op1", password=PASSWORD, role=Role.OPERATOR,
                            now=datetime.now(UTC))
            for username, role, unit in [
                ("op2", Role.OPERATOR, None),
                ("wj", Role.UNIT_HANDLER, "110105026"),  # 望京街道
                ("dw", Role.UNIT_HANDLER, "110105027"),  # another street of 朝阳区
                ("boss", Role.SUPERVISOR, None),
            ]:
                unit_id = uow.session.scalar(select(Unit.id).where(Unit.code == unit)) if unit else None
                uow.session.add(Operator(username=username, display_name=username, password_hash=_password_hash(),
                                         role=role, unit_id=unit_id))
            uow.commit()
        yield client


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once for the whole run


class Console:
    """One logged-in browser: its own cookie jar and CSRF token."""

    def __init__(self, app_client: TestClient, username: str) -> None:
        self.client = TestClient(app_client.app, base_url="http://testserver")
        response = self.client.post("/api/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.csrf = response.json()["csrf_token"]

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        response = self.client.post(url, json=body or {}, headers={"X-CSRF-Token": self.csrf})
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    def patch(self, url: str, body: dict[str, Any], expect: int = 200) -> Any:
        response = self.client.patch(url, json=body, headers={"X-CSRF-Token": self.csrf})
        assert response.status_code == expect, response.text
        return response.json()


def citizen_says(app_client: TestClient, text: str, user: str = "citizen-1") -> Any:
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    message = InboundMessage(
        channel="web", channel_user_id=user, chat_id=f"chat-{user}", platform_msg_id=f"c{next(_counter)}",
        received_at=datetime.now(UTC), text=text,
    )
    return handle_inbound(runtime.new_uow(), nlu=runtime.nlu, msg=message)


def ticket_id_of(app_client: TestClient, number: str) -> str:
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        return str(uow.session.scalars(select(Ticket.id).where(Ticket.number == number)).one())


# -- accounts ---------------------------------------------------------------------------------------


def test_login_session_csrf_and_logout(app_client: TestClient) -> None:
    bad = app_client.post("/api/login", json={"username": "op1", "password": "wrong password"})
    assert bad.status_code == 401 and bad.json()["error"] == "not_authenticated"
    assert app_client.post("/api/login", json={"username": "nobody", "password": PASSWORD}).status_code == 401
    assert app_client.get("/api/queue").status_code == 401

    login = app_client.post("/api/login", json={"username": "op1", "password": PASSWORD})
    cookie = login.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert app_client.get("/api/me").json()["operator"]["role"] == "operator"
    csrf = login.json()["csrf_token"]

    citizen_says(app_client, DEMO)
    conversation_id = app_client.get("/api/queue").json()["items"][0]["conversation_id"]
    forged = app_client.post(f"/api/conversations/{conversation_id}/claim")  # a cross-site form can't add the header
    assert forged.status_code == 403
    wrong = app_client.post(f"/api/conversations/{conversation_id}/claim", headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    ok = app_client.post(f"/api/conversations/{conversation_id}/claim", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200

    assert app_client.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert app_client.get("/api/me").status_code == 401


def test_a_login_from_another_site_is_refused(app_client: TestClient) -> None:
    response = app_client.post(
        "/api/login", json={"username": "op1", "password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403


def test_sessions_expire(app_client: TestClient) -> None:
    from handoff.accounts import SessionPolicy, authenticate, log_in
    from handoff.errors import AuthenticationError

    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=2))
    start = datetime.now(UTC)
    with runtime.new_uow() as uow:
        login = log_in(uow.session, username="op1", password=PASSWORD, now=start, policy=policy)
        uow.commit()
    with runtime.new_uow() as uow:
        authenticate(uow.session, token=login.token, now=start + timedelta(minutes=20), policy=policy)
        uow.commit()
    with runtime.new_uow() as uow, pytest.raises(AuthenticationError):
        authenticate(uow.session, token=login.token, now=start + timedelta(minutes=55), policy=policy)
    with runtime.new_uow() as uow, pytest.raises(AuthenticationError):
        authenticate(uow.session, token=login.token, now=start + timedelta(hours=3), policy=policy)


def test_passwords_are_stored_as_argon2_hashes(app_client: TestClient) -> None:
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        stored = uow.session.scalars(select(Operator.password_hash).where(Operator.username == "op1")).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# -- queue and live chat -------------------------------------------------------------------------------


def test_the_queue_puts_urgent_first_then_oldest_and_counts_the_waiting(app_client: TestClient) -> None:
    citizen_says(app_client, DEMO, user="a")
    citizen_says(app_client, "转人工", user="b")
    citizen_says(app_client, "望京街道阜通东大街6号楼楼道里有燃气味", user="c")
    queue = Console(app_client, "op1").get("/api/queue").json()
    assert queue["waiting"] == 3
    assert [i["urgent"] for i in queue["items"]] == [True, False, False]
    assert queue["items"][1]["preview"] == DEMO  # older than b's
    assert queue["longest_wait_seconds"] >= 0


def test_after_a_burst_the_queue_shows_the_first_and_counts_all_in_a_few_queries(app_client: TestClient) -> None:
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    submissions = [
        Submission(InboundMessage(channel="web", channel_user_id=f"burst-{n}", chat_id=f"chat-burst-{n}",
                                  platform_msg_id=f"burst{n}", received_at=datetime.now(UTC), text=f"{DEMO}，第{n}位"))
        for n in range(240)
    ]
    handle_batch(runtime.new_uow, nlu=runtime.nlu, submissions=submissions)  # 240 citizens wait
    console = Console(app_client, "op1")
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        queue = console.get("/api/queue?limit=50").json()
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert (queue["total"], queue["waiting"], len(queue["items"])) == (240, 240, 50)
    assert [i["preview"] for i in queue["items"][:2]] == [f"{DEMO}，第0位", f"{DEMO}，第1位"]  # oldest first
    assert len(statements) <= 8  # the session, the queue, the tickets, the previews: not one per citizen
    assert len(console.get("/api/queue").json()["items"]) == 200  # the default page


def test_two_operators_claiming_at_once_exactly_one_wins(app_client: TestClient) -> None:
    citizen_says(app_client, DEMO)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        conversation_id = uow.session.scalars(select(Conversation.id)).one()
        operators = list(uow.session.scalars(select(Operator).where(Operator.username.in_(["op1", "op2"]))))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(operator: Operator) -> None:
        with runtime.new_uow() as uow:
            barrier.wait()
            try:
                claim_conversation(uow.session, conversation_id=conversation_id, operator=operator, now=datetime.now(UTC))
                uow.commit()
                outcomes.append("won")
            except ConflictError:
                outcomes.append("lost")

    threads = [threading.Thread(target=claim, args=(op,)) for op in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]


def test_live_chat_relays_both_ways_and_the_bot_stays_quiet(app_client: TestClient) -> None:
    number = citizen_says(app_client, DEMO).ticket_number
    op1, op2 = Console(app_client, "op1"), Console(app_client, "op2")
    conversation_id = op1.get("/api/queue").json()["items"][0]["conversation_id"]
    op1.post(f"/api/conversations/{conversation_id}/claim")
    op2.post(f"/api/conversations/{conversation_id}/claim", expect=409)
    assert op2.post(f"/api/conversations/{conversation_id}/messages", {"text": "插话"}, expect=403)

    sent = op1.post(f"/api/conversations/{conversation_id}/messages", {"text": "您好，我是话务员，请问垃圾堆在哪个单元门口？"})
    assert sent["sender"] == "operator"
    assert citizen_says(app_client, "3单元门口").replies == ()  # the bot keeps quiet

    chat = op1.get(f"/api/conversations/{conversation_id}").json()
    texts = [(m["sender"], m["text"]) for m in chat["messages"]]
    assert ("operator", "您好，我是话务员，请问垃圾堆在哪个单元门口？") in texts
    assert texts[-1] == ("citizen", "3单元门口")
    assert [t["number"] for t in chat["citizen_tickets"]] == [number]

    op1.post(f"/api/conversations/{conversation_id}/transfer", {"username": "op2"})
    op2.post(f"/api/conversations/{conversation_id}/messages", {"text": "我来接着处理"})
    op2.post(f"/api/conversations/{conversation_id}/end", expect=204)
    after = citizen_says(app_client, "谢谢")
    assert after.replies and "不客气" in after.replies[0].text  # the bot is back

    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        kinds = [e.kind for e in uow.session.scalars(select(OutboxEntry).order_by(OutboxEntry.created_at))]
    assert kinds.count("operator") == 2  # both operator messages go to the citizen's channel


def test_release_puts_the_chat_back_in_the_queue(app_client: TestClient) -> None:
    citizen_says(app_client, "转人工")
    op1 = Console(app_client, "op1")
    conversation_id = op1.get("/api/queue").json()["items"][0]["conversation_id"]
    op1.post(f"/api/conversations/{conversation_id}/claim")
    assert op1.get("/api/queue").json()["waiting"] == 0
    op1.post(f"/api/conversations/{conversation_id}/release", expect=204)
    assert op1.get("/api/queue").json()["waiting"] == 1


def test_canned_replies_are_listed(app_client: TestClient) -> None:
    replies = Console(app_client, "op1").get("/api/canned-replies").json()
    assert {"shortcut": "where", "text": "请告诉我问题发生的具体位置：所在区、街道/乡镇，以及小区、道路或门牌号。"} in replies


# -- review, dispatch, units, supervision ------------------------------------------------------------------


def test_review_keeps_corrections_as_labelled_data(app_client: TestClient) -> None:
    number = citizen_says(app_client, DEMO).ticket_number
    ticket_id = ticket_id_of(app_client, number)
    op1 = Console(app_client, "op1")
    detail = op1.get(f"/api/tickets/{ticket_id}").json()
    assert detail["analysis"]["category"] == "城乡建设" and detail["analysis"]["category_confidence"] == 0.97
    assert detail["suggested_units"][0]["name"] == "望京街道"

    op1.patch(f"/api/tickets/{ticket_id}", {"category": "猫狗", "street_code": "110105027"}, expect=422)
    corrected = op1.patch(f"/api/tickets/{ticket_id}", {"category": "环境保护", "street_code": "110105027"})
    assert corrected["ticket"]["category"] == "环境保护"
    assert corrected["ticket"]["district"] == "朝阳区" and corrected["ticket"]["street_code"] == "110105027"
    assert corrected["timeline"][-1]["kind"] == "corrected"

    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        feedback = uow.session.scalars(select(NluFeedback)).one()
        assert feedback.predicted["category"] == "城乡建设" and feedback.confirmed["category"] == "环境保护"
        assert feedback.corrected_fields == {"fields": ["category", "street_code"]}


def test_dispatch_sign_progress_result_with_dual_feedback(app_client: TestClient) -> None:
    number = citizen_says(app_client, DEMO).ticket_number
    ticket_id = ticket_id_of(app_client, number)
    op1, wj = Console(app_client, "op1"), Console(app_client, "wj")
    suggested = op1.get(f"/api/tickets/{ticket_id}").json()["suggested_units"]
    dispatched = op1.post(f"/api/tickets/{ticket_id}/dispatch", {"unit_ids": [suggested[0]["id"], suggested[1]["id"]]})
    assert dispatched["ticket"]["status"] == "dispatched"
    lead = dispatched["assignments"][0]
    assert lead["lead"] and lead["unit"]["name"] == "望京街道"
    sign_within = datetime.fromisoformat(lead["sign_deadline"]) - datetime.fromisoformat(lead["dispatched_at"])
    assert sign_within == timedelta(hours=2)

    queue = wj.get("/api/my/assignments").json()
    assert [q["ticket"]["number"] for q in queue] == [number]
    assignment_id = queue[0]["assignment"]["id"]
    wj.post(f"/api/assignments/{assignment_id}/result", {"result": "已清理", "citizen_reply": "已清理"}, expect=409)
    wj.post(f"/api/assignments/{assignment_id}/sign")
    wj.post(f"/api/assignments/{assignment_id}/progress", {"note": "环卫队已到现场"})
    wj.post(f"/api/assignments/{assignment_id}/result", {"result": "已清运"}, expect=400)  # no citizen feedback
    wj.post(f"/api/assignments/{assignment_id}/result", {"result": "垃圾已于今日清运，已安排每日巡查", "citizen_reply": "您反映的垃圾已清运完毕，感谢监督。"})

    detail = op1.get(f"/api/tickets/{ticket_id}").json()
    assert detail["ticket"]["status"] == "in_progress"  # the department has not reported yet
    assert detail["ticket"]["center_feedback_at"] and detail["ticket"]["citizen_feedback_at"]
    kinds = [e["kind"] for e in detail["timeline"]]
    assert {"center_feedback", "citizen_feedback"} <= set(kinds)

    # The second unit (the department) is handled by a supervisor on its behalf here.
    boss = Console(app_client, "boss")
    department = detail["assignments"][1]["id"]
    boss.post(f"/api/assignments/{department}/sign")
    boss.post(f"/api/assignments/{department}/result", {"result": "已督促街道", "phone_contacted": True})
    final = op1.get(f"/api/tickets/{ticket_id}").json()
    assert final["ticket"]["status"] == "resolved"
    actors = {(e["kind"], e["actor_type"]) for e in final["timeline"]}
    assert ("status", "unit") in actors and ("status", "operator") in actors

    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        pushed = [e.payload["text"] for e in uow.session.scalars(select(OutboxEntry).order_by(OutboxEntry.created_at))]
    assert any("您反映的垃圾已清运完毕" in t and "望京街道" in t for t in pushed)
    assert any("已办结" in t for t in pushed)


def test_a_unit_sends_a_ticket_back_and_the_center_redispatches(app_client: TestClient) -> None:
    number = citizen_says(app_client, DEMO).ticket_number
    ticket_id = ticket_id_of(app_client, number)
    op1, wj = Console(app_client, "op1"), Console(app_client, "wj")
    wangjing = op1.get("/api/units", params={"q": "110105026"}).json()[0]["id"]
    dawang = op1.get("/api/units", params={"q": "110105027"}).json()[0]["id"]
    op1.post(f"/api/tickets/{ticket_id}/dispatch", {"unit_ids": [wangjing]})
    assignment_id = wj.get("/api/my/assignments").json()[0]["assignment"]["id"]
    wj.post(f"/api/assignments/{assignment_id}/return", {"reason": ""}, expect=422)
    wj.post(f"/api/assignments/{assignment_id}/return", {"reason": "该地址属于相邻街道辖区"})
    queue = op1.get("/api/queue").json()["items"]
    assert any(i["ticket_number"] == number and i["ticket_status"] == "returned" for i in queue)
    again = op1.post(f"/api/tickets/{ticket_id}/dispatch", {"unit_ids": [dawang]})
    assert again["ticket"]["status"] == "dispatched"
    assert wj.get("/api/my/assignments").json() == []


def test_a_unit_handler_cannot_read_another_units_ticket(app_client: TestClient) -> None:
    number = citizen_says(app_client, DEMO).ticket_number
    ticket_id = ticket_id_of(app_client, number)
    op1, wj, dw = Console(app_client, "op1"), Console(app_client, "wj"), Console(app_client, "dw")
    assert wj.get(f"/api/tickets/{ticket_id}").status_code == 404  # not dispatched to anyone yet
    wangjing = op1.get("/api/units", params={"q": "110105026"}).json()[0]["id"]
    op1.post(f"/api/tickets/{ticket_id}/dispatch", {"unit_ids": [wangjing]})
    assert wj.get(f"/api/tickets/{ticket_id}").status_code == 200
    assert dw.get(f"/api/tickets/{ticket_id}").status_code == 404  # guessing the id reveals nothing
    assignment_id = wj.get("/api/my/assignments").json()[0]["assignment"]["id"]
    dw.post(f"/api/assignments/{assignment_id}/sign", expect=404)
    assert dw.get("/api/tickets", params={"number": number}).json() == []
    assert dw.get("/api/queue").status_code == 403
    assert wj.get("/api/supervision/overdue").status_code == 403


def test_supervisors_see_overdue_units_remind_and_reassign(app_client: TestClient) -> None:
    number = citizen_says(app_client, DEMO).ticket_number
    ticket_id = ticket_id_of(app_client, number)
    op1, boss, wj = Console(app_client, "op1"), Console(app_client, "boss"), Console(app_client, "wj")
    wangjing = op1.get("/api/units", params={"q": "110105026"}).json()[0]["id"]
    op1.post(f"/api/tickets/{ticket_id}/dispatch", {"unit_ids": [wangjing]})
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:  # three hours later, nobody has signed
        assignment = uow.session.scalars(select(TicketAssignment)).one()
        assignment.sign_deadline = datetime.now(UTC) - timedelta(hours=1)
        uow.commit()
    rows = boss.get("/api/supervision/overdue").json()
    assert [(r["ticket_number"], r["stage"], r["overdue"]) for r in rows] == [(number, "sign", True)]
    boss.post(f"/api/assignments/{rows[0]['assignment_id']}/remind", {"note": "请立即签收"})
    mine = wj.get("/api/my/assignments").json()
    assert mine[0]["assignment"]["reminders"] == 1
    dawang = op1.get("/api/units", params={"q": "110105027"}).json()[0]["id"]
    replacement = boss.post(f"/api/assignments/{rows[0]['assignment_id']}/reassign", {"unit_id": dawang})
    assert replacement["unit"]["code"] == "110105027"
    assert wj.get("/api/my/assignments").json() == []
    timeline = op1.get(f"/api/tickets/{ticket_id}").json()["timeline"]
    assert [e["kind"] for e in timeline][-2:] == ["reminder", "reassigned"]


def test_search_by_number_phone_text_status_and_category(app_client: TestClient) -> None:
    first = citizen_says(app_client, DEMO + "，电话13812345678", user="a").ticket_number
    second = citizen_says(app_client, "望京街道阜通东大街6号楼楼道里有燃气味", user="b").ticket_number
    op1 = Console(app_client, "op1")

    def numbers(**params: Any) -> list[str]:
        return [t["number"] for t in op1.get("/api/tickets", params=params).json()]

    assert numbers(number=first) == [first]
    assert numbers(phone="13812345678") == [first]
    assert numbers(text="燃气") == [second]
    assert numbers(text="%") == []  # LIKE wildcards are searched literally
    assert numbers(category="城乡建设") == [first]
    assert set(numbers(status="accepted")) == {first, second}
    assert numbers(urgent=True) == [second]
    assert numbers(since=(datetime.now(UTC) + timedelta(days=1)).isoformat()) == []


def test_export_feedback_writes_jsonl(app_client: TestClient, tmp_path: Path) -> None:
    import json

    from handoff.corrections import export_feedback

    number = citizen_says(app_client, DEMO).ticket_number
    op1 = Console(app_client, "op1")
    op1.patch(f"/api/tickets/{ticket_id_of(app_client, number)}", {"request_type": "投诉"})
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        rows = [json.loads(json.dumps(r)) for r in export_feedback(uow.session)]
    assert rows[0]["text"] == DEMO and rows[0]["label"]["street_code"] == "110105026" and rows[0]["corrected"] == []


def test_the_console_socket_pushes_citizen_messages_at_once(app_client: TestClient) -> None:
    # The app's own client: its socket runs on the loop of the app's lifespan, as under a server.
    assert app_client.post("/api/login", json={"username": "op1", "password": PASSWORD}).status_code == 200
    with app_client.websocket_connect("/ws/console") as socket:
        assert socket.receive_json()["type"] == "hello"
        citizen_says(app_client, DEMO)
        seen: list[dict[str, Any]] = []
        while not any(c["kind"] == "message" and c["data"]["text"] == DEMO for c in seen):
            seen.extend(socket.receive_json()["changes"])
        assert any(c["kind"] == "conversation" for c in seen)


def test_a_claim_reaches_the_other_consoles_at_once(app_client: TestClient) -> None:
    """A claim is a conditional UPDATE, not a change the flush sees: told to the consoles all the same."""
    citizen_says(app_client, DEMO)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        conversation_id = uow.session.scalars(select(Conversation.id)).one()
        op2 = uow.session.scalars(select(Operator).where(Operator.username == "op2")).one()
    assert app_client.post("/api/login", json={"username": "op1", "password": PASSWORD}).status_code == 200
    with app_client.websocket_connect("/ws/console") as socket:
        assert socket.receive_json()["type"] == "hello"
        with runtime.new_uow() as uow:
            claim_conversation(uow.session, conversation_id=conversation_id, operator=op2, now=datetime.now(UTC))
            uow.commit()
        change = socket.receive_json()["changes"][0]
    assert change["kind"] == "conversation" and change["conversation_id"] == str(conversation_id)
    assert change["data"] == {"state": "operator", "operator_id": str(op2.id)}


def test_the_console_socket_refuses_strangers(app_client: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), app_client.websocket_connect("/ws/console") as socket:
        socket.receive_json()
    op1 = Console(app_client, "op1")
    with pytest.raises(WebSocketDisconnect), op1.client.websocket_connect(
        "/ws/console", headers={"Origin": "https://evil.example"}
    ) as socket:
        socket.receive_json()


def test_a_conversation_that_is_not_held_cannot_be_written_to(app_client: TestClient) -> None:
    citizen_says(app_client, "转人工")
    op1 = Console(app_client, "op1")
    conversation_id = op1.get("/api/queue").json()["items"][0]["conversation_id"]
    op1.post(f"/api/conversations/{conversation_id}/messages", {"text": "你好"}, expect=409)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.new_uow() as uow:
        assert uow.session.scalars(select(Conversation.state)).one() == ConversationState.QUEUED


def test_an_operator_links_one_citizen_across_platforms(app_client: TestClient) -> None:
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    citizen_says(app_client, DEMO + "，电话13812345678", user="web-user")
    telegram = InboundMessage(channel="telegram", channel_user_id="424242", chat_id="424242", platform_msg_id="update:1",
                              received_at=datetime.now(UTC), text="望京街道阜通东大街6号楼楼道里有燃气味，电话+86 13812345678")
    handle_inbound(runtime.new_uow(), nlu=runtime.nlu, msg=telegram)
    op1 = Console(app_client, "op1")
    [candidate] = op1.get("/api/citizen-links").json()
    assert candidate["phone"] == "138****5678" and {c["channels"][0] for c in candidate["citizens"]} == {"web", "telegram"}
    keep, merge = (c["id"] for c in candidate["citizens"])
    linked = op1.post("/api/citizen-links", {"keep": keep, "merge": merge})
    assert linked["moved"]["tickets"] == 1
    assert op1.get("/api/citizen-links").json() == []
    status = citizen_says(app_client, "我的工单", user="web-user").replies[0].text
    assert status.count("2026") >= 2  # both tickets, from both platforms
