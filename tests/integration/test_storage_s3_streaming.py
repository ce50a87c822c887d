"""Streamed writes and reads on the bucket backend (moto in server mode, ``tests.s3_server``):
one PUT of the whole object, nothing written when the stream fails, the same values read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.s3_server import MotoServer
from volt_agent.domain.models import TogglUser
from volt_agent.pipeline.offload import load_in_pieces, save_model
from volt_agent.storage.atomic import ArtifactNotFoundError
from volt_agent.storage.backends import BucketStore
from volt_agent.storage.previous_run import run_workspace
from volt_agent.storage.run_folder import RAW_TOGGL, RunFolder

pytestmark = pytest.mark.integration

NO_RETRY = {"max_retries": 0, "retry_timeout": timedelta(seconds=5)}


def folder_in(s3: MotoServer) -> tuple[RunFolder, str]:
    bucket = s3.new_bucket()
    store = BucketStore(f"s3://{bucket}/runs", s3.env(), retry=NO_RETRY)  # type: ignore[arg-type]
    return RunFolder(store, "run-1"), bucket


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_streamed_object_is_the_whole_file(s3_server: MotoServer) -> None:
    folder, bucket = folder_in(s3_server)
    data = json.dumps({"workspace_id": 9, "rows": ["é" * 50] * 400_000}).encode()  # > spool
    where = folder.save_stream(RAW_TOGGL, chunks(data, 100_000))
    assert where == f"s3://{bucket}/runs/run-1/{RAW_TOGGL}"
    assert s3_server.object(bucket, f"runs/run-1/{RAW_TOGGL}") == data
    with folder.open_read(RAW_TOGGL) as stream:
        assert stream.read() == data
    assert run_workspace(folder) == 9


def test_a_failed_stream_leaves_the_previous_object(s3_server: MotoServer) -> None:
    folder, bucket = folder_in(s3_server)
    folder.save_text("toggl_aggregated.json", "before\n")

    def broken() -> Iterator[bytes]:
        yield b"after, but not"
        raise ValueError("the serializer broke half-way")

    with pytest.raises(ValueError, match="half-way"):
        folder.save_stream("toggl_aggregated.json", broken())
    assert s3_server.object(bucket, "runs/run-1/toggl_aggregated.json") == b"before\n"
    assert s3_server.keys(bucket) == ["runs/run-1/toggl_aggregated.json"]
    with pytest.raises(ArtifactNotFoundError, match=r"missing\.json does not exist"):
        folder.open_read("missing.json")


async def test_models_round_trip_through_the_bucket_as_whole_writes_give_them(
    s3_server: MotoServer,
) -> None:
    folder, bucket = folder_in(s3_server)
    user = TogglUser(id=1, email="ada@example.com", name="Ada Lovelace")
    await save_model(folder, "user.json", user)
    assert (
        s3_server.object(bucket, "runs/run-1/user.json")
        == (user.model_dump_json(indent=2) + "\n").encode()
    )
    assert load_in_pieces(folder, "user.json", TogglUser) == user
