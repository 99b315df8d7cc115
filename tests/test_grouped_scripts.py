"""Group commit (hub.storage.batch): concurrent calls of a webhook script go
to Redis as one pipeline, and each caller still gets its own answer."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ResponseError

from hub.storage.batch import GroupedScript
from hub.storage.redis import connect

pytestmark = pytest.mark.integration

# Appends its argument to a list and answers the list's length, or fails
# for the argument "boom": the order of the calls shows in the list.
SCRIPT = """
if ARGV[1] == 'boom' then return redis.error_reply('boom refused') end
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""


async def test_concurrent_calls_go_as_one_pipeline_each_with_its_own_answer(redis_url: str) -> None:
    client = await connect(redis_url)
    try:
        grouped = GroupedScript(client, client.register_script(SCRIPT), grouped=True)
        assert await grouped(keys=["first"], args=["x"]) == 1  # loads the script, as a running hub has
        await client.config_resetstat()
        reads = int((await client.info("stats"))["total_reads_processed"])
        args = [str(i) for i in range(40)]
        args[7] = "boom"
        answers = await asyncio.gather(*(grouped(keys=["calls"], args=[a]) for a in args), return_exceptions=True)
        # In one round trip: Redis read the 40 calls at once (a read or two, not forty).
        reads = int((await client.info("stats"))["total_reads_processed"]) - reads
        assert reads <= 4, reads

        # One call failed on its own, the others answered in the order they were made.
        assert isinstance(answers[7], ResponseError) and "boom refused" in str(answers[7])
        assert [a for i, a in enumerate(answers) if i != 7] == list(range(1, 40))
        assert await client.lrange("calls", 0, -1) == [a for a in args if a != "boom"]
        assert (await client.info("commandstats"))["cmdstat_evalsha"]["calls"] == 40

        # A call alone in its turn goes alone; one made later is in a later pipeline.
        assert await grouped(keys=["calls"], args=["alone"]) == 40
    finally:
        await client.aclose()


async def test_calls_after_redis_dropped_its_scripts_load_them_again(redis_url: str) -> None:
    client = await connect(redis_url)
    try:
        grouped = GroupedScript(client, client.register_script(SCRIPT), grouped=True)
        assert await grouped(keys=["calls"], args=["a"]) == 1
        await client.script_flush()  # as after a restart
        answers = await asyncio.gather(*(grouped(keys=["calls"], args=[str(i)]) for i in range(5)))
        assert answers == [2, 3, 4, 5, 6]
        assert len(grouped.pending) == 0
        assert await client.lrange("calls", 0, -1) == ["a", "0", "1", "2", "3", "4"]
    finally:
        await client.aclose()


async def test_a_caller_that_stops_waiting_leaves_the_others_answered(redis_url: str) -> None:
    """A webhook whose caller gave up (it went to the journal) is still sent:
    the script is atomic and its replay a no-op; the others get their own answers."""
    client = await connect(redis_url)
    try:
        grouped = GroupedScript(client, client.register_script(SCRIPT), grouped=True)
        waiting = [asyncio.ensure_future(grouped(keys=["calls"], args=[str(i)])) for i in range(4)]
        await asyncio.sleep(0)  # each call is queued; the pipeline goes at the end of the turn
        waiting[1].cancel()
        done = await asyncio.gather(*waiting, return_exceptions=True)
        assert isinstance(done[1], asyncio.CancelledError)
        assert [done[0], done[2], done[3]] == [1, 3, 4]
        assert await client.lrange("calls", 0, -1) == ["0", "1", "2", "3"]
    finally:
        await client.aclose()
