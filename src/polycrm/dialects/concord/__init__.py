"""Concord CRM ("App CRM") REST API: `/api/{resource}` with Bearer tokens (specs/concord.md)."""
