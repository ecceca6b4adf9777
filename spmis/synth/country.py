"""A synthetic country, generated set-wise with NumPy and Polars (no Django here).

Everything is drawn from one seeded generator, so the same ``(persons, seed, as_of, months)``
always gives the same country. The frames carry the column names of the database tables, so
loading them is a bulk insert. Truth that the registry would not know (who is poor, formally
employed, paid after death) is kept in ``Country.truth`` for later checks and benchmarks.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from spmis.core.periods import add_months
from spmis.synth import names
from spmis.synth.boundaries import area_boundaries

COUNTRY_CODE = "XY"  # ISO 3166 user-assigned: no real country
CURRENCY = "USD"
LEVEL_NAMES = ["Country", "Region", "District", "Commune"]
PERSONS_PER_COMMUNE = 1500
UNDERCOUNT = 0.04  # residents missing from the registry but in the census denominators


@dataclass(frozen=True)
class SchemeSpec:
    code: str
    name: str
    managing_institution: str
    function: str
    guarantee: str
    contributory: bool
    means_tested: bool
    benefit_nature: str
    periodicity: str
    legal_basis: str
    monthly_amount_minor: int  # 0 for schemes that pay no cash
    description: str
    income_threshold_minor: int | None = None  # yearly, for the means test
    # Declared criteria the registry can check (administrative inclusion/exclusion errors).
    eligible_age_from: int | None = None
    eligible_age_to: int | None = None
    eligible_sex: str = ""
    eligible_disability_from: int | None = None
    social_assistance: bool = False  # a non-contributory transfer to the poor or vulnerable
    covers_employment_injury: bool = False


SCHEMES = [
    SchemeSpec("CHILD_GRANT", "Child Support Grant", "Ministry of Social Welfare", "FAMILY_CHILD",
               "CHILDREN", False, True, "CASH", "MONTHLY", "Social Assistance Act 2015, s. 12",
               1500, "Monthly cash grant for children under 18 in poor households.", 300_000,
               eligible_age_from=0, eligible_age_to=17, social_assistance=True),
    SchemeSpec("SOCIAL_PENSION", "Universal Social Pension", "Ministry of Social Welfare",
               "OLD_AGE", "OLD_AGE", False, False, "CASH", "MONTHLY",
               "Social Pension Decree 2017", 2500,
               "Monthly pension for residents aged 65 and over without a contributory pension.",
               eligible_age_from=65, social_assistance=True),
    SchemeSpec("CONTRIB_PENSION", "National Social Security Fund old-age pension",
               "National Social Security Fund", "OLD_AGE", "OLD_AGE", True, False, "CASH",
               "MONTHLY", "Social Security Law 2002, Part V", 12000,
               "Earnings-related pension for insured workers aged 60 and over."),
    SchemeSpec("DISABILITY_GRANT", "Disability Allowance", "Ministry of Social Welfare",
               "DISABILITY", "WORKING_AGE", False, False, "CASH", "MONTHLY",
               "Persons with Disabilities Act 2019, s. 30", 2000,
               "Monthly allowance for adults 18-64 with severe functional difficulty.",
               eligible_age_from=18, eligible_age_to=64, eligible_disability_from=2,
               social_assistance=True),
    SchemeSpec("PUBLIC_WORKS", "Rural Public Works Programme", "Ministry of Rural Development",
               "UNEMPLOYMENT", "WORKING_AGE", False, True, "CASH", "SEASONAL",
               "Rural Employment Guarantee Regulation 2018", 4000,
               "Paid work for one adult of poor rural households in the lean season (Jan-Apr).",
               300_000, eligible_age_from=18, eligible_age_to=64, social_assistance=True),
    SchemeSpec("MATERNITY", "Maternity Cash Benefit", "National Social Security Fund",
               "MATERNITY", "WORKING_AGE", True, False, "CASH", "MONTHLY",
               "Social Security Law 2002, Part VIII", 9000,
               "Cash benefit for insured women for six months after giving birth."),
    SchemeSpec("HEALTH_EQUITY", "Health Equity Fund", "Ministry of Health", "HEALTH", "HEALTH",
               False, True, "SERVICE", "CONTINUOUS", "Health Financing Decree 2016", 0,
               "Free essential health care for all members of poor households.", 300_000,
               social_assistance=True),
    SchemeSpec("NHI", "National Health Insurance", "National Social Security Fund", "HEALTH",
               "HEALTH", True, False, "SERVICE", "CONTINUOUS", "Health Insurance Law 2020", 0,
               "Contributory health insurance for formal workers and their households."),
]

SOURCES = [
    ("NSR", "National Social Registry survey", "Ministry of Planning", "MINISTRY"),
    ("MSW_MIS", "Social welfare case management system", "Ministry of Social Welfare",
     "SCHEME_MIS"),
    ("NSSF_MIS", "Social security fund member database", "National Social Security Fund",
     "SCHEME_MIS"),
    ("MRD_MIS", "Public works attendance database", "Ministry of Rural Development", "SCHEME_MIS"),
    ("MOH_MIS", "Health Equity Fund beneficiary list", "Ministry of Health", "SCHEME_MIS"),
]
SCHEME_SOURCE = {
    "CHILD_GRANT": "MSW_MIS", "SOCIAL_PENSION": "MSW_MIS", "DISABILITY_GRANT": "MSW_MIS",
    "CONTRIB_PENSION": "NSSF_MIS", "MATERNITY": "NSSF_MIS", "NHI": "NSSF_MIS",
    "PUBLIC_WORKS": "MRD_MIS", "HEALTH_EQUITY": "MOH_MIS",
}


@dataclass
class Country:
    as_of: dt.date
    seed: int
    area_levels: pl.DataFrame
    areas: pl.DataFrame
    sources: pl.DataFrame
    schemes: pl.DataFrame
    households: pl.DataFrame
    persons: pl.DataFrame
    enrolments: pl.DataFrame
    payments: pl.DataFrame
    population: pl.DataFrame
    # The schemes each source declares it sends (id, source_id, scheme_id).
    source_schemes: pl.DataFrame = field(default_factory=pl.DataFrame)
    # Each area's outline for maps (geography.AreaBoundary): spmis.synth.boundaries.
    boundaries: pl.DataFrame = field(default_factory=pl.DataFrame)
    truth: dict[str, pl.DataFrame] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "areas": self.areas.height,
            "households": self.households.height,
            "persons": self.persons.height,
            "schemes": self.schemes.height,
            "enrolments": self.enrolments.height,
            "payments": self.payments.height,
            "population_cells": self.population.height,
        }


def default_as_of(today: dt.date) -> dt.date:
    """The last day of the previous month: the latest complete period."""
    return today.replace(day=1) - dt.timedelta(days=1)


def generate_country(*, persons: int, seed: int, as_of: dt.date, months: int = 12) -> Country:
    if persons < 100:
        raise ValueError("A synthetic country needs at least 100 persons.")
    if not 1 <= months <= 120:
        raise ValueError("months must be between 1 and 120.")
    rng = np.random.default_rng(seed)
    areas, communes = _areas(rng, persons)
    households, hh_welfare = _households(rng, persons, communes, as_of)
    people, person_truth = _persons(rng, persons, households, hh_welfare, as_of)
    # Its own generator, so adding incomes left every other draw as it was.
    people = people.with_columns(annual_income_minor=_declared_income(
        np.random.default_rng([seed, 1]), hh_welfare, person_truth))
    schemes = _scheme_frame()
    enrolments = _enrolments(rng, people, person_truth, as_of)
    payments = _payments(rng, enrolments, people, as_of, months)
    population = _population(rng, people, communes, as_of)
    return Country(
        as_of=as_of,
        seed=seed,
        area_levels=pl.DataFrame({"level": range(len(LEVEL_NAMES)), "name": LEVEL_NAMES}),
        areas=areas,
        sources=pl.DataFrame(
            [{"id": i + 1, "code": c, "name": n, "institution": inst, "kind": k,
              "schedule": "MONTHLY", "deadline_days": 15, "contact": "",
              "policy": "QUARANTINE", "error_threshold": 10}
             for i, (c, n, inst, k) in enumerate(SOURCES)]
        ),
        schemes=schemes.drop("monthly_amount_minor"),
        households=households.drop("commune_index", "size"),
        persons=people,
        enrolments=enrolments,
        payments=payments,
        population=population,
        source_schemes=pl.DataFrame(
            [{"id": i + 1, "source_id": _source_id(spec.code), "scheme_id": i + 1}
             for i, spec in enumerate(SCHEMES)]),
        truth={"persons": person_truth, "households": hh_welfare},
        boundaries=area_boundaries(areas, seed=seed),
    )


# --- areas -----------------------------------------------------------------------------------

def _areas(rng: np.random.Generator, persons: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    target = max(4, round(persons / PERSONS_PER_COMMUNE))
    regions = min(12, max(2, round(target ** (1 / 3))))
    districts = min(40, max(2, round(math.sqrt(target / regions))))
    communes = max(1, round(target / (regions * districts)))
    place = rng.permutation(len(names.PLACE_PARTS))
    rows = [{"id": 1, "code": COUNTRY_CODE, "name": "Xylandia", "level": 0, "parent_id": None,
             "path": f"{COUNTRY_CODE}/", "is_urban": False}]
    leaves = []
    n = 0

    def add(code: str, level: int, parent: dict[str, object], urban: bool) -> dict[str, object]:
        nonlocal n
        row = {"id": len(rows) + 1, "code": code,
               "name": names.PLACE_PARTS[int(place[n % len(place)])] + (f" {n // len(place) + 1}"
                                                                       if n >= len(place) else ""),
               "level": level, "parent_id": parent["id"],
               "path": f"{parent['path']}{code}/", "is_urban": urban}
        n += 1
        rows.append(row)
        return row

    for r in range(regions):
        region = add(f"{COUNTRY_CODE}{r + 1:02d}", 1, rows[0], False)
        for d in range(districts):
            district = add(f"{region['code']}{d + 1:02d}", 2, region, False)
            for c in range(communes):
                urban = bool(rng.random() < 0.2)
                leaves.append(add(f"{district['code']}{c + 1:03d}", 3, district, urban))
    areas = pl.DataFrame(rows, schema_overrides={"parent_id": pl.Int64})
    leaf = pl.DataFrame(leaves).select(
        pl.col("id").alias("area_id"), "is_urban", "code"
    ).with_row_index("commune_index")
    # Towns are bigger than villages: a commune's share of people is lognormal, tripled if urban.
    weight = rng.lognormal(0, 0.5, leaf.height) * np.where(leaf["is_urban"].to_numpy(), 3.0, 1.0)
    return areas, leaf.with_columns(weight=pl.Series(weight / weight.sum()))


# --- households and persons ------------------------------------------------------------------

def _households(rng: np.random.Generator, persons: int, communes: pl.DataFrame,
                as_of: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    sizes = np.minimum(1 + rng.poisson(3.0, int(persons / 3.5) + 20), 12)
    while sizes.sum() < persons:  # practically never: the mean size is 4
        sizes = np.concatenate([sizes, np.minimum(1 + rng.poisson(3.0, 100), 12)])
    # Trim to exactly `persons` members: drop surplus households, shrink the last one.
    cum = np.cumsum(sizes)
    n = int(np.searchsorted(cum, persons) + 1)
    sizes = sizes[:n]
    sizes[-1] -= int(sizes.sum() - persons)
    commune = rng.choice(communes.height, size=n, p=communes["weight"].to_numpy())
    urban = communes["is_urban"].to_numpy()[commune]
    # Welfare: lognormal, higher in towns; the bottom 30% nationally are "poor".
    welfare = rng.lognormal(np.where(urban, 0.5, 0.0), 0.7)
    poor = welfare <= np.quantile(welfare, 0.30)
    ids = np.arange(1, n + 1)
    registered = np.datetime64(as_of) - rng.integers(30, 3650, n).astype("timedelta64[D]")
    households = pl.DataFrame({
        "id": ids,
        "commune_index": commune,
        "area_id": communes["area_id"].to_numpy()[commune],
        "address": [""] * n,
        "registered_on": registered,
        "source_id": 1,
        "source_ref": pl.Series(ids).cast(pl.String).str.zfill(8).str.replace(r"^", "HH"),
        "size": sizes,
    }).with_columns(pl.col("registered_on").cast(pl.Date))
    truth = pl.DataFrame({"household_id": ids, "welfare": welfare, "poor": poor, "urban": urban})
    return households, truth


_OTHER_ROLES = np.array(["CHILD", "PARENT", "GRANDCHILD", "SIBLING", "OTHER_RELATIVE",
                         "NON_RELATIVE"])
_OTHER_P = [0.80, 0.06, 0.07, 0.04, 0.02, 0.01]


def _persons(rng: np.random.Generator, persons: int, households: pl.DataFrame,
             hh_truth: pl.DataFrame, as_of: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    sizes = households["size"].to_numpy()
    hh = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    rank = np.arange(persons) - starts
    has_spouse = (rng.random(len(sizes)) < 0.72) & (sizes >= 2)
    role = np.where(rank == 0, "HEAD", rng.choice(_OTHER_ROLES, persons, p=_OTHER_P))
    role = np.where((rank == 1) & has_spouse[hh], "SPOUSE", role)

    head_age = np.minimum(18 + rng.gamma(4.0, 6.5, len(sizes)), 95)[hh]
    age = np.select(
        [role == "HEAD", role == "SPOUSE", role == "CHILD", role == "GRANDCHILD",
         role == "PARENT", role == "SIBLING"],
        [head_age,
         head_age + rng.normal(-3, 5, persons),
         rng.uniform(0, np.clip(head_age - 17, 1, 30)),
         rng.uniform(0, np.clip(head_age - 38, 1, 20)),
         np.minimum(head_age + rng.uniform(20, 35, persons), 70 + rng.exponential(8, persons)),
         head_age + rng.normal(0, 6, persons)],
        rng.uniform(0, 75, persons),
    )
    age = np.clip(age, 0, 104).astype(np.int64)
    age = np.where(role == "SPOUSE", np.maximum(age, 16), age)
    head_male = rng.random(len(sizes)) < 0.72
    male = np.select(
        [role == "HEAD", role == "SPOUSE", role == "PARENT"],
        [head_male[hh], ~head_male[hh], rng.random(persons) < 0.4],
        rng.random(persons) < 0.505,
    )
    as_of64 = np.datetime64(as_of)
    dob = as_of64 - (age * 365.25 + rng.integers(0, 365, persons)).astype("timedelta64[D]")

    # Gompertz mortality over the last year, plus infant mortality: "a few deaths".
    q = np.minimum(0.0004 * np.exp(0.085 * np.maximum(age - 30, 0)), 0.3)
    q = np.where(age == 0, 0.02, q)
    dead = rng.random(persons) < q
    days_alive = (as_of64 - dob).astype(np.int64)
    back = rng.integers(0, np.minimum(365, np.maximum(days_alive, 1)))
    dod = np.where(dead, as_of64 - back.astype("timedelta64[D]"), np.datetime64("NaT"))

    # Washington Group level: difficulty rises with age.
    p_severe = 0.012 + 0.0025 * np.maximum(age - 40, 0)
    u = rng.random(persons)
    disability = np.select([u < p_severe * 0.35, u < p_severe, u < p_severe + 0.10], [3, 2, 1], 0)

    has_id = rng.random(persons) < np.where(age >= 18, 0.92, 0.55)

    family_pool = np.array(names.FAMILY)
    hh_family = rng.integers(0, len(family_pool), len(sizes))
    own_family = (role == "SPOUSE") & (rng.random(persons) < 0.5) | np.isin(
        role, ["NON_RELATIVE", "OTHER_RELATIVE"])
    family = family_pool[np.where(own_family, rng.integers(0, len(family_pool), persons),
                                  hh_family[hh])]
    male_pool, female_pool = np.array(names.MALE_GIVEN), np.array(names.FEMALE_GIVEN)
    given = np.where(male, male_pool[rng.integers(0, len(male_pool), persons)],
                     female_pool[rng.integers(0, len(female_pool), persons)])

    hh_registered = households["registered_on"].to_numpy()[hh]
    ids = np.arange(1, persons + 1)
    people = pl.DataFrame({
        "id": ids,
        "national_id": _national_ids(np.arange(persons)).astype(str),
        "given_name": given,
        "family_name": family,
        "sex": np.where(male, "M", "F"),
        "date_of_birth": dob,
        "date_of_death": dod,
        "area_id": households["area_id"].to_numpy()[hh],
        "household_id": households["id"].to_numpy()[hh],
        "relationship_to_head": role,
        "disability_level": disability,
        "registered_on": np.maximum(hh_registered, dob),
        "source_id": 1,
        "source_ref": pl.Series(ids).cast(pl.String).str.zfill(9).str.replace(r"^", "P"),
    }).with_columns(
        pl.col("date_of_birth", "date_of_death", "registered_on").cast(pl.Date),
        national_id=pl.when(pl.Series(has_id)).then(pl.col("national_id")),
    )

    poor = hh_truth["poor"].to_numpy()[hh]
    urban = hh_truth["urban"].to_numpy()[hh]
    # Formal employment drives contributory schemes: more likely in towns and outside poverty.
    p_formal = np.where(urban, 0.35, 0.10) * np.where(poor, 0.3, 1.0)
    truth = pl.DataFrame({
        "person_id": ids, "age": age, "poor": poor, "urban": urban,
        "formal": rng.random(persons) < p_formal, "household_index": hh,
        "head_formal": np.zeros(persons, dtype=bool),
    })
    head_formal = truth.filter(pl.col("person_id").is_in(ids[rank == 0])).select(
        "household_index", pl.col("formal").alias("hf"))
    truth = truth.drop("head_formal").join(head_formal, on="household_index", how="left").rename(
        {"hf": "head_formal"}).sort("person_id")
    return people, truth


def _declared_income(rng: np.random.Generator, hh_truth: pl.DataFrame,
                     person_truth: pl.DataFrame) -> pl.Series:
    """The household's yearly income per member as the social registry records it (minor
    units): welfare scaled so the poverty cut-off falls on the means tests' 300,000, with
    reporting noise, so a few poor households declare too much and a few others too little."""
    welfare = hh_truth["welfare"].to_numpy()
    cut = np.quantile(welfare, 0.30)
    hh = person_truth["household_index"].to_numpy()
    noise = rng.lognormal(0.0, 0.15, len(welfare))
    return pl.Series((welfare * noise / cut * 300_000).round(-2).astype(np.int64)[hh])


def _national_ids(index: np.ndarray) -> np.ndarray:
    """Unique 10-digit IDs: a 9-digit body (an affine bijection of the index) + a Luhn digit."""
    body = 100_000_000 + (index.astype(np.int64) * 282_475_249 + 12_345) % 900_000_000
    digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10  # most significant first
    # Luhn: from the right of the body, double every other digit starting with the last one.
    doubled = digits[:, ::-1].copy()
    doubled[:, ::2] *= 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    check = (10 - doubled.sum(axis=1) % 10) % 10
    return np.char.add(body.astype(str), check.astype(str))


def luhn_valid(number: str) -> bool:
    """True when ``number``'s last digit is its Luhn check digit."""
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# --- schemes and enrolments ------------------------------------------------------------------

def _source_id(scheme_code: str) -> int:
    """The id of the source that runs the scheme (sources are numbered as listed)."""
    return 1 + [code for code, *_ in SOURCES].index(SCHEME_SOURCE[scheme_code])


def _scheme_frame() -> pl.DataFrame:
    rows = [{"id": i + 1, **spec.__dict__, "currency": CURRENCY} for i, spec in enumerate(SCHEMES)]
    return pl.DataFrame(rows)


def _enrolments(rng: np.random.Generator, people: pl.DataFrame, truth: pl.DataFrame,
                as_of: dt.date) -> pl.DataFrame:
    p = people.join(truth, left_on="id", right_on="person_id")
    n = p.height
    age, poor, urban = (p[c].to_numpy() for c in ("age", "poor", "urban"))
    formal, head_formal = p["formal"].to_numpy(), p["head_formal"].to_numpy()
    disability = p["disability_level"].to_numpy()
    female = p["sex"].to_numpy() == "F"
    u = rng.random((len(SCHEMES), n))
    # Retired formal workers: a share of over-60s, higher in towns.
    pensioner = (age >= 60) & (rng.random(n) < np.where(urban, 0.30, 0.08))
    hh = p["household_index"].to_numpy()
    # Public works takes one adult per poor rural household: the first 18-64 member drawn.
    adult_rural_poor = poor & ~urban & (age >= 18) & (age <= 64)
    order = np.lexsort((rng.random(n), ~adult_rural_poor, hh))
    first = np.zeros(n, dtype=bool)
    first_of_hh = np.r_[True, hh[order][1:] != hh[order][:-1]]
    first[order[first_of_hh]] = True
    rules = {
        # Means-tested: exclusion errors (take-up < 1) and some inclusion errors among non-poor.
        "CHILD_GRANT": (age < 18) & ((poor & (u[0] < 0.70)) | (~poor & (u[0] < 0.04))),
        "SOCIAL_PENSION": (age >= 65) & ~pensioner & (u[1] < 0.80),
        "CONTRIB_PENSION": pensioner,
        "DISABILITY_GRANT": (age >= 18) & (age <= 64) & (
            (disability == 3) & (u[3] < 0.65) | (disability == 2) & (u[3] < 0.25)),
        "PUBLIC_WORKS": first & adult_rural_poor & (u[4] < 0.45),
        "MATERNITY": female & formal & (age >= 18) & (age <= 45) & (u[5] < 0.035),
        "HEALTH_EQUITY": poor & (u[6] < 0.85) | ~poor & (u[6] < 0.03),
        "NHI": (formal | head_formal | pensioner) & (u[7] < 0.9),
    }
    as_of64 = np.datetime64(as_of)
    dob = p["date_of_birth"].to_numpy().astype("datetime64[D]")
    dod = p["date_of_death"].to_numpy().astype("datetime64[D]")
    frames = []
    for scheme_id, spec in enumerate(SCHEMES, start=1):
        idx = np.flatnonzero(rules[spec.code])
        k = len(idx)
        # Child grants may start at birth, maternity benefits within the last six months.
        back = {"CHILD_GRANT": 36500, "MATERNITY": 180}.get(spec.code, 3650)
        earliest = np.maximum(as_of64 - np.timedelta64(back, "D"), dob[idx])
        span = np.maximum((as_of64 - earliest).astype(np.int64), 1)
        start = earliest + (rng.random(k) * span).astype("timedelta64[D]")
        r = rng.random(k)
        died = ~np.isnat(dod[idx])
        # Most deaths close the enrolment; one in ten is missed (the case cross-checks catch).
        status = np.where(died & (r < 0.9), "EXITED",
                          np.where(r < 0.02, "SUSPENDED", np.where(r < 0.07, "EXITED", "ACTIVE")))
        status = np.where(~died & (status == "EXITED") & (r >= 0.07), "ACTIVE", status)
        exit_day = start + ((as_of64 - start).astype(np.int64) * rng.random(k)).astype(
            "timedelta64[D]")
        end = np.where(status == "EXITED", np.where(died, np.maximum(dod[idx], start), exit_day),
                       np.datetime64("NaT"))
        frames.append(pl.DataFrame({
            "person_id": p["id"].to_numpy()[idx],
            "scheme_id": scheme_id,
            "status": status,
            "start_date": start,
            "end_date": end,
            "source_id": _source_id(spec.code),
        }))
    enrolments = pl.concat(frames).with_columns(pl.col("start_date", "end_date").cast(pl.Date))
    ids = np.arange(1, enrolments.height + 1)
    return enrolments.with_columns(
        id=pl.Series(ids),
        source_ref=pl.Series(ids).cast(pl.String).str.zfill(9).str.replace(r"^", "E"),
    ).select("id", pl.exclude("id"))


def _payments(rng: np.random.Generator, enrolments: pl.DataFrame, people: pl.DataFrame,
              as_of: dt.date, months: int) -> pl.DataFrame:
    """Monthly cash payments for each month an enrolment was open, over the last ``months``."""
    last = as_of.replace(day=1)
    periods = pl.date_range(add_months(last, -(months - 1)), last, "1mo", eager=True)
    cash = pl.DataFrame({
        "scheme_id": [i + 1 for i, s in enumerate(SCHEMES) if s.benefit_nature == "CASH"],
        "base": [s.monthly_amount_minor for s in SCHEMES if s.benefit_nature == "CASH"],
        "seasonal": [s.periodicity == "SEASONAL" for s in SCHEMES if s.benefit_nature == "CASH"],
    })
    frame = (
        enrolments.filter(pl.col("status") != "SUSPENDED")
        .join(cash, on="scheme_id")
        .join(pl.DataFrame({"period": periods}), how="cross")
        .filter(
            (pl.col("start_date") <= pl.col("period").dt.month_end())
            & (pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("period")))
            & (~pl.col("seasonal") | (pl.col("period").dt.month() <= 4))
        )
    )
    n = frame.height
    # Contributory pensions vary with past earnings; a few payments fail to arrive at all.
    factor = np.where(frame["scheme_id"].to_numpy() == 3, rng.lognormal(0, 0.5, n), 1.0)
    delivered = rng.random(n) >= 0.03
    delay = rng.integers(3, 20, n)
    frame = frame.with_columns(
        amount_minor=(pl.col("base") * pl.Series(factor)).round(0).cast(pl.Int64),
        paid_on=(pl.col("period") + pl.duration(days=pl.lit(pl.Series(delay)))),
        delivered=pl.Series(delivered),
    ).filter("delivered").sort("period", "person_id", "scheme_id")
    ids = np.arange(1, frame.height + 1)
    return frame.select(
        id=pl.Series(ids),
        person_id="person_id",
        scheme_id="scheme_id",
        period="period",
        amount_minor="amount_minor",
        currency=pl.lit(CURRENCY),
        paid_on="paid_on",
        source_id="source_id",
        source_ref=pl.Series(ids).cast(pl.String).str.zfill(10).str.replace(r"^", "PAY"),
    )


# --- denominators ----------------------------------------------------------------------------

def _population(rng: np.random.Generator, people: pl.DataFrame, communes: pl.DataFrame,
                as_of: dt.date) -> pl.DataFrame:
    """Census-style population per commune x sex x single year of age (100+ open) at ``as_of``.

    It is the registry's living persons plus residents the registry missed, so every cell is at
    least the number of registered (and so of covered) persons in it.
    """
    year_ages = pl.DataFrame({"age_from": range(101)}, schema={"age_from": pl.Int64})
    grid = (
        communes.select("area_id")
        .join(pl.DataFrame({"sex": ["M", "F"]}), how="cross")
        .join(year_ages, how="cross")
    )
    alive = (
        people.filter(pl.col("date_of_death").is_null() | (pl.col("date_of_death") > as_of))
        .with_columns(age_from=pl.min_horizontal(_age_expr(as_of), pl.lit(100)))
        .group_by("area_id", "sex", "age_from")
        .len("registered")
    )
    cells = grid.join(alive, on=["area_id", "sex", "age_from"], how="left").with_columns(
        pl.col("registered").fill_null(0)
    )
    missed = rng.binomial(cells["registered"].to_numpy(), UNDERCOUNT)
    ids = np.arange(1, cells.height + 1)
    return cells.select(
        id=pl.Series(ids),
        area_id="area_id",
        year=pl.lit(as_of.year),
        sex="sex",
        age_from="age_from",
        age_to=pl.when(pl.col("age_from") < 100).then(pl.col("age_from")),
        population=pl.col("registered") + pl.Series(missed),
        source=pl.lit(f"Synthetic census projection {as_of.year}"),
    )


def _age_expr(as_of: dt.date) -> pl.Expr:
    """Completed years of age at ``as_of``."""
    dob = pl.col("date_of_birth")
    before_birthday = (dob.dt.month() > as_of.month) | (
        (dob.dt.month() == as_of.month) & (dob.dt.day() > as_of.day))
    return (pl.lit(as_of.year) - dob.dt.year() - before_birthday.cast(pl.Int64)).cast(pl.Int64)
