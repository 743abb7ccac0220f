"""`polycrm field`: custom fields, real columns added (and removed) at run time."""

from __future__ import annotations

from typing import Optional

import typer

from polycrm.cli.context import CliError, open_core

field_app = typer.Typer(no_args_is_help=True, help="Manage custom fields.")


@field_app.command("add")
def field_add(entity: str = typer.Argument(..., help="Entity type, e.g. Contact."),
              name: str = typer.Argument(..., help="Field name; stored as c<Name> like EspoCRM."),
              field_type: str = typer.Option(..., "--type", help="varchar, int, float, bool, enum, ..."),
              options: Optional[str] = typer.Option(None, "--options", help="Comma-separated enum options."),
              inflow_name: Optional[str] = typer.Option(None, "--inflow-name", help="InflowCRM API field name."),
              concord_name: Optional[str] = typer.Option(None, "--concord-name",
                                                         help="Concord CRM key, e.g. cf_loyalty.")) -> None:
    """Add a custom field (a real, indexed column)."""
    from polycrm.core.fields import custom_field_name

    params = {"options": [o.strip() for o in options.split(",") if o.strip()]} if options else {}
    api_names = {dialect: api_name for dialect, api_name in (("inflow", inflow_name), ("concord", concord_name))
                 if api_name}
    field = open_core().add_field(entity, custom_field_name(name), field_type, params, api_names)
    typer.echo(f"Added {entity}.{field.name} ({field.type})")


@field_app.command("api-name")
def field_api_name(entity: str = typer.Argument(..., help="Entity type, e.g. Account."),
                   field: str = typer.Argument(..., help="Custom field name, e.g. cLoyalty."),
                   inflow: Optional[str] = typer.Option(None, "--inflow", help="InflowCRM API field name."),
                   clear: bool = typer.Option(False, "--clear", help="Remove the InflowCRM API name.")) -> None:
    """Set, change or remove a custom field's InflowCRM API name (unique per entity)."""
    if (inflow is None) == (not clear):
        raise CliError("give exactly one of --inflow NAME and --clear")
    open_core().set_api_name(entity, field, "inflow", None if clear else inflow)
    typer.echo(f"{entity}.{field}: InflowCRM API name " + ("removed" if clear else f"set to {inflow}"))


@field_app.command("list")
def field_list(entity: Optional[str] = typer.Argument(None, help="Entity type: all its fields; without, "
                                                                  "every custom field.")) -> None:
    """List fields: entity, name, type, custom or built-in, InflowCRM API name."""
    from polycrm.cli.context import open_store

    _, database = open_store()
    if entity is not None and entity not in database.registry:
        raise CliError(f"unknown entity type '{entity}'")
    rows = ([(database.registry.entity(entity), f) for f in database.registry.entity(entity).fields.values()]
            if entity is not None else database.registry.custom_fields())
    for owner, field in rows:
        typer.echo(f"{owner.name}\t{field.name}\t{field.type}\t{'custom' if field.custom else 'built-in'}\t"
                   f"{field.api_names.get('inflow') or '-'}")


@field_app.command("remove")
def field_remove(entity: str = typer.Argument(..., help="Entity type, e.g. Account."),
                 field: str = typer.Argument(..., help="Custom field name, e.g. cLoyalty."),
                 yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")) -> None:
    """Remove a custom field: its column and values, its files and webhooks on its updates."""
    if not yes:
        typer.confirm(f"Remove {entity}.{field} and every value it holds?", abort=True)
    removed = open_core().remove_field(entity, field)
    extra = [f"{len(removed.webhook_ids)} webhook(s) on its updates" if removed.webhook_ids else "",
             f"{removed.file_count} file(s)" if removed.file_count else ""]
    typer.echo(f"Removed {entity}.{field}" + "".join(f"; removed {part}" for part in extra if part))


def register(app: typer.Typer) -> None:
    app.add_typer(field_app, name="field")
