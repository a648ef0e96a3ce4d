"""Enrichment stage: linked entities, discovered entities, typed dates and topic relevance.

``Enricher(load_gazetteer(path), load_topic(table, base_dir)).enrich(title, text, published_at)``
gives an :class:`Enrichment`. The token trie of entity names and topic terms is built once per
Enricher; one pass over the article's tokens finds both.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from pipeline.enrich.dates import DateFinder
from pipeline.enrich.discover import Discoverer, load_first_names
from pipeline.enrich.gazetteer import Entity, Gazetteer, load_gazetteer
from pipeline.enrich.linker import Linker, entity_patterns
from pipeline.enrich.matcher import TokenTrie, make_pattern
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

    def enrich(self, title: str | None, text: str, published_at: dt.datetime | None,
               language: str | None = None) -> Enrichment:
        """Entities, dates and relevance of one article (title and text as extracted)."""
        title_n = normalise(title or "")
        body = normalise(text or "")
        title_toks = tokenize(title_n) if title_n else []
        toks = tokenize(body)
        ent_matches, term_matches = self._trie.scan(toks, tokenize_lower(body, toks))
        entities = self._linker.resolve(ent_matches)
        covered = [False] * len(toks)
        for m in ent_matches:
            if m.pattern.kind != "veto":
                for k in range(m.start, m.end):
                    covered[k] = True
        if language in (None, "") or language.lower().startswith("en"):
            places = frozenset(m.start for m in ent_matches if m.end - m.start == 1 and not m.nested
                               and self.gazetteer.entities[m.pattern.target].type == "country")
            discovered, absorbed = self._discoverer.find(body, toks, covered, places)
            if absorbed:
                entities = self._linker.resolve([m for m in ent_matches if m.start not in absorbed])
            entities += discovered
        published = published_at.date() if isinstance(published_at, dt.datetime) else published_at
        dates = self._dates.find(body, published)
        relevance, is_relevant = 1.0, True
        if self.topic is not None:
            t_ent, t_terms = self._trie.scan(title_toks, tokenize_lower(title_n, title_toks)) if title_toks else ([], [])
            relevance = self._relevance(entities, term_matches, self._linker.resolve(t_ent), t_terms, len(toks))
            is_relevant = relevance >= self.topic.threshold
        return Enrichment(entities=entities, dates=dates, relevance=round(relevance, 4), is_relevant=is_relevant)

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
