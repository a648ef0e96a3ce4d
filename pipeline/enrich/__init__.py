"""Enrichment stage: linked entities, discovered entities, typed dates and topic relevance.

``Enricher(load_gazetteer(path), load_topic(table, base_dir)).enrich(title, text, published_at)``
gives an :class:`Enrichment`. The token trie of entity names and topic terms is built once per
Enricher; one pass over the article's tokens finds both, so build one Enricher per cycle, not per
article.

Configuration (sources.toml)::

    [settings]
    entities_file = "my_entities.toml"   # optional: more entities, same format as the shipped
                                         # gazetteer (see pipeline.enrich.gazetteer)
    [topic]                              # omit the table to keep every article (relevance 1.0)
    name = "Foreign-adversary technology bans"
    vocabulary = "foreign-adversary-tech-bans"  # builtin (pipeline/data/topics/<name>.toml) or a
                                                # TOML path relative to sources.toml; default builtin
    threshold = 0.5                      # 0..1, optional; default from the vocabulary

Shipped data (pipeline/data/): ``gazetteer.toml`` (154 entities derived from the research
draft), ``topics/foreign-adversary-tech-bans.toml`` (relevance vocabulary), ``first_names.txt``
(given names for recognising unknown people).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from pipeline.enrich.dates import DateFinder
from pipeline.enrich.discover import Discoverer, load_first_names
from pipeline.enrich.gazetteer import Entity, Gazetteer, load_gazetteer
from pipeline.enrich.linker import Linker, entity_patterns
from pipeline.enrich.matcher import Match, TokenTrie, make_pattern
from pipeline.enrich.model import DATE_ROLES, ENTITY_TYPES, Enrichment, EntityHit, TypedDate
from pipeline.enrich.text import normalise, tokenize, tokenize_lower
from pipeline.enrich.topic import Topic, load_topic

__all__ = [
    "DATE_ROLES", "ENTITY_TYPES", "Enricher", "Enrichment", "Entity", "EntityHit", "Gazetteer", "Topic",
    "TypedDate", "load_gazetteer", "load_topic",
]

log = logging.getLogger(__name__)


class Enricher:
    def __init__(self, gazetteer: Gazetteer, topic: Topic | None) -> None:
        self.gazetteer = gazetteer
        self.topic = topic
        patterns = entity_patterns(gazetteer)
        if topic is not None:
            for group in topic.groups:
                for term in group.terms:
                    p = make_pattern(term, "term", group.name)
                    if p is not None:
                        patterns.append(p)
        self._trie = TokenTrie(patterns)
        self._linker = Linker(gazetteer)
        known = [a for e in gazetteer.entities.values() for a in (e.name, *e.aliases, *e.ambiguous, *e.unverified)]
        self._discoverer = Discoverer(load_first_names(), known)
        self._dates = DateFinder()
        self._countries = frozenset(e.key for e in gazetteer.entities.values() if e.type == "country")

    def enrich(self, title: str | None, text: str, published_at: dt.datetime | None,
               language: str | None = None) -> Enrichment:
        """Entities, dates and relevance of one article (title and text as extracted)."""
        body = normalise(text or "")
        toks = tokenize(body)
        low = tokenize_lower(body, toks)
        ent_matches, term_matches = self._trie.scan(toks, low)
        title_n = normalise(title or "")
        title_toks = tokenize(title_n) if title_n else []
        t_ent, t_terms = self._trie.scan(title_toks, tokenize_lower(title_n, title_toks)) if title_toks else ([], [])

        discovered: list[EntityHit] = []
        absorbed: frozenset[int] = frozenset()
        if language in (None, "") or language.lower().startswith("en"):
            discovered, absorbed = self._discover(body, toks, ent_matches, low)
        # the headline is part of the article: its names resolve together with the body's
        shift = len(toks)
        matches = [m for m in ent_matches if m.start not in absorbed] if absorbed else ent_matches
        matches = matches + [Match(m.pattern, m.start + shift, m.end + shift, m.nested) for m in t_ent]
        entities = self._linker.resolve(matches) + discovered

        published = published_at.date() if isinstance(published_at, dt.datetime) else published_at
        dates = self._dates.find(body, published)
        relevance, is_relevant = 1.0, True
        if self.topic is not None:
            title_entities = self._linker.resolve(t_ent) if t_ent else []
            relevance = self._relevance(entities, term_matches, title_entities, t_terms, len(toks))
            is_relevant = relevance >= self.topic.threshold
        return Enrichment(entities=entities, dates=dates, relevance=round(relevance, 4), is_relevant=is_relevant)

    def _discover(self, body: str, toks: list[str], ent_matches: list[Match],
                  low: list[str] | None = None) -> tuple[list[EntityHit], frozenset[int]]:
        covered = [False] * len(toks)
        places = set()
        countries = self._countries
        for m in ent_matches:
            if m.pattern.kind != "veto":
                for k in range(m.start, m.end):
                    covered[k] = True
                if m.end - m.start == 1 and not m.nested and m.pattern.target in countries:
                    places.add(m.start)
        discovered, absorbed = self._discoverer.find(body, toks, covered, frozenset(places), low)
        return discovered, frozenset(absorbed)

    def _relevance(self, entities: list[EntityHit], terms: list, title_entities: list[EntityHit],
                   title_terms: list, n_tokens: int) -> float:
        topic = self.topic
        assert topic is not None
        counts: Counter[str] = Counter()
        for m in terms:
            counts[m.pattern.target] += 1
        for m in title_terms:
            counts[m.pattern.target] += topic.title_weight
        for hits, factor in ((entities, 1.0), (title_entities, topic.title_weight)):
            for h in hits:
                if h.origin != "gazetteer":
                    continue
                for group, types in topic.entity_groups:
                    if h.type in types:
                        counts[group] += h.mentions * factor
                if h.type in topic.subject_types and h.country in topic.subject_countries:
                    counts["subject"] += h.mentions * factor
        return topic.score(counts, int(n_tokens * 0.85))
