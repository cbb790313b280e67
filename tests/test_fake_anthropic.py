"""Tests of the fake Anthropic server, driven through the real anthropic SDK over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import pydantic
import pytest
from anthropic._constants import ANTHROPIC_API_VERSION

sys.path.insert(0, os.path.dirname(__file__))
from fake_anthropic import FakeAnthropic, example_from_schema  # noqa: E402

KEY = "sk-test-fake"
MODEL = "claude-fake-1"


def client(fake: FakeAnthropic, **kw) -> anthropic.Anthropic:
    kw.setdefault("max_retries", 0)
    return anthropic.Anthropic(api_key=KEY, base_url=fake.url, **kw)


def aclient(fake: FakeAnthropic, **kw) -> anthropic.AsyncAnthropic:
    kw.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(api_key=KEY, base_url=fake.url, **kw)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def ask(c: anthropic.Anthropic, text: str = "hello", **kw) -> anthropic.types.Message:
    kw.setdefault("max_tokens", 64)
    return c.messages.create(model=MODEL, messages=user(text), **kw)


# --------------------------------------------------------------------------- plain messages


def test_plain_message_sync():
    with FakeAnthropic() as fake:
        assert fake.url.startswith("http://127.0.0.1:")
        msg = ask(client(fake), "What is the capital of France?")
        assert msg.type == "message" and msg.role == "assistant" and msg.model == MODEL
        assert msg.id.startswith("msg_")
        assert [b.type for b in msg.content] == ["text"]
        assert msg.content[0].text == "reply to: What is the capital of France?"
        assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
        u = msg.usage
        assert u.input_tokens > 0 and u.output_tokens > 0
        assert u.cache_creation_input_tokens == 0 and u.cache_read_input_tokens == 0


def test_plain_message_async_and_custom_reply_fn():
    def reply(body):
        return "echo:" + body["messages"][-1]["content"].upper()

    async def main(fake):
        ac = aclient(fake)
        try:
            return await ac.messages.create(model=MODEL, max_tokens=32, messages=user("abc"))
        finally:
            await ac.close()

    with FakeAnthropic(reply_fn=reply) as fake:
        msg = asyncio.run(main(fake))
    assert msg.content[0].text == "echo:ABC"


def test_reply_is_deterministic_and_truncated():
    long_text = "word " * 100
    with FakeAnthropic() as fake:
        c = client(fake)
        a, b = ask(c, long_text), ask(c, long_text)
    assert a.content[0].text == b.content[0].text
    assert a.content[0].text.startswith("reply to: word word")
    assert len(a.content[0].text) <= len("reply to: ") + 60
    assert a.usage == b.usage


def test_stop_sequence_and_max_tokens():
    with FakeAnthropic() as fake:
        c = client(fake)
        msg = ask(c, "one two STOP three", stop_sequences=["STOP"])
        assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == "STOP"
        assert msg.content[0].text == "reply to: one two "
        msg = ask(c, "a fairly long prompt that yields a long echo", max_tokens=2)
        assert msg.stop_reason == "max_tokens" and msg.stop_sequence is None
        assert msg.usage.output_tokens <= 2


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("param,value", [("temperature", 1.0), ("top_p", 1.0), ("top_k", 5), ("temperature", 0)])
def test_sampling_params_rejected(param, value):
    with FakeAnthropic() as fake:
        with pytest.raises(anthropic.BadRequestError) as ei:
            ask(client(fake), extra_body={param: value})
        err = ei.value
        assert err.status_code == 400
        assert err.body["type"] == "error"
        assert err.body["error"]["type"] == "invalid_request_error"
        assert param in err.body["error"]["message"]
        assert err.request_id and err.request_id.startswith("req_")
        assert fake.replies_by_status == {400: 1}
        assert fake.successes_by_body == {}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_tokens": 0, "messages": user("x")},
        {"max_tokens": 10, "messages": []},
        {"max_tokens": 10, "messages": [{"role": "robot", "content": "x"}]},
        {"max_tokens": 10, "messages": [{"role": "user", "content": 5}]},
        {"max_tokens": 10, "messages": [{"role": "user", "content": [{"text": "no type"}]}]},
        {"max_tokens": 10, "messages": user("x"), "extra_body": {"not_a_param": 1}},
        {"max_tokens": 10, "messages": user("x"), "extra_body": {"max_tokens": "ten"}},
    ],
)
def test_invalid_bodies_rejected(kwargs):
    with FakeAnthropic() as fake:
        with pytest.raises(anthropic.BadRequestError) as ei:
            client(fake).messages.create(model=MODEL, **kwargs)
        assert ei.value.body["error"]["type"] == "invalid_request_error"


def test_block_content_and_system_accepted():
    with FakeAnthropic() as fake:
        msg = client(fake).messages.create(
            model=MODEL,
            max_tokens=50,
            system=[{"type": "text", "text": "be brief"}],
            messages=[
                {"role": "user", "content": [{"type": "text", "text": "first"}]},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}]},
            ],
        )
    assert msg.content[0].text == "reply to: second part"


def test_auth_and_unknown_model():
    with FakeAnthropic(api_key="sk-right", models={MODEL}) as fake:
        bad = anthropic.Anthropic(api_key="sk-wrong", base_url=fake.url, max_retries=0)
        with pytest.raises(anthropic.AuthenticationError):
            ask(bad)
        good = anthropic.Anthropic(api_key="sk-right", base_url=fake.url, max_retries=0)
        with pytest.raises(anthropic.NotFoundError):
            good.messages.create(model="claude-nope", max_tokens=5, messages=user("x"))
        assert ask(good).stop_reason == "end_turn"


# --------------------------------------------------------------------------- tools & structured output

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "verbose": {"type": "boolean"},
        },
        "required": ["city", "days", "unit", "tags"],
    },
}


def test_tool_use_default_input():
    with FakeAnthropic() as fake:
        msg = ask(client(fake), "weather?", tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_weather"})
    assert msg.stop_reason == "tool_use"
    (block,) = msg.content
    assert block.type == "tool_use" and block.name == "get_weather" and block.id.startswith("toolu_")
    assert set(block.input) == {"city", "days", "unit", "tags"}
    assert isinstance(block.input["city"], str)
    assert block.input["days"] == 1 and block.input["unit"] == "celsius"
    assert isinstance(block.input["tags"], list) and block.input["tags"]


def test_tool_use_tool_fn_and_auto_choice():
    def tool_fn(body):
        return {"city": body["messages"][-1]["content"], "days": 3, "unit": "celsius", "tags": []}

    with FakeAnthropic(tool_fn=tool_fn) as fake:
        c = client(fake)
        msg = ask(c, "Paris", tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_weather"})
        assert msg.content[0].input == {"city": "Paris", "days": 3, "unit": "celsius", "tags": []}
        # tool_choice auto -> plain text
        msg = ask(c, "Paris", tools=[WEATHER_TOOL])
        assert msg.stop_reason == "end_turn" and msg.content[0].type == "text"
        with pytest.raises(anthropic.BadRequestError):
            ask(c, "Paris", tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "missing"})


class Person(pydantic.BaseModel):
    name: str
    age: int
    emails: list[str]
    member: bool


def test_output_config_json_schema_and_parse():
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "score": {"type": "number"}, "ok": {"type": "boolean"}},
        "required": ["title", "score", "ok"],
        "additionalProperties": False,
    }
    with FakeAnthropic() as fake:
        c = client(fake)
        msg = ask(c, "rate it", output_config={"format": {"type": "json_schema", "schema": schema}})
        data = json.loads(msg.content[0].text)
        assert set(data) == {"title", "score", "ok"} and isinstance(data["score"], float)
        parsed = c.messages.parse(model=MODEL, max_tokens=200, messages=user("who?"), output_format=Person)
        assert isinstance(parsed.parsed_output, Person)
        assert fake.bodies[-1]["output_config"]["format"]["type"] == "json_schema"
    with FakeAnthropic(json_fn=lambda body: {"name": "Ada", "age": 36, "emails": [], "member": True}) as fake:
        parsed = client(fake).messages.parse(model=MODEL, max_tokens=200, messages=user("who?"), output_format=Person)
        assert parsed.parsed_output == Person(name="Ada", age=36, emails=[], member=True)


def test_example_from_schema_refs():
    schema = {
        "type": "object",
        "properties": {"pet": {"$ref": "#/$defs/Pet"}, "maybe": {"anyOf": [{"type": "null"}, {"type": "integer"}]}},
        "required": ["pet", "maybe"],
        "$defs": {"Pet": {"type": "object", "properties": {"kind": {"const": "dog"}}, "required": ["kind"]}},
    }
    assert example_from_schema(schema) == {"pet": {"kind": "dog"}, "maybe": 1}


# --------------------------------------------------------------------------- prompt caching


def test_prompt_cache_creation_then_read():
    system = [{"type": "text", "text": "You are a careful assistant. " * 40, "cache_control": {"type": "ephemeral"}}]
    with FakeAnthropic() as fake:
        c = client(fake)
        first = c.messages.create(model=MODEL, max_tokens=20, system=system, messages=user("q1"))
        second = c.messages.create(model=MODEL, max_tokens=20, system=system, messages=user("q2"))
        other_model = c.messages.create(model="claude-other", max_tokens=20, system=system, messages=user("q3"))
        plain = ask(c, "no cache")
    assert first.usage.cache_creation_input_tokens > 0 and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == first.usage.input_tokens  # only the uncached user turn
    assert other_model.usage.cache_read_input_tokens == 0 and other_model.usage.cache_creation_input_tokens > 0
    assert plain.usage.cache_creation_input_tokens == 0 and plain.usage.cache_read_input_tokens == 0


def test_prompt_cache_growing_conversation():
    turn1 = [{"role": "user", "content": [{"type": "text", "text": "x" * 400, "cache_control": {"type": "ephemeral"}}]}]
    turn2 = [
        {"role": "user", "content": [{"type": "text", "text": "x" * 400}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "y" * 200, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
    ]
    with FakeAnthropic() as fake:
        c = client(fake)
        a = c.messages.create(model=MODEL, max_tokens=10, messages=turn1)
        b = c.messages.create(model=MODEL, max_tokens=10, messages=turn2)
    assert a.usage.cache_creation_input_tokens == 100
    assert b.usage.cache_read_input_tokens == 100
    assert b.usage.cache_creation.ephemeral_1h_input_tokens == b.usage.cache_creation_input_tokens > 0


def test_count_tokens_endpoint():
    with FakeAnthropic() as fake:
        res = client(fake).messages.count_tokens(model=MODEL, messages=user("x" * 40))
    assert res.input_tokens == 10


# --------------------------------------------------------------------------- rate limits

RL_HEADERS = [
    f"anthropic-ratelimit-{kind}-{field}"
    for kind in ("requests", "input-tokens", "output-tokens", "tokens")
    for field in ("limit", "remaining", "reset")
]


def test_rate_limit_headers_and_429_on_rpm():
    with FakeAnthropic(rpm=3) as fake:
        c = client(fake)
        remaining = []
        for i in range(3):
            raw = c.messages.with_raw_response.create(model=MODEL, max_tokens=16, messages=user(f"m{i}"))
            for h in RL_HEADERS:
                assert h in raw.headers, h
            assert raw.headers["anthropic-ratelimit-requests-limit"] == "3"
            assert raw.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
            assert int(raw.headers["anthropic-ratelimit-output-tokens-remaining"]) < 400_000
            remaining.append(int(raw.headers["anthropic-ratelimit-requests-remaining"]))
            raw.parse()
        assert remaining == [2, 1, 0]
        # A client pacing from the headers would stop here; one that does not gets a 429.
        with pytest.raises(anthropic.RateLimitError) as ei:
            ask(c, "one too many")
        err = ei.value
        assert err.body["error"]["type"] == "rate_limit_error"
        retry_after = err.response.headers["retry-after"]
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
        assert err.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert fake.replies_by_status == {200: 3, 429: 1}


def test_header_pacing_client_never_sees_429():
    """A client that only sends when the headers leave room is never throttled."""
    with FakeAnthropic(rpm=4, input_tpm=10_000, output_tpm=200) as fake:
        c = client(fake)
        sent = 0
        headroom = {"requests": 1, "output": 10_000}
        while headroom["requests"] > 0 and headroom["output"] >= 50:
            raw = c.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=user(f"q{sent}"))
            raw.parse()
            sent += 1
            headroom = {
                "requests": int(raw.headers["anthropic-ratelimit-requests-remaining"]),
                "output": int(raw.headers["anthropic-ratelimit-output-tokens-remaining"]),
            }
        assert sent == 4
        assert 429 not in fake.replies_by_status


def test_input_and_output_token_limits():
    with FakeAnthropic(input_tpm=60) as fake:
        c = client(fake)
        ask(c, "x" * 200)  # 50 input tokens
        with pytest.raises(anthropic.RateLimitError) as ei:
            ask(c, "x" * 200)
        assert "input tokens" in ei.value.body["error"]["message"]
    with FakeAnthropic(output_tpm=100) as fake:
        c = client(fake)
        ask(c, "hi", max_tokens=90)  # reserved 90, settled to the real (small) output count
        ask(c, "hi", max_tokens=90)
        raw = c.messages.with_raw_response.create(model=MODEL, max_tokens=10, messages=user("hi"))
        assert int(raw.headers["anthropic-ratelimit-output-tokens-remaining"]) < 100
        with pytest.raises(anthropic.RateLimitError):
            ask(c, "hi", max_tokens=100)


def test_sdk_honours_retry_after_on_sliding_window():
    with FakeAnthropic(rpm=120, window_s=1.0) as fake:
        c = client(fake, max_retries=2)
        t0 = time.monotonic()
        for i in range(3):
            ask(c, f"q{i}")
        elapsed = time.monotonic() - t0
        assert fake.replies_by_status == {200: 3, 429: 1}
        assert 0.9 <= elapsed < 5
        assert fake.duplicate_successes() == {}
        assert len(fake.successes_by_body) == 3


# --------------------------------------------------------------------------- faults


def test_scripted_faults_sync():
    script = {0: 529, 1: 500, 2: "drop", 3: 429, 4: {"status": 503, "message": "busy"}}
    with FakeAnthropic(script=script) as fake:
        c = client(fake)
        with pytest.raises(anthropic.OverloadedError) as e529:
            ask(c)
        assert e529.value.body["error"]["type"] == "overloaded_error"
        with pytest.raises(anthropic.InternalServerError) as e500:
            ask(c)
        assert e500.value.status_code == 500 and e500.value.body["error"]["type"] == "api_error"
        with pytest.raises(anthropic.APIConnectionError):
            ask(c)
        with pytest.raises(anthropic.RateLimitError) as e429:
            ask(c)
        assert e429.value.response.headers["retry-after"] == "1"
        with pytest.raises(anthropic.ServiceUnavailableError):
            ask(c)
        assert ask(c).stop_reason == "end_turn"
        assert fake.replies_by_status == {529: 1, 500: 1, 429: 1, 503: 1, 200: 1}
        assert fake.dropped == 1
        assert fake.message_request_count == 6
        assert [r.status for r in fake.requests] == [529, 500, None, 429, 503, 200]


def test_scripted_faults_async():
    async def main(fake):
        ac = aclient(fake)
        out = []
        try:
            for _ in range(4):
                try:
                    await ac.messages.create(model=MODEL, max_tokens=8, messages=user("x"))
                    out.append("ok")
                except anthropic.APIStatusError as e:
                    out.append(type(e).__name__)
                except anthropic.APIConnectionError as e:
                    out.append(type(e).__name__)
        finally:
            await ac.close()
        return out

    with FakeAnthropic(script={0: "drop", 1: 529, 2: 500}) as fake:
        out = asyncio.run(main(fake))
    assert out == ["APIConnectionError", "OverloadedError", "InternalServerError", "ok"]


def test_sdk_retries_scripted_faults_without_double_payment():
    fast_529 = {"status": 529, "headers": {"retry-after-ms": "10"}}
    with FakeAnthropic(script={0: fast_529, 1: "drop"}) as fake:
        msg = ask(client(fake, max_retries=2), "pay me once")
        assert msg.stop_reason == "end_turn"
        assert fake.replies_by_status == {529: 1, 200: 1} and fake.dropped == 1
        assert fake.successes_by_body == {FakeAnthropic.body_hash(fake.bodies[-1]): 1}
        # every attempt carried the same body
        assert len({FakeAnthropic.body_hash(b) for b in fake.bodies}) == 1
        retry_counts = [h.get("x-stainless-retry-count") for h in fake.headers]
        assert retry_counts == ["0", "1", "2"]


def _fault_run(seed: int) -> list[str]:
    out = []
    with FakeAnthropic(seed=seed, p_529=0.25, p_500=0.15, p_drop=0.1) as fake:
        c = client(fake)
        for i in range(40):
            try:
                ask(c, f"q{i}")
                out.append("ok")
            except anthropic.OverloadedError:
                out.append("529")
            except anthropic.InternalServerError:
                out.append("500")
            except anthropic.APIConnectionError:
                out.append("drop")
        stats = fake.stats()
    assert stats["replies_by_status"].get(200, 0) == out.count("ok")
    assert stats["dropped"] == out.count("drop")
    return out


def test_random_faults_are_seeded():
    a, b, other = _fault_run(7), _fault_run(7), _fault_run(8)
    assert a == b
    assert a != other
    assert {"ok", "529", "500", "drop"} <= set(a)


def test_p_slow():
    with FakeAnthropic(p_slow=1.0, slow_s=0.3) as fake:
        t0 = time.monotonic()
        ask(client(fake))
        assert time.monotonic() - t0 >= 0.3


# --------------------------------------------------------------------------- concurrency


def test_latency_is_concurrent_async():
    n, latency = 20, 0.2

    async def main(fake):
        ac = aclient(fake)
        try:
            t0 = time.monotonic()
            msgs = await asyncio.gather(
                *(ac.messages.create(model=MODEL, max_tokens=8, messages=user(f"q{i}")) for i in range(n))
            )
            return msgs, time.monotonic() - t0
        finally:
            await ac.close()

    with FakeAnthropic(latency=latency) as fake:
        msgs, elapsed = asyncio.run(main(fake))
        assert len(msgs) == n
        assert elapsed >= latency
        assert elapsed < 0.25 * n * latency  # serial would be n * latency
        assert fake.max_in_flight >= n // 2


def test_64_concurrent_connections_sync():
    n, latency = 64, 0.3
    with FakeAnthropic(latency=latency) as fake:
        c = client(fake)
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=n) as pool:
            msgs = list(pool.map(lambda i: ask(c, f"q{i}", max_tokens=8), range(n)))
        elapsed = time.monotonic() - t0
        assert len(msgs) == n and all(m.stop_reason == "end_turn" for m in msgs)
        assert elapsed < n * latency / 8
        assert fake.max_in_flight >= n // 2
        assert fake.replies_by_status == {200: n}
        assert len(fake.successes_by_body) == n and not fake.duplicate_successes()


# --------------------------------------------------------------------------- batches


def _batch_requests(n: int) -> list[dict]:
    return [
        {"custom_id": f"req-{i}", "params": {"model": MODEL, "max_tokens": 32, "messages": user(f"item {i}")}}
        for i in range(n)
    ]


def test_batches_create_poll_results_sync():
    reqs = _batch_requests(6)
    reqs[5]["params"]["temperature"] = 0.5  # invalid -> errored result
    with FakeAnthropic(batch_delay=0.3, batch_errors={"req-3"}, batch_expired={"req-4"}) as fake:
        c = client(fake)
        batch = c.messages.batches.create(requests=reqs)
        assert batch.id.startswith("msgbatch_") and batch.type == "message_batch"
        assert batch.processing_status == "in_progress" and batch.results_url is None
        assert batch.request_counts.processing == 6
        polls = 0
        while batch.processing_status != "ended":
            polls += 1
            time.sleep(0.1)
            batch = c.messages.batches.retrieve(batch.id)
        assert polls >= 2
        assert batch.ended_at is not None and batch.results_url.endswith(f"/v1/messages/batches/{batch.id}/results")
        counts = batch.request_counts
        assert (counts.processing, counts.succeeded, counts.errored, counts.expired, counts.canceled) == (0, 3, 2, 1, 0)
        results = {r.custom_id: r.result for r in c.messages.batches.results(batch.id)}
        assert set(results) == {r["custom_id"] for r in reqs}
        for i in range(3):
            res = results[f"req-{i}"]
            assert res.type == "succeeded"
            assert res.message.content[0].text == f"reply to: item {i}"
            assert res.message.usage.service_tier == "batch"
        assert results["req-3"].type == "errored" and results["req-3"].error.error.type == "api_error"
        assert results["req-4"].type == "expired"
        assert results["req-5"].type == "errored"
        assert results["req-5"].error.error.type == "invalid_request_error"
        # succeeded batch results count as paid, once each
        assert fake.successes_by_body == {FakeAnthropic.body_hash(reqs[i]["params"]): 1 for i in range(3)}
        # results can be fetched again without paying twice
        assert len(list(c.messages.batches.results(batch.id))) == 6
        assert not fake.duplicate_successes()
        listed = c.messages.batches.list(limit=10)
        assert [b.id for b in listed.data] == [batch.id]
        deleted = c.messages.batches.delete(batch.id)
        assert deleted.id == batch.id
        with pytest.raises(anthropic.NotFoundError):
            c.messages.batches.retrieve(batch.id)


def test_batches_async_cancel_and_validation():
    async def main(fake):
        ac = aclient(fake)
        try:
            with pytest.raises(anthropic.BadRequestError):
                await ac.messages.batches.create(requests=[_batch_requests(1)[0], _batch_requests(1)[0]])
            batch = await ac.messages.batches.create(requests=_batch_requests(3))
            assert batch.processing_status == "in_progress"
            canceled = await ac.messages.batches.cancel(batch.id)
            assert canceled.processing_status == "canceling" and canceled.cancel_initiated_at is not None
            batch = await ac.messages.batches.retrieve(batch.id)
            assert batch.processing_status == "ended" and batch.request_counts.canceled == 3
            results = [r async for r in await ac.messages.batches.results(batch.id)]
            assert sorted(r.custom_id for r in results) == ["req-0", "req-1", "req-2"]
            assert {r.result.type for r in results} == {"canceled"}
            # a batch that ends normally, polled asynchronously
            b2 = await ac.messages.batches.create(requests=_batch_requests(4))
            while b2.processing_status != "ended":
                await asyncio.sleep(0.05)
                b2 = await ac.messages.batches.retrieve(b2.id)
            joined = {r.custom_id: r.result.message.content[0].text async for r in await ac.messages.batches.results(b2.id)}
            return joined
        finally:
            await ac.close()

    with FakeAnthropic(batch_delay=0.15, batch_shuffle=True) as fake:
        joined = asyncio.run(main(fake))
        assert joined == {f"req-{i}": f"reply to: item {i}" for i in range(4)}
        assert sum(fake.successes_by_body.values()) == 4


# --------------------------------------------------------------------------- accounting & lifecycle


def test_counters_bodies_and_headers():
    with FakeAnthropic(script={1: 529}) as fake:
        c = client(fake)
        ask(c, "first")
        with pytest.raises(anthropic.OverloadedError):
            ask(c, "second")
        with pytest.raises(anthropic.BadRequestError):
            ask(c, "third", extra_body={"top_k": 3})
        ask(c, "first")  # same body again: paid twice
        c.messages.batches.list()
        stats = fake.stats()
        assert stats["requests"] == 5 and stats["message_requests"] == 4
        assert fake.replies_by_status == {200: 3, 529: 1, 400: 1}
        h_first = FakeAnthropic.body_hash(fake.bodies[0])
        assert fake.successes_by_body == {h_first: 2}
        assert fake.duplicate_successes() == {h_first: 2}
        assert [b["messages"][0]["content"] for b in fake.bodies] == ["first", "second", "third", "first"]
        # hash is canonical: key order does not matter
        assert FakeAnthropic.body_hash({"b": 1, "a": [1, {"y": 2, "x": 1}]}) == FakeAnthropic.body_hash(
            {"a": [1, {"x": 1, "y": 2}], "b": 1}
        )
        for rec in fake.requests:
            assert rec.headers["anthropic-version"] == ANTHROPIC_API_VERSION
            # SDK 2.12.0 sends the key as "Authorization: Bearer ..."; older ones as x-api-key.
            assert rec.api_key == KEY
            cred_header = "x-api-key" if "x-api-key" in rec.headers else "authorization"
            assert KEY not in rec.raw_body
            assert KEY not in rec.path
            assert [k for k, v in rec.headers.items() if KEY in v] == [cred_header]
        fake.reset()
        assert fake.stats()["requests"] == 0 and fake.successes_by_body == {}


def test_missing_version_header_and_unknown_route():
    with FakeAnthropic() as fake:
        c = anthropic.Anthropic(
            api_key=KEY, base_url=fake.url, max_retries=0, default_headers={"anthropic-version": anthropic.Omit()}
        )
        with pytest.raises(anthropic.BadRequestError) as ei:
            ask(c)
        assert "anthropic-version" in ei.value.body["error"]["message"]
        with pytest.raises(anthropic.NotFoundError):
            client(fake).get("/v1/nothing-here", cast_to=object)


def test_clean_shutdown():
    fake = FakeAnthropic(latency=0.0)
    with fake:
        port = fake.port
        c = client(fake)
        ask(c)  # leaves a keep-alive connection open
        thread = fake._thread
    assert thread is not None and not thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_bucket_mode_paces_like_the_real_api():
    with FakeAnthropic(rpm=600, window_s=1.0, bucket=True) as fake:   # holds 10, refills 10 a second
        c = client(fake, max_retries=0)
        for i in range(10): ask(c, f"b{i}")
        with pytest.raises(anthropic.RateLimitError) as e: ask(c, "one too many")
        assert int(e.value.response.headers["retry-after"]) >= 1
        assert e.value.response.headers["anthropic-ratelimit-requests-limit"] == "600"
        time.sleep(0.25)
        ask(c, "refilled")
        assert fake.replies_by_status == {200: 11, 429: 1}
