"""Commune offices that send their data as files: the messy half of a synthetic country.

A few communes' registrations, enrolments and payments are held back from the direct load and
written instead as the monthly files their offices would send: each office with its own format
(a Windows-1252 CSV with French headers, an XLSX workbook, an ODK Central export), column
names, code lists and date formats, a handful of bad rows, and a mapping that reads them. One
office sends its last month late and one never sends it, so reporting rates have something to
show. Pure Polars; writing files is the only side effect. :mod:`spmis.synth.services` loads them
through intake like any other submission.

The held-back persons exist only in these files, so no one is counted twice before linkage.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from spmis.core.periods import add_months, month_start
from spmis.synth.country import SCHEMES, Country

MANIFEST = "manifest.json"
DEADLINE_DAYS = 10
MONTHS_SENT = 3
BAD_ROW_EVERY = 250  # one row in this many carries an error an office would make
SEED = 7
SURVEYED_PERCENT = 25  # of the offices' people, also in the national registry


@dataclass(frozen=True)
class Office:
    """How one office writes its file."""

    key: str  # A, B or C: the format family
    extension: str
    columns: dict[str, str]  # minimum-dataset field -> the office's column name
    sex: dict[str, str]  # M/F -> the office's code
    relationship: dict[str, str]
    schemes: dict[str, str]
    date_format: str
    amount_unit: str  # major or minor


_SCHEME_CODES = [s.code for s in SCHEMES]
_RELATIONSHIPS = ["HEAD", "SPOUSE", "CHILD", "PARENT", "SIBLING", "GRANDCHILD",
                  "OTHER_RELATIVE", "NON_RELATIVE"]

OFFICES = [
    Office(
        key="A", extension="csv",
        columns={"person_ref": "Code bénéficiaire", "household_ref": "Ménage",
                 "national_id": "NIN", "given_name": "Prénom", "family_name": "Nom",
                 "sex": "Sexe", "date_of_birth": "Né(e) le", "area": "Commune",
                 "relationship_to_head": "Lien CM", "disability_level": "Handicap",
                 "date_of_death": "Décédé(e) le", "scheme": "Programme",
                 "enrolment_status": "Statut", "enrolment_start": "Inscrit le",
                 "period": "Mois", "amount": "Montant"},
        sex={"M": "H", "F": "F"},
        relationship=dict(zip(_RELATIONSHIPS, ["CM", "EP", "EN", "PA", "FS", "PE", "AP", "NP"],
                              strict=True)),
        schemes=dict(zip(_SCHEME_CODES, ["AE", "PS", "RC", "AH", "HIMO", "MAT", "FES", "AMU"],
                         strict=True)),
        date_format="%d/%m/%Y", amount_unit="major"),
    Office(
        key="B", extension="xlsx",
        columns={"person_ref": "Beneficiary ID", "household_ref": "Household no",
                 "national_id": "National ID", "given_name": "First name",
                 "family_name": "Surname", "sex": "Gender", "date_of_birth": "DOB",
                 "area": "Village code", "relationship_to_head": "Relation",
                 "disability_level": "WG level", "date_of_death": "Died",
                 "scheme": "Programme", "enrolment_status": "Status",
                 "enrolment_start": "Since", "period": "Pay month", "amount": "Paid (cents)"},
        sex={"M": "1", "F": "2"},
        relationship={r: str(i) for i, r in enumerate(_RELATIONSHIPS, start=1)},
        schemes={c: c.lower() for c in _SCHEME_CODES},
        date_format="%Y-%m-%d", amount_unit="minor"),
    Office(
        key="C", extension="csv",
        columns={"person_ref": "household/member/member_id", "household_ref": "household/hh_id",
                 "national_id": "household/member/nin",
                 "given_name": "household/member/name_first",
                 "family_name": "household/member/name_last", "sex": "household/member/sex",
                 "date_of_birth": "household/member/dob", "area": "household/commune",
                 "relationship_to_head": "household/member/relation",
                 "disability_level": "household/member/wg_level",
                 "date_of_death": "household/member/dod", "scheme": "benefit/programme",
                 "enrolment_status": "benefit/status", "enrolment_start": "benefit/start",
                 "period": "benefit/month", "amount": "benefit/amount"},
        sex={"M": "male", "F": "female"},
        relationship={r: r.lower() for r in _RELATIONSHIPS},
        schemes={c: c.lower().replace("_", "-") for c in _SCHEME_CODES},
        date_format="%Y-%m-%d", amount_unit="major"),
]


@dataclass(frozen=True)
class HeldBack:
    rows: pl.DataFrame  # one per person and enrolment, with area and office area codes
    payments: pl.DataFrame


@dataclass(frozen=True)
class OfficeFile:
    source: str
    period: dt.date
    path: Path
    received_at: dt.datetime


def hold_back(country: Country, offices: int = 3) -> tuple[Country, HeldBack]:
    """Take the people of the first ``offices`` communes out of the direct load.

    Returns the country without them, and their records for :func:`write_office_files`.
    Keeps at least two thirds of the communes in the direct load.
    """
    all_communes = country.areas.filter(pl.col("level") == 3).sort("code")
    chosen = all_communes.head(min(offices, all_communes.height // 3, len(OFFICES)))
    communes = chosen.select(area_id="id", area="code", office_area="code")
    people = country.persons.join(communes, on="area_id")
    # A share of them were also surveyed by the national registry: a second record of the
    # same person (without benefits) for linkage to find.
    surveyed = people.filter(pl.col("id").hash(SEED) % 100 < SURVEYED_PERCENT)
    kept = pl.concat([country.persons.join(communes, on="area_id", how="anti"),
                      surveyed.select(country.persons.columns)])
    gone = people["id"]
    held = people.join(country.households.select(household_id="id", hh_ref="source_ref"),
                       on="household_id", how="left")
    enrolments = country.enrolments.filter(pl.col("person_id").is_in(gone.implode()))
    payments = country.payments.filter(pl.col("person_id").is_in(gone.implode()))
    direct = replace(
        country,
        persons=kept,
        households=country.households.filter(
            pl.col("id").is_in(kept["household_id"].unique().implode())),
        enrolments=country.enrolments.filter(~pl.col("person_id").is_in(gone.implode())),
        payments=country.payments.filter(~pl.col("person_id").is_in(gone.implode())),
    )
    direct.truth["offices"] = held.select("id", "office_area",
                                          surveyed=pl.col("id").is_in(surveyed["id"].implode()))
    return direct, _with_benefits(held, enrolments, payments, country)


def _with_benefits(held: pl.DataFrame, enrolments: pl.DataFrame, payments: pl.DataFrame,
                   country: Country) -> HeldBack:
    """One row per person and enrolment (persons with none get one row without a scheme)."""
    schemes = country.schemes.select(scheme_id="id", scheme="code")
    enrolled = enrolments.join(schemes, on="scheme_id").select(
        person_id="person_id", scheme_id="scheme_id", scheme="scheme", status="status",
        start_date="start_date")
    rows = held.join(enrolled, left_on="id", right_on="person_id", how="left")
    return HeldBack(rows.with_columns(pl.col("scheme_id").cast(pl.Int64)), payments.select(
        "person_id", pl.col("scheme_id").cast(pl.Int64), "period", "amount_minor"))


def write_office_files(country: Country, held: HeldBack, directory: Path, *,
                       now: dt.datetime, everyone: Country) -> list[OfficeFile]:
    """Write each office's monthly files, its mapping, the civil registry's deaths of
    ``everyone`` and a manifest into ``directory``."""
    rows, payments = held.rows, held.payments
    directory.mkdir(parents=True, exist_ok=True)
    last = month_start(country.as_of)
    periods = [add_months(last, -k) for k in reversed(range(MONTHS_SENT))]
    areas = sorted(rows["office_area"].unique())
    files: list[OfficeFile] = []
    sources = []
    for office, area in zip(OFFICES, areas, strict=False):
        code = f"CSW_{area}"
        sources.append({"code": code, "name": f"Commune social welfare office {area}",
                        "area": area, "mapping": f"{code}.yaml", "kind": "LOCAL_GOVERNMENT",
                        "schedule": "MONTHLY"})
        (directory / f"{code}.yaml").write_text(mapping_text(office, code), encoding="utf-8")
        mine = rows.filter(pl.col("office_area") == area)
        for period in periods:
            sent = _received(office, period, last, now)
            if sent is None:
                continue  # office C never sends the last month
            frame = _month(mine, payments, period)
            path = directory / f"{code}_{period:%Y-%m}.{office.extension}"
            _write(office, frame, path)
            files.append(OfficeFile(code, period, path, sent))
    sources.append({"code": CIVIL_REGISTRY, "name": "Civil registration and vital statistics",
                    "area": None, "mapping": f"{CIVIL_REGISTRY}.yaml",
                    "kind": "AUTHORITATIVE_REGISTRY", "schedule": "ANNUAL"})
    sources.append({"code": TAX_REGISTRY, "name": "Revenue authority: declared incomes",
                    "area": None, "mapping": f"{TAX_REGISTRY}.yaml",
                    "kind": "AUTHORITATIVE_REGISTRY", "schedule": "ANNUAL"})
    registries = [write_civil_registry(everyone, directory, now=now),
                  write_tax_registry(everyone, directory, seed=country.seed, now=now)]
    manifest = {"sources": sources, "deadline_days": DEADLINE_DAYS,
                "files": [{"source": f.source, "period": f"{f.period:%Y-%m}",
                           "file": f.path.name, "received_at": f.received_at.isoformat()}
                          for f in files] + registries}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return files


CIVIL_REGISTRY = "CRVS"
CIVIL_REGISTRY_MAPPING = """version: 1
source: CRVS
record: beneficiary
fields:
  person_ref: {from: "Death registration no"}
  national_id: {from: "NIN"}
  given_name: {from: "Given name"}
  family_name: {from: "Family name"}
  sex: {from: "Sex"}
  date_of_birth: {from: "Date of birth"}
  date_of_death: {from: "Date of death"}
  area: {from: "Place of residence"}
"""


def write_civil_registry(country: Country, directory: Path, *,
                         now: dt.datetime) -> dict[str, str]:
    """The civil registry's deaths (everyone who died, whichever way they were registered),
    as the authoritative file cross-checks use. Returns its manifest entry."""
    communes = country.areas.select(area_id="id", area="code")
    deaths = country.persons.filter(pl.col("date_of_death").is_not_null()).join(
        communes, on="area_id").select(
        pl.col("source_ref").str.replace("^P", "D").alias("Death registration no"),
        pl.col("national_id").alias("NIN"), pl.col("given_name").alias("Given name"),
        pl.col("family_name").alias("Family name"), pl.col("sex").alias("Sex"),
        pl.col("date_of_birth").dt.strftime("%Y-%m-%d").alias("Date of birth"),
        pl.col("date_of_death").dt.strftime("%Y-%m-%d").alias("Date of death"),
        pl.col("area").alias("Place of residence"))
    period = month_start(country.as_of)
    name = f"{CIVIL_REGISTRY}_{period:%Y-%m}.csv"
    deaths.write_csv(directory / name)
    (directory / f"{CIVIL_REGISTRY}.yaml").write_text(CIVIL_REGISTRY_MAPPING, encoding="utf-8")
    sent = min(dt.datetime.combine(add_months(period, 1) + dt.timedelta(days=4), dt.time(9),
                                   tzinfo=now.tzinfo), now)
    return {"source": CIVIL_REGISTRY, "period": f"{period:%Y-%m}", "file": name,
            "received_at": sent.isoformat()}


TAX_REGISTRY = "TAX"
TAX_MAPPING = """version: 1
source: TAX
record: beneficiary
fields:
  person_ref: {from: "TIN"}
  national_id: {from: "NIN"}
  given_name: {from: "First name"}
  family_name: {from: "Last name"}
  sex: {from: "Sex", codes: {"MALE": "M", "FEMALE": "F"}, upper: true}
  date_of_birth: {from: "Birth date", date_format: "%d.%m.%Y"}
  area: {from: "Residence"}
  annual_income: {from: "Declared income", unit: major}
  currency: {constant: USD}
"""


def write_tax_registry(country: Country, directory: Path, *, seed: int,
                       now: dt.datetime) -> dict[str, str]:
    """Yearly declared incomes of the formally employed (the tax authority's file): most
    above the means tests' thresholds, lower for those in poor households."""
    truth = country.truth["persons"].filter("formal", pl.col("age").is_between(18, 64))
    rng = np.random.default_rng(seed)
    median = np.where(truth["poor"].to_numpy(), 1_800_00, 9_000_00)
    income = (median * rng.lognormal(0, 0.35, truth.height)).round().astype(np.int64)
    workers = country.persons.join(truth.select(id="person_id"), on="id").filter(
        pl.col("date_of_death").is_null()).join(
        country.areas.select(area_id="id", area="code"), on="area_id").join(
        pl.DataFrame({"id": truth["person_id"], "income": income}), on="id")
    out = workers.select(
        pl.col("source_ref").str.replace("^P", "T").alias("TIN"),
        pl.col("national_id").alias("NIN"), pl.col("given_name").alias("First name"),
        pl.col("family_name").alias("Last name"),
        pl.col("sex").replace_strict({"M": "MALE", "F": "FEMALE"}).alias("Sex"),
        pl.col("date_of_birth").dt.strftime("%d.%m.%Y").alias("Birth date"),
        pl.col("area").alias("Residence"),
        ((pl.col("income") // 100).cast(pl.String) + "."
         + (pl.col("income") % 100).cast(pl.String).str.zfill(2)).alias("Declared income"))
    period = month_start(country.as_of)
    name = f"{TAX_REGISTRY}_{period:%Y-%m}.csv"
    out.write_csv(directory / name, separator="|")
    (directory / f"{TAX_REGISTRY}.yaml").write_text(TAX_MAPPING, encoding="utf-8")
    sent = min(dt.datetime.combine(add_months(period, 1) + dt.timedelta(days=6), dt.time(11),
                                   tzinfo=now.tzinfo), now)
    return {"source": TAX_REGISTRY, "period": f"{period:%Y-%m}", "file": name,
            "received_at": sent.isoformat()}


def _received(office: Office, period: dt.date, last: dt.date,
              now: dt.datetime) -> dt.datetime | None:
    if period == last and office.key == "C":
        return None
    due = add_months(period, 1) + dt.timedelta(days=DEADLINE_DAYS - 1)
    days = DEADLINE_DAYS + 9 if (period == last and office.key == "B") else -6
    sent = dt.datetime.combine(due + dt.timedelta(days=days), dt.time(10), tzinfo=now.tzinfo)
    return min(sent, now)


def _month(rows: pl.DataFrame, payments: pl.DataFrame, period: dt.date) -> pl.DataFrame:
    """The office's roster as of the end of ``period``, with that month's payments."""
    end = add_months(period, 1) - dt.timedelta(days=1)
    started = pl.col("start_date") <= end
    frame = rows.filter(pl.col("date_of_birth") <= end).with_columns(
        scheme=pl.when(started).then("scheme"),
        scheme_id=pl.when(started).then("scheme_id"),
        status=pl.when(started).then("status"),
        start_date=pl.when(started).then("start_date"),
        date_of_death=pl.when(pl.col("date_of_death") <= end).then("date_of_death"),
    ).unique(["id", "scheme"], maintain_order=True)
    paid = payments.filter(pl.col("period") == period)
    return frame.join(paid, left_on=["id", "scheme_id"], right_on=["person_id", "scheme_id"],
                      how="left").with_columns(
        period=pl.when(pl.col("amount_minor").is_not_null()).then(pl.lit(period)))


def _write(office: Office, frame: pl.DataFrame, path: Path) -> None:
    c, fmt = office.columns, office.date_format
    amount = (pl.col("amount_minor").cast(pl.String) if office.amount_unit == "minor" else
              (pl.col("amount_minor") // 100).cast(pl.String) + "."
              + (pl.col("amount_minor") % 100).cast(pl.String).str.zfill(2))
    # Each office records some people a little differently from the national registry, the
    # same way every month: a dropped letter, a doubled one, day and month swapped, no ID.
    noise = pl.col("id").hash(SEED + 1) % 100
    frame = frame.with_columns(
        given_name=pl.when(noise < 8).then(pl.col("given_name").str.slice(0, 1)
                                           + pl.col("given_name").str.slice(2))
        .otherwise("given_name"),
        family_name=pl.when((noise >= 8) & (noise < 12))
        .then(pl.col("family_name") + pl.col("family_name").str.slice(-1))
        .otherwise("family_name"),
        date_of_birth=pl.when((noise >= 12) & (noise < 16) & (pl.col("date_of_birth").dt.day()
                                                              <= 12))
        .then(pl.date(pl.col("date_of_birth").dt.year(), pl.col("date_of_birth").dt.day(),
                      pl.col("date_of_birth").dt.month()))
        .otherwise("date_of_birth"),
        national_id=pl.when((noise >= 16) & (noise < 40)).then(None).otherwise("national_id"),
    )
    out = frame.with_row_index("_n").select(
        pl.col("source_ref").str.replace("^P", office.key).alias(c["person_ref"]),
        pl.col("hh_ref").str.replace("^HH", "M").alias(c["household_ref"]),
        pl.col("national_id").alias(c["national_id"]),
        pl.col("given_name").alias(c["given_name"]),
        pl.col("family_name").alias(c["family_name"]),
        # A few rows carry a code the office's own list does not have.
        pl.when(pl.col("_n") % BAD_ROW_EVERY == BAD_ROW_EVERY - 1).then(pl.lit("?"))
        .otherwise(pl.col("sex").replace_strict(office.sex)).alias(c["sex"]),
        pl.col("date_of_birth").dt.strftime(fmt).alias(c["date_of_birth"]),
        pl.col("area").alias(c["area"]),
        pl.col("relationship_to_head").replace_strict(office.relationship)
        .alias(c["relationship_to_head"]),
        pl.col("disability_level").cast(pl.String).alias(c["disability_level"]),
        pl.col("date_of_death").dt.strftime(fmt).alias(c["date_of_death"]),
        pl.col("scheme").replace_strict(office.schemes, default=None)
        .alias(c["scheme"]),
        pl.col("status").alias(c["enrolment_status"]),
        pl.col("start_date").dt.strftime(fmt).alias(c["enrolment_start"]),
        pl.col("period").dt.strftime("%Y-%m").alias(c["period"]),
        amount.alias(c["amount"]),
    )
    if office.key == "A":  # Excel on a French Windows: semicolons and Windows-1252
        text = out.write_csv(separator=";", null_value="")
        path.write_bytes(text.encode("cp1252", errors="replace"))
    elif office.key == "B":
        out.write_excel(path, worksheet="Beneficiaries", autofit=False)
    else:  # ODK Central: UTF-8 with BOM, commas, an instance id column first
        odk = out.select(pl.concat_str(pl.lit("uuid:"), pl.col(c["person_ref"]))
                         .alias("meta/instanceID"), pl.all())
        path.write_bytes(b"\xef\xbb\xbf" + odk.write_csv(null_value="").encode("utf-8"))


def mapping_text(office: Office, source: str) -> str:
    """The YAML mapping that reads ``office``'s files."""
    # ODK group prefixes (household/member/...) are dropped when the file is read.
    c = {field: column.rsplit("/", 1)[-1] for field, column in office.columns.items()}

    def codes(table: dict[str, str]) -> str:
        return _q({v: k for k, v in table.items()})

    date = _q(office.date_format)
    lines = [
        "version: 1", f"source: {source}", "record: beneficiary", "fields:",
        f"  person_ref: {{from: {_q(c['person_ref'])}}}",
        f"  household_ref: {{from: {_q(c['household_ref'])}}}",
        f"  national_id: {{from: {_q(c['national_id'])}}}",
        f"  given_name: {{from: {_q(c['given_name'])}}}",
        f"  family_name: {{from: {_q(c['family_name'])}}}",
        f"  sex: {{from: {_q(c['sex'])}, codes: {codes(office.sex)}}}",
        f"  date_of_birth: {{from: {_q(c['date_of_birth'])}, date_format: {date}}}",
        f"  area: {{from: {_q(c['area'])}}}",
        f"  relationship_to_head: {{from: {_q(c['relationship_to_head'])}, "
        f"codes: {codes(office.relationship)}}}",
        f"  disability_level: {{from: {_q(c['disability_level'])}}}",
        f"  date_of_death: {{from: {_q(c['date_of_death'])}, date_format: {date}}}",
        f"  scheme: {{from: {_q(c['scheme'])}, codes: {codes(office.schemes)}}}",
        f"  enrolment_status: {{from: {_q(c['enrolment_status'])}}}",
        f"  enrolment_start: {{from: {_q(c['enrolment_start'])}, date_format: {date}}}",
        f"  period: {{from: {_q(c['period'])}, date_format: \"%Y-%m\"}}",
        f"  amount: {{from: {_q(c['amount'])}, unit: {office.amount_unit}}}",
        "  currency: {constant: USD}",
    ]
    return "\n".join(lines) + "\n"


def _q(value: object) -> str:
    """A YAML flow value (JSON is YAML), readable for non-ASCII column names."""
    return json.dumps(value, ensure_ascii=False)
