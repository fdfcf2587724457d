"""Fails when a public method of the `upstash_vector` SDK is exercised by no Vector test.

The surface is enumerated at runtime from the installed SDK (no server needed): the public
callables of `Index`, `AsyncIndex` and of their resumable-query handles. `COVERAGE` maps each
method to the tests of test_vector_sdk.py that exercise it; every mapped test must exist, must
call the method (`.name(` in its source), and must run in both forms — through the `vclient`
fixture (parametrized over the sync `Index` and the asyncio `AsyncIndex`) or by naming both
classes itself. An SDK upgrade that adds a method makes this fail until a test covers it; a
mapping entry for a method the SDK no longer has fails too.
"""

from __future__ import annotations

import inspect

from upstash_vector import AsyncIndex, Index
from upstash_vector.core.index_operations import AsyncResumableQueryHandle, ResumableQueryHandle

import test_vector_sdk as sdk_tests
import vector_support

COVERAGE: dict[str, list[str]] = {
    "upsert": [
        "test_upsert_tuples_dicts_vectors",
        "test_upsert_sparse",
        "test_upsert_hybrid",
        "test_upsert_data_embeds",
    ],
    "query": [
        "test_query_dense_scores",
        "test_query_include_flags",
        "test_query_filter",
        "test_query_sparse_scores_and_idf",
        "test_query_hybrid_rrf",
        "test_query_hybrid_dbsf",
        "test_query_hybrid_single_component",
        "test_query_missing_namespace_is_empty",
        "test_query_data_and_query_mode",
    ],
    "query_many": ["test_query_many", "test_query_many_hybrid_fusion_and_weighting", "test_query_data_bm25_and_embed"],
    "resumable_query": [
        "test_resumable_query_fetch_next_and_stop",
        "test_resumable_query_context_manager_and_filter",
        "test_resumable_query_namespace_missing_and_present",
        "test_resumable_query_expires_after_max_idle",
        "test_resumable_query_sparse_idf_verified",
        "test_resumable_query_hybrid_dbsf_verified",
        "test_query_data_bm25_and_embed",
    ],
    "fetch": ["test_fetch_ids_missing_and_prefix", "test_upsert_tuples_dicts_vectors"],
    "range": ["test_range_paging_insertion_order_and_prefix"],
    "update": ["test_update_dense", "test_update_sparse_and_hybrid", "test_update_data_reembeds", "test_update_data_reembeds_hybrid"],
    "delete": ["test_delete_ids_prefix_filter"],
    "reset": ["test_reset_namespace_and_all"],
    "info": ["test_info_fields", "test_from_env_sync_and_async"],
    "list_namespaces": ["test_list_and_delete_namespaces", "test_reset_namespace_and_all"],
    "delete_namespace": ["test_list_and_delete_namespaces"],
    "from_env": ["test_from_env_sync_and_async"],
}

HANDLE_COVERAGE: dict[str, list[str]] = {
    "fetch_next": ["test_resumable_query_fetch_next_and_stop", "test_resumable_query_expires_after_max_idle"],
    "stop": ["test_resumable_query_fetch_next_and_stop", "test_resumable_query_expires_after_max_idle"],
}


def public_methods(cls) -> set[str]:
    return {n for n, v in inspect.getmembers(cls) if not n.startswith("_") and callable(v)}


def _test_function(name: str):
    fn = getattr(sdk_tests, name, None)
    assert fn is not None and callable(fn), f"COVERAGE names {name}, which test_vector_sdk.py does not define"
    return fn


def _runs_both_forms(fn) -> bool:
    params = inspect.signature(fn).parameters
    if "vclient" in params:
        return True
    src = inspect.getsource(fn)
    return "AsyncIndex" in src and "Index." in src


def test_enumeration_sanity():
    methods = public_methods(Index)
    assert {"upsert", "query", "query_many", "resumable_query", "fetch", "range", "update", "delete", "reset", "info"} <= methods
    assert len(methods) >= 13


def test_sync_and_async_surfaces_match():
    sync, asy = public_methods(Index), public_methods(AsyncIndex)
    assert sync == asy, f"methods only one client has: sync-only {sorted(sync - asy)}, async-only {sorted(asy - sync)}"
    for name in asy - {"from_env"}:
        assert inspect.iscoroutinefunction(getattr(AsyncIndex, name)), f"AsyncIndex.{name} is not a coroutine function"
    assert public_methods(ResumableQueryHandle) == public_methods(AsyncResumableQueryHandle) == set(HANDLE_COVERAGE)


def test_every_method_is_mapped():
    sdk = public_methods(Index)
    assert sorted(sdk - set(COVERAGE)) == [], "SDK methods without a test: add them to the tests and COVERAGE"
    assert sorted(set(COVERAGE) - sdk) == [], "COVERAGE names methods the SDK no longer has"


def test_mapped_tests_exist_call_the_method_and_run_both_forms():
    problems = []
    for mapping in (COVERAGE, HANDLE_COVERAGE):
        for method, tests in mapping.items():
            assert tests, f"{method}: no test"
            for name in tests:
                fn = _test_function(name)
                src = inspect.getsource(fn)
                if f".{method}(" not in src:
                    problems.append(f"{name} does not call .{method}(")
                if not _runs_both_forms(fn):
                    problems.append(f"{name} runs only one SDK form")
    assert problems == []


def test_vclient_is_parametrized_over_both_clients():
    assert vector_support.MODES == ("sync", "async")
    src = inspect.getsource(vector_support)
    assert "@pytest.fixture(params=MODES)\ndef vclient(" in src
    # The async facade really awaits AsyncIndex coroutines and wraps the handle, context manager included.
    assert {"fetch_next", "stop", "__enter__", "__exit__"} <= set(vars(vector_support.AsyncHandleFacade))
    facade = vector_support.AsyncFacade(lambda: AsyncIndex(url="http://127.0.0.1:1", token="x", retries=0))
    try:
        for m in public_methods(AsyncIndex) - {"from_env"}:
            assert callable(getattr(facade, m))
    finally:
        facade.close()
