"""Run folders in an S3-compatible bucket: moto in server mode (a separate process, on a free
loopback port; ``tests.s3_server``) spoken to over HTTP by the real backend."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.s3_server import MotoServer, free_port
from volt_agent.api.app import create_app
from volt_agent.config import ApiSettings, ApiToken, Settings
from volt_agent.domain.models import TogglUser
from volt_agent.runs import RunNotFoundError, read_report
from volt_agent.storage.atomic import (
    ArtifactNotFoundError,
    StorageError,
    StorageUnavailableError,
)
from volt_agent.storage.backends import BucketStore
from volt_agent.storage.run_folder import RunFolder, open_run_folder

pytestmark = pytest.mark.integration

NO_RETRY = {"max_retries": 0, "retry_timeout": timedelta(seconds=5)}
ADA = TogglUser(id=1, email="ada@example.com", name="Ada")


@pytest.fixture
def bucket(s3_server: MotoServer) -> str:
    return s3_server.new_bucket()


def store_of(s3: MotoServer, bucket: str, prefix: str = "team/runs") -> BucketStore:
    return BucketStore(f"s3://{bucket}/{prefix}", s3.env(), retry=NO_RETRY)  # type: ignore[arg-type]


def test_save_load_exists_names_remove(s3_server: MotoServer, bucket: str) -> None:
    folder = RunFolder(store_of(s3_server, bucket), "run-1")
    where = folder.save("raw_toggl_data.json", ADA)
    folder.save_text("reports/team_summary.md", "# Team\n")
    folder.save_text("reports/individual/ada-1.md", "# Ada\n")
    folder.save_text("enrichment/Scrum-Task-0.json", "{}")

    assert where == f"s3://{bucket}/team/runs/run-1/raw_toggl_data.json"
    assert s3_server.keys(bucket) == [
        "team/runs/run-1/enrichment/Scrum-Task-0.json",
        "team/runs/run-1/raw_toggl_data.json",
        "team/runs/run-1/reports/individual/ada-1.md",
        "team/runs/run-1/reports/team_summary.md",
    ]
    assert (
        s3_server.object(bucket, "team/runs/run-1/raw_toggl_data.json")
        == (ADA.model_dump_json(indent=2) + "\n").encode()
    )
    assert folder.load("raw_toggl_data.json", TogglUser) == ADA
    assert folder.exists("reports/team_summary.md")
    assert not folder.exists("reports")  # a folder is not a file
    assert not folder.exists("missing.json")
    assert folder.names("reports") == ["individual/ada-1.md", "team_summary.md"]
    assert folder.names("report") == []  # prefixes are whole folder names

    assert folder.remove("enrichment", "reports/team_summary.md", "nothing.json") == [
        "enrichment",
        "reports/team_summary.md",
    ]
    assert s3_server.keys(bucket) == [
        "team/runs/run-1/raw_toggl_data.json",
        "team/runs/run-1/reports/individual/ada-1.md",
    ]


def test_run_folders_are_listed_as_folders_of_the_prefix(
    s3_server: MotoServer, bucket: str
) -> None:
    store = store_of(s3_server, bucket)
    for run_id in ("b-run", "a-run"):
        RunFolder(store, run_id).save_text("run_metadata.json", "{}")
    RunFolder(store_of(s3_server, bucket, "elsewhere"), "c-run").save_text("x.json", "{}")
    assert store.folders() == ["a-run", "b-run"]


def test_load_errors_are_one_line(s3_server: MotoServer, bucket: str) -> None:
    folder = RunFolder(store_of(s3_server, bucket), "run-1")
    with pytest.raises(ArtifactNotFoundError) as missing:
        folder.load("raw_toggl_data.json", TogglUser)
    assert str(missing.value) == (
        f"s3://{bucket}/team/runs/run-1/raw_toggl_data.json does not exist"
    )
    folder.save_text("bad.json", '{"id": "x"}')
    with pytest.raises(StorageError, match=r"bad.json is not a valid TogglUser"):
        folder.load("bad.json", TogglUser)


def test_a_missing_bucket_is_not_retried(s3_server: MotoServer) -> None:
    folder = RunFolder(store_of(s3_server, "no-such-bucket-here"), "run-1")
    with pytest.raises(StorageError) as caught:
        folder.save_text("x.json", "{}")
    assert str(caught.value) == (
        "cannot write s3://no-such-bucket-here/team/runs/run-1/x.json:"
        " the bucket no-such-bucket-here does not exist"
    )
    assert "\n" not in str(caught.value)


def test_an_endpoint_that_does_not_answer_is_worth_retrying(s3_server: MotoServer) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    store = BucketStore("s3://bucket/p", s3_server.env(dead), retry=NO_RETRY)  # type: ignore[arg-type]
    with pytest.raises(StorageUnavailableError, match=r"^cannot read s3://bucket/p/run-1/x.json"):
        RunFolder(store, "run-1").exists("x.json")


class CuttingProxy:
    """A TCP proxy to the S3 server that forwards the first ``limit`` bytes of each request
    and then drops the connection: an upload that dies half-way through its body."""

    def __init__(self, upstream_port: int, limit: int) -> None:
        self.limit = limit
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarded: list[int] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        sent = 0
        with client, upstream:
            while sent < self.limit:
                data = client.recv(min(65536, self.limit - sent))
                if not data:
                    break
                upstream.sendall(data)
                sent += len(data)
            self.forwarded.append(sent)
            for sock in (client, upstream):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def cutting_proxy(s3_server: MotoServer) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(s3_server.port, limit=4096)
    yield proxy
    proxy.close()


def test_an_upload_cut_half_way_leaves_the_previous_object_whole(
    s3_server: MotoServer, bucket: str, cutting_proxy: CuttingProxy
) -> None:
    key = "team/runs/run-1/enriched_data.json"
    direct = RunFolder(store_of(s3_server, bucket), "run-1")
    direct.save_text("enriched_data.json", '{"entities": ["old"]}\n')
    cut = BucketStore(
        f"s3://{bucket}/team/runs",
        s3_server.env(f"http://127.0.0.1:{cutting_proxy.port}"),
        retry=NO_RETRY,  # type: ignore[arg-type]
    )
    big = '{"entities": [' + ",".join(['"new"'] * 50_000) + "]}\n"
    with pytest.raises((StorageError, StorageUnavailableError), match="cannot write"):
        RunFolder(cut, "run-1").save_text("enriched_data.json", big)
    with pytest.raises((StorageError, StorageUnavailableError), match="cannot write"):
        RunFolder(cut, "run-1").save_text("new_file.json", big)

    assert cutting_proxy.forwarded  # the uploads really started and were cut
    assert all(n == 4096 for n in cutting_proxy.forwarded)
    assert s3_server.object(bucket, key) == b'{"entities": ["old"]}\n'
    assert s3_server.keys(bucket) == [key]


async def test_the_api_says_503_while_the_bucket_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    token = "viewer-token-0123456789"
    settings = Settings(
        storage_url="s3://bucket/runs",
        api=ApiSettings(tokens=[ApiToken(name="v", role="viewer", token=token)]),
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        answer = await http.get("/runs", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("cannot list s3://bucket/runs: ")


@pytest.fixture
def bucket_settings(
    s3_server: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    settings = Settings(storage_url=f"s3://{bucket}/runs")
    folder = open_run_folder(settings, "run-1")
    folder.save_text("reports/team_summary.md", "# Team\n")
    folder.save_text("reports/individual/ada-1.md", "# Ada\n")
    folder.save_text("raw_toggl_data.json", "{}")
    open_run_folder(settings, "run-2").save_text("reports/other.md", "x")
    return settings


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("team_summary.md", "text/markdown; charset=utf-8"),
        ("individual/ada-1.md", "text/markdown; charset=utf-8"),
    ],
)
def test_bucket_reports_inside_are_served(
    bucket_settings: Settings, path: str, media_type: str
) -> None:
    report = read_report(bucket_settings, "run-1", path)
    assert report.content.startswith(b"# ")
    assert report.media_type == media_type


@pytest.mark.parametrize(
    "path",
    [
        "",
        "../raw_toggl_data.json",
        "../../run-2/reports/other.md",
        "individual/../../raw_toggl_data.json",
        "./team_summary.md",
        "/etc/passwd",
        "..\\raw_toggl_data.json",
        "team_summary.md\x00",
        "individual",
        "individual/",
        "x" * 5000,
        "missing.md",
    ],
)
def test_bucket_reports_outside_or_missing_are_not_found(
    bucket_settings: Settings, path: str
) -> None:
    with pytest.raises(RunNotFoundError):
        read_report(bucket_settings, "run-1", path)
