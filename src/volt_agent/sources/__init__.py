"""Async clients of the external APIs: Toggl Track and Fibery.

``http`` holds what both share (auth, rate limiting, retries, error mapping, request
counters); ``toggl`` and ``fibery`` the API-specific clients, with their request builders
(``toggl_report``, ``fibery_query``) and answer parsers (``toggl_rows``, ``fibery_rows``,
``fibery_schema``); ``pagination`` the Toggl report cursor; ``recording``/``replay`` the
``--record`` transport. Errors raised here are the ``SourceError`` subtree of ``volt_agent.errors``.
"""

from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.fibery_query import build_entity_query
from volt_agent.sources.fibery_schema import FiberySchema, check_enrichment_config, parse_schema
from volt_agent.sources.http import ApiRequester, FiberyAuth, RequestStats, TogglAuth
from volt_agent.sources.pagination import PageCursor, split_range
from volt_agent.sources.toggl import TogglClient
from volt_agent.sources.toggl_rows import TimeEntryPage, TogglMe, TogglProject

__all__ = [
    "ApiRequester",
    "FiberyAuth",
    "FiberyClient",
    "FiberySchema",
    "PageCursor",
    "RequestStats",
    "TimeEntryPage",
    "TogglAuth",
    "TogglClient",
    "TogglMe",
    "TogglProject",
    "build_entity_query",
    "check_enrichment_config",
    "parse_schema",
    "split_range",
]
