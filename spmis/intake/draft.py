"""``spmis intake mapping draft FILE``: propose a mapping from a data file.

The file is read as a submission reads it (header row found below titles, ODK group prefixes
stripped). Each column is matched to a minimum-dataset field by its name in English, French,
Spanish or Portuguese (accents, case and brackets ignored: ``Sexo (H/M)`` is ``sexo``); a
full-name column is split into given and family name; in a one-row-per-member ODK/Kobo export
without a member id, the person id is derived from the household column. Code-list fields get
a codes table listing every distinct value, translated where the value is unambiguous and
``"?"`` where the officer must say (so ``mapping check`` fails until they do); dates get the
format that reads most of their values; amounts get the decimal and thousands separators their
values use. The draft is text for the officer to edit, check and save; nothing is stored.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence

import polars as pl

from spmis.intake import parsers
from spmis.intake.mapping import CODE_LISTS, DATE_FIELDS, MONEY, number_pattern

SAMPLE = 5000
MAX_CODES = 30
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d",
                "%d/%m/%y", "%Y-%m", "%m/%Y", "%Y%m%d")
PERIOD_FORMATS = ("%Y-%m", "%m/%Y", "%Y%m", "%Y-%m-%d", "%d/%m/%Y")

# Column names, normalised (no accents, lower case, words), for each target field.
NAMES: dict[str, tuple[str, ...]] = {
    "person_ref": ("id", "person id", "beneficiary id", "beneficiary code", "member id",
                   "code", "code beneficiaire", "id beneficiaire", "codigo", "codigo beneficiario",
                   "id beneficiario", "n", "no", "numero", "matricula", "record id"),
    "household_ref": ("household", "household id", "hh id", "hh", "hhid", "menage",
                      "id menage", "code menage", "hogar", "id hogar", "codigo hogar",
                      "agregado", "id agregado", "agregado familiar", "familia", "id familia"),
    "national_id": ("national id", "nin", "nid", "national id number", "id number", "cni",
                    "numero cni", "carte d identite", "cedula", "dni", "documento",
                    "numero de documento", "bi", "numero de identidade", "cpf", "nuit"),
    "given_name": ("first name", "given name", "forename", "given names", "prenom", "prenoms",
                   "nombre", "nombres", "primer nombre", "nome", "primeiro nome", "nomes"),
    "family_name": ("surname", "last name", "family name", "nom", "nom de famille",
                    "apellido", "apellidos", "primer apellido", "apellido paterno",
                    "sobrenome", "apelido", "apelidos"),
    "full_name": ("name", "full name", "nom complet", "nom et prenom", "nom et prenoms",
                  "nombre completo", "nombres y apellidos", "nome completo"),
    "sex": ("sex", "gender", "sexe", "genre", "sexo", "genero"),
    "date_of_birth": ("date of birth", "dob", "birth date", "birthdate", "born",
                      "date de naissance", "naissance", "ne le", "fecha de nacimiento",
                      "fecha nac", "nacimiento", "data de nascimento", "nascimento",
                      "data nasc"),
    "date_of_death": ("date of death", "dod", "death date", "date de deces", "deces",
                      "fecha de defuncion", "defuncion", "data de obito", "obito"),
    "area": ("area", "area code", "pcode", "p code", "commune", "commune code", "municipality",
             "district", "location", "localite", "code commune", "municipio", "localidad",
             "distrito", "comuna", "municipio codigo", "localidade", "posto administrativo"),
    "address": ("address", "adresse", "direccion", "domicilio", "endereco", "morada"),
    "relationship_to_head": ("relationship", "relation", "relationship to head",
                             "relation to head", "rel", "lien", "lien de parente",
                             "lien avec le chef", "parentesco", "relacion", "relacao",
                             "parentesco com o chefe"),
    "disability_level": ("disability", "disability level", "wg", "handicap", "discapacidad",
                         "deficiencia", "incapacidade"),
    "registered_on": ("registered on", "registration date", "date registered",
                      "date d inscription", "date d enregistrement", "fecha de registro",
                      "data de registo", "data de registro", "data de cadastro"),
    "scheme": ("scheme", "programme", "program", "scheme code", "programme code", "programa",
               "codigo programa"),
    "enrolment_status": ("status", "enrolment status", "enrollment status", "statut",
                         "estado", "situacion", "situacao", "estado de inscricao"),
    "enrolment_start": ("enrolment date", "enrollment date", "enrolled", "enrolled on",
                        "start date", "date d entree", "date d inscription au programme",
                        "fecha de ingreso", "fecha de alta", "data de inscricao",
                        "data de entrada"),
    "period": ("period", "month", "payment month", "mois", "periode", "mes", "periodo",
               "mes de pago", "mes de pagamento"),
    "amount": ("amount", "paid", "amount paid", "payment", "benefit", "montant",
               "montant paye", "monto", "importe", "valor", "montante", "valor pago"),
    "currency": ("currency", "devise", "monnaie", "moneda", "moeda", "divisa"),
    "paid_on": ("paid on", "payment date", "date paid", "date de paiement", "fecha de pago",
                "data de pagamento", "data do pagamento"),
    "annual_income": ("annual income", "income", "revenu", "revenu annuel", "ingreso",
                      "ingreso anual", "renda", "rendimento", "renda anual"),
}

# Values that mean the same in every language a file is likely to be in.
SEX_WORDS = {"male": "M", "female": "F", "man": "M", "woman": "F", "homme": "M", "femme": "F",
             "masculin": "M", "feminin": "F", "hombre": "M", "mujer": "F", "masculino": "M",
             "femenino": "F", "feminino": "F", "boy": "M", "girl": "F"}
RELATION_WORDS = {
    "head": "HEAD", "chef": "HEAD", "chef de menage": "HEAD", "jefe": "HEAD",
    "jefe de hogar": "HEAD", "chefe": "HEAD", "chefe do agregado": "HEAD",
    "spouse": "SPOUSE", "wife": "SPOUSE", "husband": "SPOUSE", "conjoint": "SPOUSE",
    "epouse": "SPOUSE", "epoux": "SPOUSE", "conyuge": "SPOUSE", "esposa": "SPOUSE",
    "esposo": "SPOUSE", "conjuge": "SPOUSE",
    "child": "CHILD", "son": "CHILD", "daughter": "CHILD", "enfant": "CHILD", "fils": "CHILD",
    "fille": "CHILD", "hijo": "CHILD", "hija": "CHILD", "filho": "CHILD", "filha": "CHILD",
    "parent": "PARENT", "father": "PARENT", "mother": "PARENT", "pere": "PARENT",
    "mere": "PARENT", "padre": "PARENT", "madre": "PARENT", "pai": "PARENT", "mae": "PARENT",
    "sibling": "SIBLING", "brother": "SIBLING", "sister": "SIBLING", "frere": "SIBLING",
    "soeur": "SIBLING", "hermano": "SIBLING", "hermana": "SIBLING", "irmao": "SIBLING",
    "irma": "SIBLING", "grandchild": "GRANDCHILD", "petit enfant": "GRANDCHILD",
    "nieto": "GRANDCHILD", "nieta": "GRANDCHILD", "neto": "GRANDCHILD", "neta": "GRANDCHILD",
    "other relative": "OTHER_RELATIVE", "non relative": "NON_RELATIVE",
}
STATUS_WORDS = {"active": "ACTIVE", "actif": "ACTIVE", "activo": "ACTIVE", "ativo": "ACTIVE",
                "suspended": "SUSPENDED", "suspendu": "SUSPENDED", "suspendido": "SUSPENDED",
                "suspenso": "SUSPENDED", "exited": "EXITED", "sorti": "EXITED",
                "baja": "EXITED", "inactive": "EXITED", "inactivo": "EXITED",
                "inativo": "EXITED"}
WORDS = {"sex": SEX_WORDS, "relationship_to_head": RELATION_WORDS,
         "enrolment_status": STATUS_WORDS}


def normalise(name: str) -> str:
    """Lower case, no accents, no bracketed part, words separated by single spaces."""
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", name)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def match_columns(columns: Sequence[str]) -> dict[str, str]:
    """Target field (or ``full_name``) -> column: exact names first, then a name that begins
    with a known name (``Monto Bs`` is ``monto``); each column used once."""
    # An export's own columns (_id, _uuid, start...) are never the person's.
    columns = [c for c in columns if not c.startswith("_") and c not in parsers.ODK_META
               and c not in ("start", "end", "today", "deviceid", "instanceID")]
    normal = {c: normalise(c) for c in columns}
    chosen: dict[str, str] = {}
    used: set[str] = set()
    for exact in (True, False):
        for target, names in NAMES.items():
            if target in chosen:
                continue
            for column in columns:
                n = normal[column]
                if column in used or not n:
                    continue
                if n in names or (not exact and any(n.startswith(k + " ") and len(k) > 2
                                                    for k in names)):
                    chosen[target] = column
                    used.add(column)
                    break
    return chosen


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _values(frame: pl.DataFrame, column: str) -> list[str]:
    return (frame.get_column(column).drop_nulls().unique(maintain_order=True)
            .head(MAX_CODES + 1).to_list())


def _guess_codes(target: str, values: list[str]) -> list[tuple[str, str]]:
    if target == "disability_level":
        return [(v, v if v in ("0", "1", "2", "3") else "?") for v in values]
    upper = {v.strip().upper() for v in values}
    letters: dict[str, str] = {}
    if target == "sex":
        # H/M is Spanish (M: mujer); M/F English, French (H/F) or Portuguese.
        letters = {"H": "M", "F": "F", "U": "U",
                   "M": "F" if "H" in upper and "F" not in upper else "M"}
        if {"H", "M", "F"} <= upper:
            letters["M"] = "?"  # H, M and F together: M cannot be told
    words = WORDS.get(target, {})
    allowed = CODE_LISTS[target]
    return [(v, letters.get(v.strip().upper()) or (
        v.strip().upper() if v.strip().upper() in allowed and target != "sex"
        else words.get(normalise(v), "?"))) for v in values]


def _guess_date(frame: pl.DataFrame, column: str, formats: Sequence[str]) -> str:
    values = frame.get_column(column).drop_nulls().head(SAMPLE)
    if values.len() == 0:
        return formats[0]
    read = {f: values.str.to_date(f, strict=False).null_count() for f in formats}
    return min(formats, key=lambda f: (read[f], formats.index(f)))


def _guess_number(frame: pl.DataFrame, column: str) -> tuple[str, str | None]:
    values = frame.get_column(column).drop_nulls().head(SAMPLE)
    best: tuple[int, str, str | None] = (-1, ".", None)
    for decimal, thousands in ((".", None), (",", None), (",", "."), (".", ","), (",", " ")):
        fits = int(values.str.contains(number_pattern(decimal, thousands)).sum())
        if fits > best[0]:
            best = (fits, decimal, thousands)
    return best[1], best[2]


def draft_mapping(data: bytes, *, filename: str, schemes: Sequence[str] = (),
                  source: str | None = None) -> str:
    """A proposed mapping (YAML, with comments) for the file; raises
    :class:`parsers.ParseError` when the file cannot be read."""
    parsed = parsers.parse_file(data, filename=filename, shape_issues=True)
    frame = parsed.frame.head(SAMPLE)
    columns = [c for c in frame.columns if c != "_row"]
    found = match_columns(columns)
    used = set(found.values())
    lines = ["# A draft: check every line, replace each \"?\", then run",
             "# spmis intake mapping check THIS_FILE --against " + filename,
             "version: 1"]
    if source:
        lines.append(f"source: {_q(source)}")
    header = re.search(r"found on row (\d+)", " ".join(parsed.notes))
    if header:
        lines.append(f"header_row: {header.group(1)}   # title rows above it are skipped")
    if parsed.format == "odk" and any(c != c.rsplit("/", 1)[-1] for c in columns):
        lines.append("groups: keep   # two columns would have the same name without prefixes")
    money = [t for t in MONEY if t in found]
    if money:
        decimal, thousands = _guess_number(frame, found[money[0]])
        if decimal != "." or thousands:
            lines.append(f"decimal: {_q(decimal)}")
        if thousands:
            lines.append(f"thousands: {_q(thousands)}")
    lines.append("fields:")
    if "person_ref" not in found and "household_ref" in found and parsed.format == "odk":
        lines.append(f"  person_ref: {{member_of: {_q(found['household_ref'])}}}   # household "
                     "id + the member's order in it")
    elif "person_ref" not in found:
        lines.append('  person_ref: {from: "?"}   # the column with each person\'s id')
    second = next((c for c in columns if normalise(c) in ("segundo apellido",
                                                          "apellido materno")), None)
    if second and "family_name" in found and second not in used:
        lines.append(f"  family_name: {{join: [{_q(found.pop('family_name'))}, {_q(second)}]}}"
                     "   # both surnames")
        used.add(second)
    if "full_name" in found and not {"given_name", "family_name"} & set(found):
        full = _q(found.pop("full_name"))
        lines.append(f"  given_name: {{from: {full}, part: first}}")
        lines.append(f"  family_name: {{from: {full}, part: rest}}")
    elif not {"given_name", "family_name"} & set(found) and not second:
        lines.append('  given_name: {from: "?"}   # required: given_name or family_name')
    if "full_name" in found:
        used.discard(found.pop("full_name"))
    for target in NAMES:
        if target not in found:
            continue
        column = _q(found[target])
        if target in CODE_LISTS:
            values = _values(frame, found[target])
            codes = ", ".join(f"{_q(v)}: {_q(t)}" for v, t in
                              _guess_codes(target, values[:MAX_CODES]))
            more = "   # more values than shown: add them" if len(values) > MAX_CODES else ""
            lines.append(f"  {target}: {{from: {column}, codes: {{{codes}}}}}{more}")
        elif target in DATE_FIELDS:
            fmt = _guess_date(frame, found[target],
                              PERIOD_FORMATS if target == "period" else DATE_FORMATS)
            lines.append(f"  {target}: {{from: {column}, date_format: {_q(fmt)}}}")
        elif target in MONEY:
            lines.append(f"  {target}: {{from: {column}, unit: major}}   # minor if in cents")
        else:
            lines.append(f"  {target}: {{from: {column}}}")
    if "scheme" not in found and money:
        scheme = schemes[0] if len(schemes) == 1 else "?"
        lines.append(f"  scheme: {{constant: {_q(scheme)}}}   # the scheme these rows are for")
    if "currency" not in found and money:
        lines.append('  currency: {constant: "?"}   # ISO 4217 code of the amounts, e.g. "USD"')
    for required in ("sex", "date_of_birth", "area"):
        if required not in found:
            lines.append(f'  {required}: {{from: "?"}}   # required: no column was recognised')
    unused = [c for c in columns if c not in used and not c.startswith("_")
              and c not in parsers.ODK_META and c not in ("start", "end")]
    if unused:
        lines.append("# Columns not mapped (map them, or leave them out): "
                     + ", ".join(_q(c) for c in unused))
    return "\n".join(lines) + "\n"
