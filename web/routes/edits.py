"""Suggest an edit to an entry, and its history of revisions (filled in below)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
