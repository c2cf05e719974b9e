"""The Dask recipe: the same batch through dask.bag on a LocalCluster (2 worker
processes, 1 thread each) gives byte-identical outputs to the local run."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("dask.bag")
distributed = pytest.importorskip("distributed")

from ubltr.batch import BatchOptions, dask_mapper, run_batch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The golden fixtures (every profile × type) and the 20-record batch
    fixture (series numbering, derived ETTNs, one bad record)."""
    p = tmp_path_factory.mktemp("dask") / "in.jsonl"
    with open(p, "wb") as fh:
        for j in sorted(FIX.glob("*.json")):
            fh.write(json.dumps(json.loads(j.read_text(encoding="utf-8")), ensure_ascii=False).encode() + b"\n")
        fh.write((FIX / "batch" / "invoices.jsonl").read_bytes())
    return p


def _outputs(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.name != "journal.jsonl"}


def test_dask_bag_on_a_local_cluster_matches_the_local_batch_byte_for_byte(tmp_path, client, source):
    opts = BatchOptions(validate=True)
    local = run_batch(source, tmp_path / "local", opts, workers=2, chunk_size=8)
    remote = run_batch(source, tmp_path / "dask", opts, chunk_size=5, mapper=dask_mapper(client, window=3))
    assert (remote.ok, remote.failed) == (local.ok, local.failed) == (len(list(FIX.glob("*.json"))) + 19, 1)
    assert _outputs(tmp_path / "dask") == _outputs(tmp_path / "local")
    # the work really ran on the cluster's worker processes
    assert client.run(lambda: __import__("sys").modules.get("ubltr.batch") is not None)


def test_dask_zip_output_is_identical_to_the_local_zip(tmp_path, client, source):
    run_batch(source, tmp_path / "local.zip", BatchOptions(), workers=1)
    run_batch(source, tmp_path / "dask.zip", BatchOptions(), chunk_size=16, mapper=dask_mapper(client))
    assert (tmp_path / "dask.zip").read_bytes() == (tmp_path / "local.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "dask.zip") as zf:
        assert len(zf.namelist()) == len(list(FIX.glob("*.json"))) + 19
