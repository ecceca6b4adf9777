"""Publishing a run: CSV, JSON, SDMX-CSV 1.0 and 2.0, and the SDMX-ML 2.1 structure they
are read against (code lists for every dimension and coded attribute, the concept scheme, the
data structure definition and the dataflow), generated from the catalogue, the areas, the
schemes and the national age bands.

Units follow SDMX: ``PT`` for percentages, the ISO 4217 code of the payments' currency for
amounts (in major units, ``UNIT_MULT`` 0), ``NUMBER`` for counts that are not persons (flags),
``PS`` for counts of persons. A missing value (``OBS_STATUS`` M, ``OBS_VALUE`` NaN) says why in
``COMMENT_OBS``.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from django.db.models import Count

from spmis.core import clock
from spmis.core.parameters import parameters_in_force
from spmis.core.periods import add_months
from spmis.geography.models import Area
from spmis.indicators.catalogue import Indicator, catalogue
from spmis.indicators.disclosure import suppress
from spmis.indicators.models import IndicatorRun
from spmis.payments.models import BenefitPayment
from spmis.schemes.models import Scheme

FORMATS = ("csv", "sdmx-csv", "sdmx-csv2", "sdmx-structure", "json")
AGENCY, VERSION = "SPMIS", "1.0"
DATAFLOW_ID, DSD_ID, CONCEPTS_ID = "DF_SP_COVERAGE", "DSD_SP_COVERAGE", "CS_SP_COVERAGE"
DATAFLOW = f"{AGENCY}:{DATAFLOW_ID}({VERSION})"
VALUE_COLUMNS = ("indicator", "area_code", "area_level", "sex", "age_band", "disability",
                 "scheme", "numerator", "denominator", "value", "obs_status", "note")
TOTAL = "_T"
NOT_APPLICABLE = "_Z"
# The catalogue's units as SDMX UNIT_MEASURE codes; CURRENCY becomes the ISO 4217 code.
UNIT_CODES = {"PERCENT": "PT", "NUMBER": "NUMBER", "PERSONS": "PS"}
UNIT_NAMES = {"PT": "Percent", "NUMBER": "Number (not persons)", "PS": "Persons"}
SOC_NAMES = {
    "SOC_CONTIG_TOTAL": "Population covered by at least one social protection cash benefit",
    "SOC_CONTIG_CHILD": "Children receiving child or family cash benefits",
    "SOC_CONTIG_MAT": "Mothers with newborns receiving maternity cash benefits",
    "SOC_CONTIG_DISAB": "Persons with severe disabilities receiving disability cash benefits",
    "SOC_CONTIG_UNE": "Unemployed persons receiving unemployment cash benefits",
    "SOC_CONTIG_INJ": "Employed persons covered in the event of work injury",
    "SOC_CONTIG_PENSION": "Persons above statutory pensionable age receiving a pension",
    "SOC_CONTIG_VULN": "Vulnerable persons receiving social assistance cash benefits",
    "SOC_CONTIG_POOR": "Poor persons receiving social assistance cash benefits",
    NOT_APPLICABLE: "Not an SDG 1.3.1 series",
}
DISABILITY = {"SEVERE": "PWD", "NOT_SEVERE": "PWOD"}


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    codelist: str | None = None  # None: free text (text_type)
    text_type: str = "String"


DIMENSIONS = (
    Component("FREQ", "Frequency", "CL_FREQ"),
    Component("REF_AREA", "Reference area", "CL_AREA"),
    Component("INDICATOR", "Indicator", "CL_INDICATOR"),
    Component("SOC", "SDG 1.3.1 series (ILOSTAT classification)", "CL_SOC"),
    Component("SEX", "Sex", "CL_SEX"),
    Component("AGE", "Age band", "CL_AGE"),
    Component("DISABILITY_STATUS", "Disability status (Washington Group)", "CL_DISABILITY"),
    Component("SCHEME", "Social protection scheme", "CL_SCHEME"),
)
TIME = Component("TIME_PERIOD", "Time period", None, "ObservationalTimePeriod")
MEASURE = Component("OBS_VALUE", "Observation value", None, "Double")
ATTRIBUTES = (
    Component("UNIT_MEASURE", "Unit of measure", "CL_UNIT_MEASURE"),
    Component("UNIT_MULT", "Unit multiplier (power of ten)", "CL_UNIT_MULT"),
    Component("OBS_STATUS", "Observation status", "CL_OBS_STATUS"),
    Component("CONF_STATUS", "Confidentiality status", "CL_CONF_STATUS"),
    Component("NUMERATOR", "Numerator: the count the value is computed from", None, "Integer"),
    Component("DENOMINATOR", "Denominator: the count it is a share of", None, "Integer"),
    Component("NOTE_INDICATOR", "Note on the indicator"),
    Component("COMMENT_OBS", "Comment on the observation: why a value is missing"),
)


def run_values(run: IndicatorRun) -> pl.DataFrame:
    rows = run.values.order_by("indicator", "area_level", "area_code", "sex", "age_band",
                               "disability", "scheme").values_list(*VALUE_COLUMNS)
    return pl.DataFrame(list(rows), schema={
        "indicator": pl.String, "area_code": pl.String, "area_level": pl.Int64,
        "sex": pl.String, "age_band": pl.String, "disability": pl.String,
        "scheme": pl.String, "numerator": pl.Int64, "denominator": pl.Int64, "value": pl.Float64,
        "obs_status": pl.String, "note": pl.String}, orient="row")


def _period_end(run: IndicatorRun) -> dt.date:
    return add_months(run.period, 1) - dt.timedelta(days=1)


def run_currency(run: IndicatorRun) -> str:
    """The ISO 4217 code amounts of the run are in: kept in its lineage when it was computed
    (the payments' most used currency, as the engine scales them); for older runs, read from
    the period's payments. Empty when nothing was paid."""
    kept = run.lineage.get("currency")
    if kept is not None:
        return str(kept)
    found = (BenefitPayment.objects.filter(period=run.period).values("currency")
             .annotate(n=Count("id")).order_by("-n", "currency").first())
    return str(found["currency"]) if found else ""


def unit_measure(indicator: Indicator, currency: str) -> str:
    """The SDMX UNIT_MEASURE of an indicator's values."""
    if indicator.unit == "CURRENCY":
        return currency or NOT_APPLICABLE
    return UNIT_CODES.get(indicator.unit, indicator.unit)


SDMX_FORMATS = ("sdmx-csv", "sdmx-csv2", "sdmx-structure")


def export(run: IndicatorRun, fmt: str, min_count: int = 0) -> str:
    """A run's values; with ``min_count`` k >= 2, made safe for the public: cells counting
    1 to k - 1 persons, and those that would give them away, suppressed (CONF_STATUS).
    ``sdmx-structure`` is the SDMX-ML 2.1 structure message the SDMX files are read against."""
    return export_runs([run], fmt, min_count)


def export_runs(runs: list[IndicatorRun], fmt: str, min_count: int = 0) -> str:
    """Several runs (a trend: one a period) in one file, each period its TIME_PERIOD; SDMX
    formats only, a single run in any format."""
    if fmt not in FORMATS:
        raise ValueError(f"Format must be one of {', '.join(FORMATS)}.")
    if min_count < 0:
        raise ValueError("The minimum count cannot be negative.")
    if not runs:
        raise ValueError("No run to export.")
    if len(runs) > 1 and fmt not in SDMX_FORMATS:
        raise ValueError(f"Several periods go in one file in {', '.join(SDMX_FORMATS)} only.")
    if fmt == "sdmx-structure":
        return structure(runs)
    parents = dict(Area.objects.values_list("code", "parent__code"))
    frames = {run.pk: suppress(run_values(run), parents, min_count, {
        i.code for i in catalogue(_period_end(run)) if i.process is None}) for run in runs}
    run = runs[0]
    if fmt == "csv":
        return frames[run.pk].write_csv()
    if fmt == "json":
        return json.dumps({"run": run.pk, "period": f"{run.period:%Y-%m}",
                           "lineage": run.lineage, "minimum_count": min_count,
                           "currency": run_currency(run),
                           "values": frames[run.pk].to_dicts()}, indent=1)
    table = pl.concat([sdmx_table(r, frames[r.pk]) for r in runs])
    if fmt == "sdmx-csv":
        return table.select(pl.lit(DATAFLOW).alias("DATAFLOW"), pl.all()).write_csv()
    return table.select(pl.lit("dataflow").alias("STRUCTURE"),
                        pl.lit(DATAFLOW).alias("STRUCTURE_ID"),
                        pl.lit("I").alias("ACTION"), pl.all()).write_csv()


def sdmx_table(run: IndicatorRun, frame: pl.DataFrame) -> pl.DataFrame:
    """The SDMX columns, in the structure's order: dimensions, time, measure, attributes."""
    indicators = catalogue(_period_end(run))
    currency = run_currency(run)
    soc = {i.code: i.sdmx.get("SOC", NOT_APPLICABLE) for i in indicators}
    units = {i.code: unit_measure(i, currency) for i in indicators}
    notes = {i.code: i.missing_denominator or "" for i in indicators}
    missing = pl.col("value").is_null()
    return frame.select(
        FREQ=pl.lit("M"),
        REF_AREA="area_code",
        INDICATOR="indicator",
        SOC=pl.col("indicator").replace_strict(soc, default=NOT_APPLICABLE),
        SEX="sex",
        AGE=pl.col("age_band").replace(
            {b.label: b.sdmx for b in parameters_in_force(_period_end(run)).age_bands}),
        DISABILITY_STATUS=pl.col("disability").replace(DISABILITY),
        SCHEME="scheme",
        TIME_PERIOD=pl.lit(f"{run.period:%Y-%m}"),
        OBS_VALUE=pl.col("value").cast(pl.String).fill_null("NaN"),
        UNIT_MEASURE=pl.col("indicator").replace_strict(units, default=NOT_APPLICABLE),
        UNIT_MULT=pl.lit("0"),
        # A suppressed cell is not missing: it is there, and withheld (CONF_STATUS).
        OBS_STATUS="obs_status",
        CONF_STATUS="conf_status",
        NUMERATOR="numerator",
        DENOMINATOR="denominator",
        NOTE_INDICATOR=pl.col("indicator").replace_strict(notes, default=""),
        COMMENT_OBS=pl.when(missing & (pl.col("obs_status") == "M"))
        .then(pl.col("note").fill_null("")).otherwise(pl.lit("")),
    )


# -- The structure message (SDMX-ML 2.1) ---------------------------------------------------

NS = {
    "mes": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
    "str": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure",
    "com": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


def _named(parent: ET.Element, tag: str, name: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), attrs)
    ET.SubElement(element, _q("com:Name"), {XML_LANG: "en"}).text = name
    return element


def _ref(parent: ET.Element, tag: str, **attrs: str) -> None:
    holder = ET.SubElement(parent, _q(tag))
    ET.SubElement(holder, "Ref", {"agencyID": AGENCY, **attrs})


def codelists(runs: Iterable[IndicatorRun]) -> dict[str, tuple[str, dict[str, str]]]:
    """Every code list of the structure: id -> (name, {code: name}), covering every code the
    given runs use (their periods' catalogue, age bands and currency), every area and scheme."""
    runs = list(runs)
    indicators: dict[str, str] = {}
    ages = {TOTAL: "All ages"}
    units = dict(UNIT_NAMES)
    soc = dict(SOC_NAMES)
    for run in runs:
        end = _period_end(run)
        indicators.update({i.code: i.name for i in catalogue(end)})
        soc.update({i.sdmx["SOC"]: i.name for i in catalogue(end)
                    if i.sdmx.get("SOC") and i.sdmx["SOC"] not in soc})
        ages.update({b.sdmx: f"{b.label} years" for b in parameters_in_force(end).age_bands})
        currency = run_currency(run)
        if currency:
            units[currency] = f"{currency} (ISO 4217), major units"
    if not runs:
        indicators.update({i.code: i.name for i in catalogue()})
    units[NOT_APPLICABLE] = "Not applicable (no currency known)"
    areas = dict(Area.objects.order_by("level", "code").values_list("code", "name"))
    schemes = {TOTAL: "Any scheme (each person counted once)",
               **dict(Scheme.objects.order_by("code").values_list("code", "name"))}
    return {
        "CL_FREQ": ("Frequency", {"M": "Monthly"}),
        "CL_AREA": ("Areas (national P-codes)", areas),
        "CL_INDICATOR": ("Social protection indicators", indicators),
        "CL_SOC": ("SDG 1.3.1 series (ILOSTAT SOC classification)", soc),
        "CL_SEX": ("Sex", {TOTAL: "Total", "M": "Male", "F": "Female"}),
        "CL_AGE": ("Age bands", ages),
        "CL_DISABILITY": ("Disability status", {
            TOTAL: "Total", "PWD": "Persons with severe disability",
            "PWOD": "Persons without severe disability"}),
        "CL_SCHEME": ("Social protection schemes", schemes),
        "CL_UNIT_MEASURE": ("Units of measure", units),
        "CL_UNIT_MULT": ("Unit multiplier", {"0": "Units", "3": "Thousands",
                                             "6": "Millions"}),
        "CL_OBS_STATUS": ("Observation status", {"A": "Normal value", "M": "Missing value"}),
        "CL_CONF_STATUS": ("Confidentiality status", {
            "F": "Free", "C": "Confidential (primary suppression)",
            "D": "Secondary confidentiality (suppressed to protect another cell)"}),
    }


def structure(runs: Iterable[IndicatorRun]) -> str:
    """The SDMX-ML 2.1 structure message for the dataflow ``SPMIS:DF_SP_COVERAGE(1.0)``."""
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    lists = codelists(runs)
    root = ET.Element(_q("mes:Structure"))
    header = ET.SubElement(root, _q("mes:Header"))
    ET.SubElement(header, _q("mes:ID")).text = "SPMIS_STRUCTURE"
    ET.SubElement(header, _q("mes:Test")).text = "false"
    ET.SubElement(header, _q("mes:Prepared")).text = clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    ET.SubElement(header, _q("mes:Sender"), {"id": AGENCY})
    structures = ET.SubElement(root, _q("mes:Structures"))
    maintained = {"agencyID": AGENCY, "version": VERSION}

    flows = ET.SubElement(structures, _q("str:Dataflows"))
    flow = _named(flows, "str:Dataflow", "Social protection coverage and adequacy",
                  id=DATAFLOW_ID, **maintained)
    _ref(flow, "str:Structure", id=DSD_ID, version=VERSION, package="datastructure",
         **{"class": "DataStructure"})

    holder = ET.SubElement(structures, _q("str:Codelists"))
    for list_id, (name, codes) in lists.items():
        codelist = _named(holder, "str:Codelist", name, id=list_id, **maintained)
        for code, label in codes.items():
            _named(codelist, "str:Code", label or code, id=code)

    concepts = ET.SubElement(structures, _q("str:Concepts"))
    scheme = _named(concepts, "str:ConceptScheme", "Social protection coverage concepts",
                    id=CONCEPTS_ID, **maintained)
    for component in (*DIMENSIONS, TIME, MEASURE, *ATTRIBUTES):
        _named(scheme, "str:Concept", component.name, id=component.id)

    dsds = ET.SubElement(structures, _q("str:DataStructures"))
    dsd = _named(dsds, "str:DataStructure", "Social protection coverage and adequacy",
                 id=DSD_ID, **maintained)
    parts = ET.SubElement(dsd, _q("str:DataStructureComponents"))
    dimensions = ET.SubElement(parts, _q("str:DimensionList"), {"id": "DimensionDescriptor"})
    for position, component in enumerate(DIMENSIONS, start=1):
        element = ET.SubElement(dimensions, _q("str:Dimension"),
                                {"id": component.id, "position": str(position)})
        _component(element, component)
    time = ET.SubElement(dimensions, _q("str:TimeDimension"),
                         {"id": TIME.id, "position": str(len(DIMENSIONS) + 1)})
    _component(time, TIME)
    attributes = ET.SubElement(parts, _q("str:AttributeList"), {"id": "AttributeDescriptor"})
    for component in ATTRIBUTES:
        mandatory = component.id in ("UNIT_MEASURE", "UNIT_MULT", "OBS_STATUS")
        element = ET.SubElement(attributes, _q("str:Attribute"), {
            "id": component.id, "assignmentStatus": "Mandatory" if mandatory else "Conditional"})
        _component(element, component)
        relation = ET.SubElement(element, _q("str:AttributeRelationship"))
        ET.SubElement(ET.SubElement(relation, _q("str:PrimaryMeasure")), "Ref",
                      {"id": MEASURE.id})
    measures = ET.SubElement(parts, _q("str:MeasureList"), {"id": "MeasureDescriptor"})
    _component(ET.SubElement(measures, _q("str:PrimaryMeasure"), {"id": MEASURE.id}), MEASURE)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _component(element: ET.Element, component: Component) -> None:
    _ref(element, "str:ConceptIdentity", id=component.id, maintainableParentID=CONCEPTS_ID,
         maintainableParentVersion=VERSION, package="conceptscheme", **{"class": "Concept"})
    representation = ET.SubElement(element, _q("str:LocalRepresentation"))
    if component.codelist:
        _ref(representation, "str:Enumeration", id=component.codelist, version=VERSION,
             package="codelist", **{"class": "Codelist"})
    else:
        ET.SubElement(representation, _q("str:TextFormat"), {"textType": component.text_type})
