"""Extraction stage: article text, metadata, publication date and language from one HTML page."""

from .core import extract_article, extract_metadata_only
from .model import ExtractedArticle

__all__ = ["ExtractedArticle", "extract_article", "extract_metadata_only"]
