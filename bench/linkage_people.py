"""Benchmark: `spmis linkage dedupe` on a person file unlike the synthetic country.

    python bench/linkage_people.py [--persons 3000] [--seed 7] [--threshold 0.5] [--no-id]

Households of several cultures (Hispanic double surnames, Vietnamese, Arabic, West African,
Slavic, Anglo, French, Portuguese names), with what makes people hard to tell apart: twins
(same birth date, same home, different given names), fathers and sons or mothers and
daughters of one name in one home, siblings. A share of the people are recorded again, by
another office, with the errors offices make: typos, nicknames, given name and surname
swapped, the second surname dropped, accents stripped, day and month swapped, a digit or
the year off, no birth date, the household moved (another area and address), the ID missing,
mistyped, or a placeholder (0, 999999999, N/A), sex missing. Some IDs are placeholders from
the start. Every record keeps its person's number, so the true pairs are known. The file is
written as `spmis linkage dedupe` reads it and run through the command's own function;
prints one JSON object: precision, recall and F1 of the pairs at or above the threshold.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (given names for men, for women, surnames, surnames per person)
CULTURES: dict[str, tuple[list[str], list[str], list[str], int]] = {
    "hispanic": (["José", "Juan", "Francisco", "Luis", "Carlos", "Jesús", "Miguel", "Pedro",
                  "Alejandro", "Manuel", "Ricardo", "Fernando", "Jorge", "Andrés", "Raúl",
                  "Ignacio", "Santiago", "Diego", "Joaquín", "Óscar"],
                 ["María", "Guadalupe", "Ana", "Rosa", "Carmen", "Lucía", "Dolores", "Sofía",
                  "Concepción", "Isabel", "Mercedes", "Pilar", "Verónica", "Inés", "Beatriz",
                  "Marisol", "Ximena", "Valentina"],
                 ["García", "Rodríguez", "Martínez", "Hernández", "López", "González",
                  "Pérez", "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz",
                  "Muñoz", "Jiménez", "Ruiz", "Álvarez", "Castillo", "Ortega", "Núñez",
                  "Vargas", "Mendoza", "Cruz"], 2),
    "vietnamese": (["Văn An", "Minh", "Đức Anh", "Quang", "Tuấn", "Hùng", "Thành", "Văn Nam",
                    "Huy", "Phúc", "Bảo", "Long"],
                   ["Thị Hoa", "Lan", "Thị Mai", "Hương", "Ngọc Anh", "Thu", "Linh", "Thảo",
                    "Thị Hằng", "Trang", "Vy", "Yến"],
                   ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ",
                    "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"], 1),
    "arabic": (["Mohammed", "Ahmed", "Ali", "Omar", "Youssef", "Ibrahim", "Khaled", "Hassan",
                "Mustafa", "Abdullah", "Karim", "Tariq", "Samir", "Walid"],
               ["Fatima", "Aisha", "Mariam", "Khadija", "Layla", "Noor", "Zainab", "Salma",
                "Huda", "Amira", "Rania", "Yasmin"],
               ["Al-Hassan", "Haddad", "Khoury", "Mansour", "Nasser", "Saleh", "Abdallah",
                "Al-Amin", "Hamdan", "Ibrahim", "Farouk", "Qasim", "El-Sayed"], 1),
    "west_african": (["Kofi", "Kwame", "Kwabena", "Mamadou", "Ibrahima", "Moussa", "Sekou",
                      "Chinedu", "Emeka", "Oluwaseun", "Yaw", "Abdoulaye", "Ousmane"],
                     ["Ama", "Abena", "Akosua", "Fatou", "Aminata", "Mariama", "Adjoa",
                      "Ngozi", "Chiamaka", "Folake", "Aissatou", "Awa"],
                     ["Mensah", "Owusu", "Asante", "Diallo", "Traoré", "Ouédraogo", "Koné",
                      "Okafor", "Adeyemi", "Boateng", "Camara", "Sow", "Ndiaye", "Keita"], 1),
    "slavic": (["Aleksandr", "Dmitri", "Sergei", "Vladimir", "Mikhail", "Ivan", "Nikolai",
                "Pavel", "Andrzej", "Piotr", "Tomasz", "Yuri"],
               ["Olga", "Natalia", "Elena", "Tatiana", "Svetlana", "Anastasia", "Ekaterina",
                "Irina", "Agnieszka", "Katarzyna", "Małgorzata", "Zofia"],
               ["Ivanov", "Petrov", "Smirnov", "Kuznetsov", "Popov", "Sokolov", "Kowalski",
                "Nowak", "Wiśniewski", "Wójcik", "Lewandowski", "Novák", "Horváth"], 1),
    "anglo": (["William", "Robert", "James", "John", "Michael", "Thomas", "Richard", "Joseph",
               "Charles", "Edward", "Anthony", "Daniel", "Christopher", "Matthew"],
              ["Elizabeth", "Margaret", "Mary", "Patricia", "Jennifer", "Susan", "Katherine",
               "Rebecca", "Deborah", "Victoria", "Abigail", "Dorothy"],
              ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
               "Taylor", "Anderson", "Thomas", "Moore", "Martin", "Thompson"], 1),
    "french_portuguese": (["François", "Jean", "Pierre", "Michel", "Sébastien", "João",
                           "António", "Gonçalo", "Luís", "André"],
                          ["Françoise", "Hélène", "Élodie", "Chloé", "Maria", "Conceição",
                           "Inês", "Margarida", "Céline", "Noémie"],
                          ["Dubois", "Lefèvre", "Moreau", "Girard", "Rousseau", "Silva",
                           "Santos", "Ferreira", "Gonçalves", "Magalhães", "Conceição"], 1),
}
NICKNAMES = {"José": ["Pepe", "Chepe"], "Francisco": ["Paco", "Pancho", "Chico"],
             "Jesús": ["Chucho"], "Ignacio": ["Nacho"], "Manuel": ["Manolo"],
             "Guadalupe": ["Lupe"], "Dolores": ["Lola"], "Concepción": ["Concha"],
             "William": ["Bill", "Will"], "Robert": ["Bob", "Rob"], "James": ["Jim"],
             "John": ["Jack"], "Michael": ["Mike"], "Thomas": ["Tom"], "Richard": ["Rick"],
             "Joseph": ["Joe"], "Charles": ["Charlie"], "Edward": ["Ted", "Eddie"],
             "Anthony": ["Tony"], "Elizabeth": ["Liz", "Betty"], "Margaret": ["Peggy"],
             "Katherine": ["Kate"], "Rebecca": ["Becky"], "Aleksandr": ["Sasha"],
             "Dmitri": ["Dima"], "Mikhail": ["Misha"], "Natalia": ["Natasha"],
             "Ekaterina": ["Katya"], "Tatiana": ["Tanya"], "Mohammed": ["Muhammad", "Mohamed"],
             "Youssef": ["Yusuf"], "António": ["Tonho"], "Alejandro": ["Alex"]}
PLACEHOLDERS = ["0", "000000000", "999999999", "N/A", "unknown", "-"]
STREETS = ["Main", "Church", "Market", "Station", "River", "Hill", "Mango", "Palm", "School",
           "Mission", "Lake", "Cedar", "Baobab", "Harbour", "Garden", "Union"]
KINDS = ["Street", "Road", "Avenue", "Lane", "Calle", "Rue", "Rua"]


class People:
    """Households and their people, then the records two offices made of them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.persons: list[dict[str, Any]] = []
        self.areas = [f"A{i:03d}" for i in range(60)]
        self.ids: set[str] = set()

    def new_id(self) -> str:
        while True:
            value = str(self.rng.randrange(100_000_000, 999_999_999))
            if value not in self.ids:
                self.ids.add(value)
                return value

    def address(self) -> str:
        return (f"{self.rng.randrange(1, 400)} {self.rng.choice(STREETS)} "
                f"{self.rng.choice(KINDS)}")

    def household(self, number: int) -> None:
        rng = self.rng
        culture = rng.choice(list(CULTURES))
        men, women, surnames, count = CULTURES[culture]
        home = {"household": number, "area": rng.choice(self.areas), "address": self.address()}

        def surname() -> str:
            return " ".join(rng.sample(surnames, count))

        father, mother = surname(), surname()
        parent_year = rng.randrange(1940, 1992)
        adults = [("M", rng.choice(men), father, parent_year),
                  ("F", rng.choice(women), mother if count == 2 or culture == "vietnamese"
                   else father, parent_year + rng.randrange(-4, 5))]
        # Children: Hispanic ones carry both parents' first surnames.
        child_surname = (f"{father.split()[0]} {mother.split()[0]}" if count == 2 else father)
        children: list[tuple[Any, ...]] = []
        used = {adults[0][1], adults[1][1]}
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
            sex = rng.choice("MF")
            name = rng.choice([n for n in (men if sex == "M" else women) if n not in used])
            used.add(name)
            children.append((sex, name, child_surname, parent_year + rng.randrange(18, 34)))
        if children and rng.random() < 0.2:  # twins: same day, same home, other given names
            sex, name, _, year = children[0]
            other_sex = rng.choice("MF")
            pool = [n for n in (men if other_sex == "M" else women) if n not in used]
            children.append((other_sex, rng.choice(pool), child_surname, year, "twin"))
        if rng.random() < 0.15:  # a son (or daughter) named after the parent of that sex
            sex, name, family, year = rng.choice(adults)
            children.append((sex, name, family, year + rng.randrange(18, 36)))
        born: dict[int, str] = {}
        for i, (sex, given, family, year, *twin) in enumerate([*adults, *children]):
            dob = (born[len(adults)] if twin else
                   f"{min(year, 2024)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}")
            born[i] = dob
            self.persons.append({"person": len(self.persons), "culture": culture, "sex": sex,
                                 "given_name": given, "surname": family, "date_of_birth": dob,
                                 "national_id": self.new_id() if rng.random() < 0.75 else
                                 (rng.choice(PLACEHOLDERS) if rng.random() < 0.3 else ""),
                                 **home})

    def records(self) -> list[dict[str, Any]]:
        rows = []
        moved: dict[int, dict[str, str]] = {}
        for person in self.persons:
            rows.append(dict(person))
            copies = self.rng.choices([0, 1, 2], weights=[55, 35, 10])[0]
            for _ in range(copies):
                home = moved.setdefault(person["household"], {
                    "area": self.rng.choice(self.areas), "address": self.address()})
                rows.append(self.corrupt(dict(person), home))
        self.rng.shuffle(rows)
        return [{**row, "id": f"r{i}"} for i, row in enumerate(rows)]

    def corrupt(self, row: dict[str, Any], home: dict[str, str]) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < 0.3:
            row["given_name"], row["surname"] = strip(row["given_name"]), strip(row["surname"])
        if rng.random() < 0.12 and row["given_name"] in NICKNAMES:
            row["given_name"] = rng.choice(NICKNAMES[row["given_name"]])
        if rng.random() < 0.12:
            row["given_name"] = typo(rng, row["given_name"])
        if rng.random() < 0.12:
            row["surname"] = typo(rng, row["surname"])
        if " " in row["surname"] and row["culture"] == "hispanic" and rng.random() < 0.4:
            row["surname"] = row["surname"].split()[0]  # the second surname dropped
        if rng.random() < 0.05:
            row["given_name"], row["surname"] = row["surname"], row["given_name"]
        row["date_of_birth"] = self.dob(row["date_of_birth"])
        if rng.random() < 0.15:  # the household moved
            row.update(home)
        row["national_id"] = self.nid(row["national_id"])
        if rng.random() < 0.03:
            row["sex"] = ""
        return row

    def dob(self, value: str) -> str:
        rng, roll = self.rng, self.rng.random()
        year, month, day = value.split("-")
        if roll < 0.05 and int(day) <= 12:
            return f"{year}-{day}-{month}"  # day and month swapped
        if roll < 0.09:
            digit = rng.choice([5, 6, 8, 9])  # one digit of the month or day
            text = list(value)
            text[digit] = str(rng.randrange(0, 3) if digit in (5, 8) else rng.randrange(1, 9))
            return "".join(text)
        if roll < 0.12:
            return f"{int(year) + rng.choice([-1, 1])}-{month}-{day}"
        if roll < 0.17:
            return ""
        return value

    def nid(self, value: str) -> str:
        roll = self.rng.random()
        if not value.isdigit() or roll < 0.3:
            return "" if roll < 0.3 else value
        if roll < 0.34:
            return typo(self.rng, value, digits=True)
        if roll < 0.38:
            return self.rng.choice(PLACEHOLDERS)
        return value


def strip(text: str) -> str:
    import unicodedata

    plain = "".join(c for c in unicodedata.normalize("NFKD", text)
                    if not unicodedata.combining(c))
    return plain.replace("Đ", "D").replace("đ", "d").replace("ł", "l")


def typo(rng: random.Random, text: str, digits: bool = False) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.choice(["swap", "replace", "drop", "double"])
    if kind == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == "replace":
        pool = "0123456789" if digits else "aeioulnrst"
        return text[:i] + rng.choice(pool) + text[i + 1:]
    if kind == "drop" and not digits:
        return text[:i] + text[i + 1:]
    return text[:i] + text[i] + text[i:]


def generate(persons: int, seed: int, *, keep_truth: bool = False
             ) -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    """The records (as `linkage dedupe` reads them) and the true pairs."""
    people = People(seed)
    while len(people.persons) < persons:
        people.household(len(people.persons))
    rows = people.records()
    frame = pl.DataFrame(rows).select("id", "given_name", "surname", "date_of_birth", "sex",
                                      "area", "national_id", "address", "person",
                                      pl.col("household").cast(pl.Int64))
    pairs = frame.join(frame, on="person").filter(pl.col("id") < pl.col("id_right"))
    truth = {tuple(sorted(p)) for p in pairs.select("id", "id_right").iter_rows()}
    return (frame if keep_truth else frame.drop("person", "household"),
            truth)  # type: ignore[return-value]


def evaluate(found: pl.DataFrame, truth: set[tuple[str, str]], threshold: float) -> dict:
    pairs = {tuple(sorted(p)) for p in found.filter(pl.col("match_probability") >= threshold)
             .select("id_l", "id_r").iter_rows()}
    tp = len(pairs & truth)
    precision = tp / len(pairs) if pairs else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"pairs_found": len(pairs), "true_pairs": len(truth),
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--no-id", action="store_true", help="Drop the national_id column.")
    args = parser.parse_args()
    from spmis.linkage.dedupe import dedupe_csv

    frame, truth = generate(args.persons, args.seed)
    if args.no_id:
        frame = frame.drop("national_id")
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "people.csv", Path(tmp) / "pairs.csv"
        frame.write_csv(source)
        t0 = time.perf_counter()
        dedupe_csv(source, target, threshold=min(args.threshold, 0.01))
        seconds = time.perf_counter() - t0
        found = pl.read_csv(target, schema_overrides={"id_l": pl.String, "id_r": pl.String})
    print(json.dumps({"benchmark": "linkage_people", "persons": args.persons,
                      "seed": args.seed, "national_id": not args.no_id,
                      "records": frame.height, "threshold": args.threshold,
                      "seconds": round(seconds, 2), **evaluate(found, truth, args.threshold)},
                     indent=2))


if __name__ == "__main__":
    main()
