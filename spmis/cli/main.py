"""The ``spmis`` command: a thin door onto the services.

Every command sets Django up lazily (so ``--help`` never needs a database) and turns
application and configuration errors into one-line messages, never tracebacks.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from spmis.cli.params import DAY

DEMO_PERSONS = 50_000
DEMO_SEED = 42
DEMO_PASSWORD = "spmis-demo-2026"


class Door(click.Group):
    """Maps the errors every command can meet onto clean messages at one place."""

    def invoke(self, ctx: click.Context) -> Any:
        from django.core.exceptions import ImproperlyConfigured
        from django.db import DatabaseError

        from spmis.core.errors import ApplicationError

        try:
            return super().invoke(ctx)
        except ApplicationError as exc:
            raise click.ClickException(exc.message) from exc
        except ImproperlyConfigured as exc:
            raise click.ClickException(f"Configuration error: {exc}") from exc
        except DatabaseError as exc:
            raise click.ClickException(
                f"Database error: {exc}. Check SPMIS_DATABASE_URL and run `spmis migrate`."
            ) from exc


def setup_django(*, require_migrated: bool = True) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django
    from django.conf import settings

    django.setup()
    from spmis.audit.services import set_operator

    set_operator(f"cli:{_os_user()}")
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        os.makedirs(os.path.dirname(db["NAME"]) or ".", exist_ok=True)
    if require_migrated:
        pending = _pending_migrations()
        if pending:
            raise click.ClickException(
                f"The database is missing {pending} migration(s). Run `spmis migrate` first."
            )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return str(os.getuid())


def _pending_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@click.group(cls=Door, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spmis")
def cli() -> None:
    """spmis: the management information system of a social protection floor.

    The database is chosen by SPMIS_DATABASE_URL (default: sqlite:///var/spmis.db).
    """


@cli.command()
def migrate() -> None:
    """Create or upgrade the database tables."""
    setup_django(require_migrated=False)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@cli.command()
@click.option("--persons", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Number of registered persons.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed and --as-of give the same country.")
@click.option("--as-of", "as_of", type=DAY, default=None,
              help="Reference date (YYYY-MM-DD). Default: the last day of the previous month.")
@click.option("--months", type=click.IntRange(1, 120), default=12, show_default=True,
              help="Months of payment history up to --as-of.")
@click.option("--replace", is_flag=True, help="Delete the existing country first.")
@click.option("--office-files", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Hold a few districts back and write them here as the messy monthly files "
                   "(CSV, XLSX, ODK export) and mappings their offices send; take them in with "
                   "`spmis intake submit` or `spmis synth-ingest DIR`.")
def synth(persons: int, seed: int, as_of: dt.date | None, months: int, replace: bool,
          office_files: Path | None) -> None:
    """Generate a synthetic country and load it into the registry."""
    setup_django()
    counts = _synthesise(persons=persons, seed=seed, as_of=as_of, months=months, replace=replace,
                         office_files=office_files)
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
    if office_files is not None:
        click.echo(f"Office files and mappings written to {office_files}", err=True)


@cli.command("synth-ingest")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def synth_ingest(directory: Path) -> None:
    """Register the offices written by `spmis synth --office-files` and submit their files."""
    setup_django()
    _ingest_office_files(directory)


def _ingest_office_files(directory: Path, *, link: bool = False) -> None:
    """Take in the office files; with ``link``, then link records and cross-check deaths."""
    from spmis.synth.services import office_files_ingest

    for done in office_files_ingest(actor=None, directory=directory,
                                    progress=lambda name: click.echo(f"  {name}", err=True)):
        click.echo(f"{done.pk}\t{done.source.code}\t{done.period:%Y-%m}\t{done.status}\t"
                   f"rows={done.rows_total} rejected={done.rows_rejected}")
    if link:
        from spmis.linkage.crosscheck import crosscheck_internal, crosscheck_run
        from spmis.linkage.services import linkage_run
        from spmis.synth.sources import CIVIL_REGISTRY, TAX_REGISTRY

        click.echo("Linking records into persons ...", err=True)
        run = linkage_run(actor=None)
        click.echo(" ".join(f"{k}={v}" for k, v in run.counts.items()), err=True)
        for registry in (CIVIL_REGISTRY, TAX_REGISTRY):
            flags = crosscheck_run(actor=None, registry_code=registry)
            click.echo(f"{registry}: " + " ".join(f"{k}={v}" for k, v in flags.items()), err=True)
        flags = crosscheck_internal(actor=None)
        click.echo("internal: " + " ".join(f"{k}={v}" for k, v in flags.items()), err=True)
        _demo_indicators()


DEMO_TREND_MONTHS = 12


def _demo_indicators() -> None:
    """A poverty line, a national target and the indicators of the last twelve months (a
    trend to set against the target)."""
    import datetime as dt

    from spmis.core import clock
    from spmis.core.periods import add_months
    from spmis.indicators.services import (
        benchmark_set,
        indicators_run_range,
        latest_complete_period,
        target_set,
    )

    benchmark_set(actor=None, code="POVERTY_LINE", name="National poverty line (synthetic)",
                  amount_minor=2000, currency="USD", valid_from=dt.date(2020, 1, 1))
    target_set(actor=None, indicator="COV_ANY", area_code=_country_code(), year=2030,
               value=60.0, source="National social protection strategy (synthetic)")
    last = latest_complete_period(clock.today())
    runs = indicators_run_range(
        actor=None, start=add_months(last, -(DEMO_TREND_MONTHS - 1)), end=last,
        progress=lambda step: click.echo(f"  indicators {step}", err=True))
    click.echo(f"indicators: {len(runs)} runs, {runs[0].period:%Y-%m} to "
               f"{runs[-1].period:%Y-%m}" if runs else "indicators: no month with data",
               err=True)


def _demo_survey(directory: Path) -> None:
    """A synthetic household survey written to ``directory`` and its errors saved."""
    from spmis.indicators.survey import SurveyBenchmark, SurveyColumns, survey_compute
    from spmis.indicators.survey_services import survey_save
    from spmis.synth.survey import survey_synthesise, survey_write

    paths = survey_write(survey_synthesise(households=2_000, seed=DEMO_SEED,
                                           with_population=False).sample, directory)
    columns = SurveyColumns(weight="weight", welfare="welfare", benefit="benefit",
                            household="hhid", strata="stratum", psu="psu")
    result = survey_compute(paths["csv"], columns, SurveyBenchmark.parse("q1"))
    saved = survey_save(actor=None, result=result, name="Household survey (synthetic)",
                        year=2025)
    click.echo(f"survey: {paths['csv']} saved as survey {saved.pk} "
               f"(EE {result.get('EE').value:.1%}, IE {result.get('IE').value:.1%})", err=True)


def _synthesise(*, persons: int, seed: int, as_of: dt.date | None, months: int,
                replace: bool, office_files: Path | None = None) -> dict[str, int]:
    from spmis.core import clock
    from spmis.synth.country import default_as_of
    from spmis.synth.services import country_synthesise

    day = as_of or default_as_of(clock.today())
    click.echo(f"Synthesising {persons:,} persons (seed {seed}, as of {day}) ...", err=True)
    with _StepBars() as bars:
        country = country_synthesise(actor=None, persons=persons, seed=seed, as_of=day,
                                     months=months, replace=replace, progress=bars.update,
                                     office_files=office_files)
    return country.counts()


class _StepBars:
    """One progress bar per load step, on stderr."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.step = ""

    def update(self, step: str, done: int, total: int) -> None:
        if step != self.step:
            self.close()
            self.step = step
            self.bar = click.progressbar(length=max(total, 1), label=f"  {step:<12}",
                                         file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> _StepBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@cli.command()
@click.argument("username")
@click.option("--role", "roles", multiple=True, help="Role to grant (repeatable), e.g. REGISTRAR.")
@click.option("--area", "area_code", default=None,
              help="P-code of the area the roles apply to (default: the country).")
@click.option("--scheme", "schemes", multiple=True,
              help="Limit the roles to this scheme code (repeatable; default: all schemes).")
@click.option("--email", default="", help="E-mail address.")
@click.password_option(help="Password (asked for if not given).")
def createuser(username: str, roles: tuple[str, ...], area_code: str | None,
               schemes: tuple[str, ...], email: str, password: str) -> None:
    """Create a user and grant roles over an area."""
    setup_django()
    from django.db import transaction

    from spmis.access.services import role_assign, user_create

    with transaction.atomic():
        user = user_create(actor=None, username=username, password=password, email=email)
        area = area_code or _country_code()
        for role in roles:
            role_assign(actor=None, user=user, role=role.upper(), area_code=area,
                        scheme_codes=schemes)
    click.echo(f"Created {username} with roles {', '.join(roles) or '(none)'}.")


@cli.command()
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Revoke the user's tokens and issue none.")
def token(username: str, revoke: bool) -> None:
    """Issue a new REST API token for a user (the old one stops working); it expires after
    SPMIS_API_TOKEN_DAYS. The key goes to standard output, once: only its hash is kept."""
    setup_django()
    from spmis.access.services import api_token_issue, api_token_revoke, user_get_by_username

    if revoke:
        count = api_token_revoke(actor=None, user=user_get_by_username(username=username))
        click.echo(f"Revoked {count} API token(s) of {username}.")
        return
    issued = api_token_issue(actor=None, username=username)
    click.echo(issued.key)
    click.echo(f"Expires {issued.expires_at:%Y-%m-%d %H:%M %Z}; any earlier token of "
               f"{username} no longer works.", err=True)


@cli.group()
def user() -> None:
    """Manage users: disable an account, reset a second factor."""


@user.command("disable")
@click.argument("username")
@click.option("--reason", default="", help="Why (kept in the audit log).")
def user_disable_command(username: str, reason: str) -> None:
    """Disable a user at once: no login, web sessions ended, API tokens revoked."""
    setup_django()
    from spmis.access.services import user_disable, user_get_by_username

    user_disable(actor=None, user=user_get_by_username(username=username), reason=reason)
    click.echo(f"Disabled {username}: sessions ended and API tokens revoked.")


@user.command("mfa-reset")
@click.argument("username")
def user_mfa_reset_command(username: str) -> None:
    """Forget a user's authenticator app; they enrol a new one at their next login."""
    setup_django()
    from spmis.access.services import user_get_by_username, user_mfa_reset

    user_mfa_reset(actor=None, user=user_get_by_username(username=username))
    click.echo(f"Reset the second factor of {username}: they enrol again at their next login.")


def _country_code() -> str:
    from spmis.core.errors import NotFound
    from spmis.geography.models import Area

    root = Area.objects.filter(parent__isnull=True).order_by("id").first()
    if root is None:
        raise NotFound("There are no areas yet: run `spmis synth` or load areas first.")
    return root.code


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port to listen on.")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--trusted-proxy", default=None, metavar="ADDRESS",
              help="Address of the TLS-terminating proxy in front (e.g. 127.0.0.1, or * for "
                   "any): its X-Forwarded-Proto and X-Forwarded-For are believed. Without it "
                   "they are dropped, and production settings redirect every request to HTTPS.")
def serve(host: str, port: int, threads: int, trusted_proxy: str | None) -> None:
    """Serve the web app and the API (waitress)."""
    setup_django()
    _serve(host, port, threads, trusted_proxy=trusted_proxy)


def settings_value(name: str) -> Any:
    from django.conf import settings

    return getattr(settings, name)


@cli.command()
def collectstatic() -> None:
    """Collect the static files into var/static (production settings; before `spmis serve`)."""
    setup_django(require_migrated=False)
    from django.core.management import call_command

    if not settings_value("STATIC_ROOT"):
        raise click.ClickException(
            "Nothing to collect: these settings serve the static files straight from the apps. "
            "Production settings (DJANGO_SETTINGS_MODULE=config.settings.production) need it.")
    call_command("collectstatic", interactive=False, verbosity=1)


def waitress_proxy_options(trusted_proxy: str | None) -> dict[str, str]:
    """Waitress believes X-Forwarded-Proto and X-Forwarded-For from ``trusted_proxy`` alone
    (and drops them from anyone else): REMOTE_ADDR is then the client's address as the proxy
    saw it, which rate limits count and the audit log records."""
    if not trusted_proxy:
        return {}
    return {"trusted_proxy": trusted_proxy,
            "trusted_proxy_headers": "x-forwarded-proto x-forwarded-for"}


def _serve(host: str, port: int, threads: int, *, trusted_proxy: str | None = None) -> None:
    from spmis.web.staticfiles import static_files_problem

    problem = static_files_problem()
    if problem:  # fail now rather than answer 500 on every page
        raise click.ClickException(problem)
    from waitress import serve as waitress_serve

    from config.wsgi import application
    from spmis.audit.services import audit_checkpoint_every

    proxy = waitress_proxy_options(trusted_proxy)
    if not trusted_proxy and settings_value("SECURE_SSL_REDIRECT"):
        click.echo("Warning: HTTPS only, and no --trusted-proxy: every request will be "
                   "redirected to https:// (give the address of the TLS-terminating proxy).",
                   err=True)
    audit_checkpoint_every(minutes=settings_value("SPMIS_AUDIT_CHECKPOINT_MINUTES"))
    from spmis.intake.runner import runner_start

    requeued = runner_start()  # uploads load in the background (ADR 0012)
    if requeued:
        click.echo(f"Loading again the uploads a stopped server left unfinished: "
                   f"{', '.join(map(str, requeued))}", err=True)
    click.echo(f"spmis is running at http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        # Waitress reads a body whole before the app sees it: the same size limit there.
        waitress_serve(application, host=host, port=port, threads=threads, ident="spmis",
                       max_request_body_size=settings_value("SPMIS_MAX_REQUEST_BYTES"),
                       **proxy)
    except OSError as exc:
        raise click.ClickException(
            f"Cannot listen on {host}:{port} ({exc.strerror}). Try another --port."
        ) from exc


@cli.command()
@click.option("--persons", type=click.IntRange(min=100), default=DEMO_PERSONS, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Prepare everything but do not start the server.")
def demo(persons: int, host: str, port: int, no_serve: bool) -> None:
    """Migrate, synthesise a country, create one demo user per role, and serve."""
    setup_django(require_migrated=False)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from spmis.registry.models import Person

    if Person.objects.exists():
        click.echo("A country is already loaded; keeping it.", err=True)
    else:
        from django.conf import settings

        files = Path(settings.VAR_DIR) / "demo-office-files"
        counts = _synthesise(persons=persons, seed=DEMO_SEED, as_of=None, months=12,
                             replace=False, office_files=files)
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()), err=True)
        click.echo(f"Taking in the district offices' files from {files} ...", err=True)
        _ingest_office_files(files, link=True)
        _demo_survey(Path(settings.VAR_DIR) / "demo-survey")
    logins = _demo_users()
    click.echo(f"\nOpen http://{host}:{port}/ and log in as one of (password {DEMO_PASSWORD}):")
    for username, what in logins:
        click.echo(f"  {username:<20} {what}")
    if not no_serve:
        from django.conf import settings

        settings.SPMIS_REQUIRE_MFA = False  # this process only: no authenticator app needed
        click.echo("Warning: the second factor (TOTP) is OFF in this demo server; "
                   "never use the demo for real people's data.")
        _serve(host, port, 8)


def _demo_users() -> list[tuple[str, str]]:
    """One user per role over the whole country, plus one officer scoped to a district."""
    from django.db import transaction

    from spmis.access.models import Clearance, Role, User
    from spmis.access.services import role_assign, user_create

    # Health data (disability) is secret: only the roles that decide on it see it.
    secret = {Role.REGISTRAR, Role.TARGETING_OFFICER, Role.GRIEVANCE_OFFICER,
              Role.APPEAL_REVIEWER, Role.AUDITOR}
    internal = {Role.STATISTICIAN, Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN}
    from spmis.geography.models import Area

    country = _country_code()
    district = Area.objects.filter(level=2).order_by("code").first()
    wanted: list[tuple[str, str, str]] = [(r.value.lower(), r.value, country) for r in Role]
    if district:
        wanted.append(("district_officer", Role.REGISTRAR.value, district.code))
    logins = []
    with transaction.atomic():
        for username, role, area in wanted:
            if not User.objects.filter(username=username).exists():
                clearance = (Clearance.SECRET if role in secret else
                             Clearance.INTERNAL if role in internal else Clearance.CONFIDENTIAL)
                user = user_create(actor=None, username=username, password=DEMO_PASSWORD,
                                   clearance=clearance, check_password_strength=False)
                role_assign(actor=None, user=user, role=role, area_code=area)
            logins.append((username, f"{role} in {area}"))
    return logins


def _register_governance() -> None:
    from spmis.cli.geography import geography
    from spmis.cli.governance import access, audit
    from spmis.cli.indicators import indicators, registry
    from spmis.cli.intake import intake
    from spmis.cli.linkage import crosscheck, linkage
    from spmis.cli.schemes import scheme
    from spmis.cli.survey import survey

    cli.add_command(audit)
    cli.add_command(access)
    cli.add_command(intake)
    cli.add_command(linkage)
    cli.add_command(crosscheck)
    cli.add_command(indicators)
    cli.add_command(registry)
    cli.add_command(scheme)
    cli.add_command(survey)
    cli.add_command(geography)


_register_governance()


def main(argv: list[str] | None = None) -> None:
    run: Callable[..., Any] = cli
    run(args=argv, prog_name="spmis")


if __name__ == "__main__":
    main()
