"""The offline demo: a sample news web on 127.0.0.1 and a full pipeline run against it."""

from pipeline.demo.run import EXAMPLE_QUERIES, run_demo, write_profile
from pipeline.demo.site import OUTLETS, SampleWeb, load_pages

__all__ = ["EXAMPLE_QUERIES", "OUTLETS", "SampleWeb", "load_pages", "run_demo", "write_profile"]
