"""UIDs unique per install: "<key>@<namespace>.calsync".

RFC 5545 wants a UID to be globally unique. A session key ("2026-11-30/1") is the same on
every install, so two people's feeds (or two configs) subscribed in one calendar account
would collide: the account keeps one event per UID. Each install therefore makes a random
namespace on its first sync and keeps it in the state (the `kv` table: no schema change).

An install that wrote sessions before namespaces existed keeps their UIDs
("<key>@calsync"): a new UID would make every subscriber's calendar delete and re-create
them. The keys it held then are remembered as legacy; every later session gets the
namespace.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Protocol

from calsync.ics_write import uid_for

NAMESPACE_KEY = "install.uid_namespace"
LEGACY_KEY = "install.uid_legacy_keys"


class _Kv(Protocol):
    def get(self, name: str) -> str | None: ...


class _KvTx(_Kv, Protocol):
    def set(self, name: str, value: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class Uids:
    namespace: str
    legacy: frozenset[str] = field(default_factory=frozenset)

    def __call__(self, key: str, busy: bool = False) -> str:
        ns = "" if key in self.legacy else self.namespace
        return uid_for(key, busy=busy, namespace=ns)


def load(view: _Kv) -> Uids | None:
    """The install's UIDs as the state holds them; None before the first sync."""
    ns = view.get(NAMESPACE_KEY)
    if ns is None:
        return None
    raw = view.get(LEGACY_KEY)
    try:
        legacy = frozenset(str(k) for k in json.loads(raw)) if raw else frozenset()
    except (ValueError, TypeError):
        legacy = frozenset()
    return Uids(ns, legacy)


def for_install(tx: _KvTx, written_keys: set[str], *, save: bool) -> Uids:
    """The install's UIDs; on its first sync, a new namespace (stored when `save`), with
    the keys it already wrote (`written_keys`, an install from before namespaces) kept
    as legacy."""
    found = load(tx)
    if found is not None:
        return found
    made = Uids(secrets.token_hex(8), frozenset(written_keys))
    if save:
        tx.set(NAMESPACE_KEY, made.namespace)
        if made.legacy:
            tx.set(LEGACY_KEY, json.dumps(sorted(made.legacy)))
    return made
