"""``spmis intake source add|edit|list|show``: the data providers, managed from the server.

The commands are built by :func:`source_group` and attached to the ``intake`` group by
``spmis.cli.intake``, which passes its way of setting Django up (this module comes before the
CLI in the dependency order, so it does not import it). Django and the models are imported
inside the commands, so ``--help`` needs no database. Without ``--as`` a command acts as the
operator on the server (everywhere); with ``--as USER`` as that user, inside their areas
(MANAGE_SOURCES), like the sources page and API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from spmis.access.models import User
    from spmis.intake.models import Source
    from spmis.intake.services import SourceFields

KINDS = ["MINISTRY", "LOCAL_GOVERNMENT", "NGO", "SCHEME_MIS", "AUTHORITATIVE_REGISTRY"]
SCHEDULES = ["MONTHLY", "QUARTERLY", "ANNUAL"]
POLICIES = ["QUARANTINE", "REJECT"]


def _settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``add`` and ``edit`` share (on ``edit``, an option left out keeps the
    source's value)."""
    options = [
        click.option("--name", help="What people call it, e.g. 'District social welfare "
                     "office, Nord'."),
        click.option("--institution", help="The institution (default: the name)."),
        click.option("--kind", type=click.Choice(KINDS, case_sensitive=False),
                     help="What sort of provider it is."),
        click.option("--area", "area", help="P-code of the area it sends for (and below)."),
        click.option("--national", is_flag=True,
                     help="It sends for the whole country (no area)."),
        click.option("--scheme", "schemes", multiple=True,
                     help="A scheme it reports for (repeat; on edit, replaces the list)."),
        click.option("--no-schemes", is_flag=True, help="On edit: it reports for no scheme."),
        click.option("--schedule", type=click.Choice(SCHEDULES, case_sensitive=False),
                     help="How often a report is due (default MONTHLY)."),
        click.option("--deadline-days", type=int,
                     help="Days after the period ends a report is on time (default 15)."),
        click.option("--policy", type=click.Choice(POLICIES, case_sensitive=False),
                     help="QUARANTINE: load valid rows, keep invalid ones out (default); "
                     "REJECT: refuse the file above the error threshold."),
        click.option("--error-threshold", type=int,
                     help="REJECT refuses a file with more than this % of invalid rows "
                     "(0-100, default 10)."),
        click.option("--contact", help="Who to call about its files."),
        click.option("--as", "username", default=None,
                     help="Act as this user, inside their areas (default: the operator)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _fields(options: dict[str, Any], *, editing: bool) -> SourceFields:
    from spmis.intake.services import SourceFields

    if options["national"] and options["area"] is not None:
        raise click.UsageError("Give either --area or --national, not both.")
    if options["no_schemes"] and options["schemes"]:
        raise click.UsageError("Give either --scheme or --no-schemes, not both.")
    area: str | None = options["area"]
    if options["national"]:
        area = ""
    elif area is None and not editing:
        area = ""  # no --area when adding: a national source
    schemes: tuple[str, ...] | None = tuple(options["schemes"]) or None
    if options["no_schemes"]:
        schemes = ()
    return SourceFields(
        name=options["name"], institution=options["institution"], kind=options["kind"],
        area=area, schemes=schemes if (schemes is not None or editing) else (),
        schedule=options["schedule"], deadline_days=options["deadline_days"],
        policy=options["policy"], error_threshold=options["error_threshold"],
        contact=options["contact"])


def _user(username: str | None) -> User | None:
    if username is None:
        return None
    from spmis.access.services import user_get_by_username

    return user_get_by_username(username=username)


def _show(source: Source) -> None:
    schemes = ", ".join(sorted(s.code for s in source.schemes.all())) or "-"
    area = f"{source.area.code} ({source.area.name})" if source.area else "- (national)"
    for label, value in (
        ("code", source.code), ("name", source.name), ("institution", source.institution),
        ("kind", source.kind), ("area", area), ("schemes", schemes),
        ("schedule", source.schedule), ("deadline days", source.deadline_days),
        ("policy", source.policy), ("error threshold", f"{source.error_threshold}%"),
        ("contact", source.contact or "-"),
    ):
        click.echo(f"{label + ':':<17}{value}")


def source_group(setup: Callable[[], None]) -> click.Group:
    """The ``source`` command group; ``setup`` sets Django up before a command runs."""

    @click.group("source")
    def source() -> None:
        """Register, edit, list and show the sources (data providers)."""

    @source.command("add")
    @click.argument("code")
    @_settings_options
    def add(code: str, **options: Any) -> None:
        """Register a source CODE (e.g. DSW_NORD): --name and --kind are required; without
        --area it sends for the whole country."""
        setup()
        from spmis.intake.services import source_create

        done = source_create(actor=_user(options["username"]), code=code,
                             fields=_fields(options, editing=False))
        click.echo(f"Added source {done.code}.")
        _show(done)

    @source.command("edit")
    @click.argument("code")
    @_settings_options
    def edit(code: str, **options: Any) -> None:
        """Change a source's settings: only the options given change."""
        setup()
        from spmis.intake.services import source_update

        done = source_update(actor=_user(options["username"]), code=code,
                             fields=_fields(options, editing=True))
        click.echo(f"Saved source {done.code}.")
        _show(done)

    @source.command("list")
    @click.option("--as", "username", default=None,
                  help="Only the sources this user manages (default: every source).")
    def list_(username: str | None) -> None:
        """The sources, one a line: code, kind, area, schedule, deadline, policy, schemes,
        name."""
        setup()
        from spmis.intake.selectors import source_list, source_manage_list_for_user

        user = _user(username)
        sources = (source_list() if user is None
                   else source_manage_list_for_user(user=user)).select_related("area")
        for s in sources:
            schemes = ",".join(sorted(x.code for x in s.schemes.all())) or "-"
            policy = s.policy if s.policy == "QUARANTINE" else f"{s.policy}>{s.error_threshold}%"
            click.echo(f"{s.code}\t{s.kind}\t{s.area.code if s.area else '-'}\t{s.schedule}\t"
                       f"{s.deadline_days}d\t{policy}\t{schemes}\t{s.name}")

    @source.command("show")
    @click.argument("code")
    @click.option("--as", "username", default=None,
                  help="As this user (a source outside their areas is not found).")
    def show(code: str, username: str | None) -> None:
        """Every setting of one source."""
        setup()
        from spmis.intake.selectors import source_manage_get_for_user
        from spmis.intake.services import source_get

        user = _user(username)
        _show(source_get(code=code.strip()) if user is None
              else source_manage_get_for_user(user=user, code=code))

    return source
