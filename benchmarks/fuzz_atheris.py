"""Coverage-guided fuzzing (atheris/libFuzzer) of the hostile-input parsers: an opt-in companion to the
hypothesis tests in tests/test_fuzz.py, whose contracts (check_feed, check_sitemap, check_page,
check_text) it reuses, so the two can never disagree about what counts as a bug.

Usage: python benchmarks/fuzz_atheris.py TARGET [--seconds N] [--corpus DIR] [--keep-going]
                                         [-- LIBFUZZER_FLAGS...]
       taskset -c 1 .venv/bin/python benchmarks/fuzz_atheris.py html --seconds 480
       python benchmarks/fuzz_atheris.py feed -- /tmp/banwatch-fuzz/feed/findings/FILE  # replay inputs

TARGET: feed (parse_feed), sitemap (parse_sitemap), html (extract_article, then its text through the
enricher), enrich (title and text into Enricher.enrich).

A finding is any exception other than ParseError, a contract violation (AssertionError), or one input
taking over 2 s of CPU (SlowInput: an ITIMER_PROF timer per input, plus a check of the CPU time after it
in case the timer's exception was swallowed; CPU, not wall-clock, time so that a machine shared with
other jobs does not report stalls as findings); for html also an exception extract_article caught and logged
(it keeps the page from being read). Timings are under coverage instrumentation, several times slower
than production: re-time a slow input without the harness before calling it a bug.

libFuzzer flags always passed: -rss_limit_mb=2048 (a memory blow-up is a finding too), -max_len=20000
(unless given), -max_total_time from --seconds, -print_final_stats=1, -artifact_prefix into the work dir.
The working corpus (--corpus, default /tmp/banwatch-fuzz/TARGET/corpus) grows as coverage is found;
seeds are read from tests/fixtures/fuzz/, tests/fixtures/extract/, the demo site's pages and feeds,
benchmarks/data/*.jsonl texts and examples drawn from the hypothesis strategies of tests/test_fuzz.py.
With --keep-going a finding is saved (one file per distinct error and place) and fuzzing goes on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import signal
import sys
import time
import traceback
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

with atheris.instrument_imports(include=["pipeline"]):
    import test_fuzz as contracts

    import pipeline.config  # noqa: F401  (imported lazily by test_fuzz.enricher(); instrument it here)
    import pipeline.enrich
    import pipeline.extract
    import pipeline.fetch.feeds
    import pipeline.fetch.sitemaps  # noqa: F401

SLOW_SECONDS = 2.0
PUBLISHED = datetime(2024, 6, 20, 12, tzinfo=UTC)  # relative dates ("on Thursday") resolve against it
FEED_TYPES = (None, "application/rss+xml", "application/atom+xml", "application/feed+json", "text/xml",
              "text/html; charset=utf-16", "application/rdf+xml; charset=iso-8859-1")
LANGUAGES = (None, "en", "de", "zh", "")


class SlowInput(BaseException):
    """One input ran past SLOW_SECONDS of CPU (a BaseException, so the pipeline's `except Exception` can't eat it)."""


# ------------------------------------------------------------------ targets: bytes -> contract


def fuzz_feed(data: bytes) -> None:
    """Sniffed, then again with a declared type chosen by the last byte (the mutator can flip it)."""
    contracts.check_feed(data)
    if data:
        contracts.check_feed(data, FEED_TYPES[data[-1] % len(FEED_TYPES)])


def fuzz_sitemap(data: bytes) -> None:
    contracts.check_sitemap(data)


class SwallowedError(logging.Handler):
    """extract_article keeps its never-raises promise by logging the exception and dropping the page:
    a lost article the contract cannot see, so the logged exception is re-raised as a finding."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.exc: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and self.exc is None:
            self.exc = record.exc_info[1]

    def install(self) -> SwallowedError:
        log = logging.getLogger("pipeline.extract.core")
        log.setLevel(logging.DEBUG)  # extract_article attaches exc_info only at DEBUG
        log.propagate = False
        log.addHandler(self)
        return self


SWALLOWED = SwallowedError().install()


def fuzz_html(data: bytes) -> None:
    """Bytes (extract_article's own decoding) or, for odd lengths, already-decoded text."""
    SWALLOWED.exc = None
    contracts.check_page(data if len(data) % 2 == 0 else data.decode("utf-8", "replace"))
    if SWALLOWED.exc is not None:
        raise SWALLOWED.exc


def fuzz_enrich(data: bytes) -> None:
    """First line is the title, the rest the text; the length picks the language hint."""
    title, _, text = data.decode("utf-8", "replace").partition("\n")
    contracts.check_text(title or None, text, PUBLISHED, LANGUAGES[len(data) % len(LANGUAGES)])


TARGETS = {"feed": fuzz_feed, "sitemap": fuzz_sitemap, "html": fuzz_html, "enrich": fuzz_enrich}


# ------------------------------------------------------------------ seeds


def _hypothesis_examples(strategy, n: int) -> list[bytes]:
    warnings.filterwarnings("ignore")  # NonInteractiveExampleWarning: drawing outside a test is the point
    out = [strategy.example() for _ in range(n)]
    return [x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass") for x in out]


def _demo_seeds(kind: str) -> list[bytes]:
    from pipeline.demo import site

    pages = site.load_pages(date(2024, 6, 20))
    base = "http://demo.example"
    out: list[bytes] = []
    for outlet in site.OUTLETS:
        mine = [p for p in pages if p.outlet == outlet.key]
        if kind == "feed":
            out += [site.rss(outlet, mine, base).encode(), site.atom(outlet, mine, base).encode()]
        elif kind == "sitemap":
            out.append(site.news_sitemap(outlet, mine, base).encode())
        elif kind == "html":
            out.append(site.home(outlet, mine).encode())
            out += [site.article_html(outlet, p, base, mine).encode() for p in mine[:3]]
        else:
            out += [(p.title + "\n" + "\n\n".join(p.paragraphs)).encode() for p in mine]
    return out


def _jsonl_texts() -> list[bytes]:
    out = []
    for path in sorted((ROOT / "benchmarks" / "data").glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            out.append(f"{row.get('title') or ''}\n{row.get('text') or ''}".encode())
    return out


def seeds(target: str) -> list[bytes]:
    fuzz_dir, extract_dir = ROOT / "tests" / "fixtures" / "fuzz", ROOT / "tests" / "fixtures" / "extract"
    suffixes = {"feed": (".xml", ".json"), "sitemap": (".xml",), "html": (".html",), "enrich": (".html",)}[target]
    out = [p.read_bytes() for p in sorted(fuzz_dir.iterdir()) if p.suffix in suffixes]
    if target in ("html", "enrich"):
        out += [p.read_bytes() for p in sorted(extract_dir.glob("*.html"))]
    out += _demo_seeds(target)
    if target == "enrich":
        out += _jsonl_texts()
    strategy = {"feed": contracts.feeds(), "sitemap": contracts.sitemaps(), "html": contracts.pages(),
                "enrich": contracts._text}[target]
    out += _hypothesis_examples(strategy, 40)
    return out


def write_seeds(target: str, seed_dir: Path) -> int:
    seed_dir.mkdir(parents=True, exist_ok=True)
    blobs = seeds(target)
    for blob in blobs:
        (seed_dir / hashlib.sha1(blob).hexdigest()).write_bytes(blob)
    return len(blobs)


# ------------------------------------------------------------------ the per-input wrapper


def _on_alarm(signum, frame) -> None:
    raise SlowInput(f"input still running after {SLOW_SECONDS:.0f} s of CPU")


def _signature(exc: BaseException) -> str:
    """Exception type and the innermost pipeline frame: one saved file per distinct finding."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/pipeline/" in f.filename]
    where = f"{Path(frames[-1].filename).stem}:{frames[-1].lineno}" if frames else "harness"
    return f"{type(exc).__name__}-{where}"


def make_test_one_input(fn, findings: Path | None):
    """Wrap a target with the 2 s timer; with ``findings`` set, record instead of crashing."""
    seen: set[str] = set()

    def test_one_input(data: bytes) -> None:
        start = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, SLOW_SECONDS)
        try:
            fn(data)
            elapsed = time.process_time() - start
            if elapsed > SLOW_SECONDS:
                raise SlowInput(f"input took {elapsed:.2f} s of CPU ({len(data)} bytes)")
        except BaseException as exc:
            if findings is None or isinstance(exc, KeyboardInterrupt):
                raise
            _record(exc, data, findings, seen)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)

    return test_one_input


def _record(exc: BaseException, data: bytes, findings: Path, seen: set[str]) -> None:
    sig = _signature(exc)
    path = findings / f"{sig}-{hashlib.sha1(data).hexdigest()[:12]}"
    if sig in seen:
        return
    seen.add(sig)
    findings.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"\n=== FINDING {sig} ({len(data)} bytes) saved to {path}", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", choices=sorted(TARGETS))
    ap.add_argument("--seconds", type=int, default=480)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--keep-going", action="store_true", help="save findings and go on instead of stopping")
    args = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)

    work = Path("/tmp/banwatch-fuzz") / args.target
    corpus = args.corpus or work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    n = write_seeds(args.target, work / "seeds")
    print(f"fuzz_atheris: target={args.target} seeds={n} corpus={corpus} work={work}", file=sys.stderr)
    contracts.enricher()  # load the gazetteer before the clock starts
    signal.signal(signal.SIGPROF, _on_alarm)

    flags = ["-rss_limit_mb=2048", f"-max_total_time={args.seconds}", "-print_final_stats=1",
             f"-artifact_prefix={work}/"]
    if not any(f.startswith("-max_len=") for f in extra):
        flags.append("-max_len=20000")
    replay = [f for f in extra if not f.startswith("-")]  # files to replay: no corpus dirs then
    dirs = [] if replay else [str(corpus), str(work / "seeds")]
    fn = make_test_one_input(TARGETS[args.target], work / "findings" if args.keep_going else None)
    atheris.Setup([sys.argv[0], *flags, *extra, *dirs], fn)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
