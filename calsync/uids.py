"""UIDs unique per install: "<key>@<namespace>.calsync".

RFC 5545 wants a UID to be globally unique. A session key ("2026-11-30/1") is the same on
every install, so two people's feeds (or two configs) subscribed in one calendar account
would collide: the account keeps one event per UID. Each install therefore makes a random
namespace on its first sync and keeps it in the state (table `install`, schema 3).

An install that wrote sessions before namespaces existed keeps their UIDs
("<key>@calsync"): a new UID would make every subscriber's calendar delete and re-create
them. The keys it held then are remembered as legacy; every later session gets the
namespace.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from calsync.ics_write import uid_for


class _Install(Protocol):
    def uid_namespace(self) -> str | None: ...
    def uid_legacy_keys(self) -> frozenset[str]: ...


class _InstallTx(_Install, Protocol):
    def set_uid_namespace(self, namespace: str, legacy: Iterable[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Uids:
    namespace: str
    legacy: frozenset[str] = field(default_factory=frozenset)

    def __call__(self, key: str, busy: bool = False) -> str:
        ns = "" if key in self.legacy else self.namespace
        return uid_for(key, busy=busy, namespace=ns)


def load(view: _Install) -> Uids | None:
    """The install's UIDs as the state holds them; None before the first sync."""
    ns = view.uid_namespace()
    return None if ns is None else Uids(ns, view.uid_legacy_keys())


def for_install(tx: _InstallTx, written_keys: set[str], *, save: bool) -> Uids:
    """The install's UIDs; on its first sync, a new namespace (stored when `save`), with
    the keys it already wrote (`written_keys`, an install from before namespaces) kept
    as legacy."""
    found = load(tx)
    if found is not None:
        return found
    made = Uids(secrets.token_hex(8), frozenset(written_keys))
    if save:
        tx.set_uid_namespace(made.namespace, sorted(made.legacy))
    return made
