"""The Fibery schema of one run: asked for once, kept in the run folder as ``fibery_schema.json``.

``extract_fibery_entities`` calls ``ensure_run_schema`` before any entity query; the
enrichment activities read the saved file with ``load_run_schema``, so a run sends at most
one schema request however many batches and retries it has. ``cleanup_fibery_stage``
removes the file, so a rerun of the Fibery stage reads the workspace's current schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from volt_agent.errors import UserInputError
from volt_agent.sources.fibery_schema import FiberySchema
from volt_agent.storage.run_folder import FIBERY_SCHEMA, RunFolder


async def ensure_run_schema(
    folder: RunFolder, fetch: Callable[[], Awaitable[FiberySchema]]
) -> FiberySchema:
    """The saved schema, or ``fetch()``'s, saved atomically first (a retry reads the file)."""
    if folder.exists(FIBERY_SCHEMA):
        return load_run_schema(folder)
    schema = await fetch()
    folder.save(FIBERY_SCHEMA, schema)
    return schema


def load_run_schema(folder: RunFolder) -> FiberySchema:
    if not folder.exists(FIBERY_SCHEMA):
        raise UserInputError(
            f"run {folder.run_id} has no {FIBERY_SCHEMA}: run the Fibery stage again"
            " (--start-from fibery)"
        )
    return folder.load(FIBERY_SCHEMA, FiberySchema)
