"""What the linkage model knows about names before it sees a file.

Nicknames and the same name in other languages: each group's first name is its canonical
form, and every other name in the group is read as it (``bill`` and ``guillermo`` as
``william``). The table is small on purpose: it covers the common hypocoristics of the
languages our registries see (English, Spanish, Portuguese, French, Italian, Slavic, Arabic
transliterations), not every spelling; spelling variants are the phonetic key's job.
A name in two groups (``beto``: Roberto and Alberto) is read as the first group's.
"""

from __future__ import annotations

GROUPS: tuple[tuple[str, ...], ...] = (
    ("william", "bill", "billy", "will", "willy", "liam", "guillermo", "memo", "guilherme",
     "guillaume", "wilhelm", "willem"),
    ("robert", "bob", "bobby", "rob", "robbie", "roberto", "beto", "robin"),
    ("richard", "rick", "ricky", "dick", "rich", "ricardo", "richie"),
    ("james", "jim", "jimmy", "jamie", "diego", "santiago", "jaime", "jacques", "giacomo"),
    ("john", "jack", "johnny", "jon", "juan", "juanito", "joao", "jean", "giovanni", "gianni",
     "johann", "johannes", "hans", "jan", "ian", "sean", "ivan", "vanya", "yahya"),
    ("joseph", "joe", "joey", "jose", "pepe", "pepito", "chepe", "ze", "zeca", "giuseppe",
     "beppe", "peppe", "pino", "josef", "jozef", "iosif", "yosef", "yusuf", "youssef",
     "yousef", "yousif", "josep"),
    ("josephine", "josefa", "pepa", "josefina", "giuseppina"),
    ("francis", "frank", "frankie", "francisco", "paco", "pancho", "curro", "chico", "kiko",
     "francesco", "checco", "francois", "franz", "frantisek", "franciszek"),
    ("frances", "francisca", "paquita", "francesca", "francoise", "fran"),
    ("elizabeth", "liz", "lizzie", "beth", "betty", "bette", "eliza", "libby", "isabel",
     "isabelle", "isabella", "elisabeth", "elisabetta", "yelizaveta", "elizaveta", "liza"),
    ("margaret", "maggie", "peggy", "meg", "margarita", "rita", "marguerite", "margherita",
     "greta"),
    ("catherine", "katherine", "kathryn", "kate", "katie", "kathy", "cathy", "kitty",
     "catalina", "catarina", "caterina", "ekaterina", "yekaterina", "katya", "katarzyna"),
    ("michael", "mike", "mikey", "mick", "miguel", "michel", "michele", "mikhail", "misha",
     "michal", "mikael"),
    ("thomas", "tom", "tommy", "tomas", "tomasz", "tommaso"),
    ("charles", "charlie", "chuck", "carlos", "carlitos", "carlo", "karl", "karel", "karol"),
    ("edward", "ed", "eddie", "ted", "teddy", "ned", "eduardo", "lalo", "edouard", "edoardo"),
    ("anthony", "tony", "antonio", "tono", "tonio", "toninho", "tonho", "antoine", "anton",
     "antoni"),
    ("daniel", "dan", "danny", "dani"),
    ("christopher", "chris", "kit", "cristobal", "cristoforo", "christophe", "krzysztof"),
    ("alexander", "alex", "alec", "sandy", "alejandro", "ale", "alessandro", "sandro",
     "alexandre", "aleksandr", "aleksander", "sasha", "sascha", "shura", "iskander",
     "iskandar"),
    ("alexandra", "alejandra", "alessandra", "aleksandra", "sandra"),
    ("patricia", "pat", "patty", "trish", "tricia", "patricie"),
    ("patrick", "paddy", "patricio", "patrice"),
    ("jennifer", "jen", "jenny"),
    ("susan", "sue", "susie", "suzanne", "susana", "susanna"),
    ("deborah", "deb", "debbie", "debora"),
    ("rebecca", "becky", "becca", "rebeca"),
    ("samuel", "sam", "sammy", "samuele"),
    ("benjamin", "ben", "benny", "benji", "benjamim"),
    ("nicholas", "nick", "nicky", "nicolas", "nicola", "nikolai", "nikolay", "kolya",
     "mikolaj", "niccolo"),
    ("andrew", "andy", "drew", "andres", "andre", "andrea", "andrei", "andrey", "andrzej"),
    ("matthew", "matt", "mateo", "mateus", "matteo", "mathieu", "matvei", "mateusz"),
    ("david", "dave", "davey", "davide", "dawid", "dawud", "daoud", "daud"),
    ("stephen", "steven", "steve", "stevie", "esteban", "estevao", "stefano", "stephane",
     "stepan", "stefan"),
    ("peter", "pete", "pedro", "pierre", "pietro", "piotr", "pyotr", "petr", "petra"),
    ("paul", "pablo", "paulo", "paolo", "pavel", "pasha", "pawel"),
    ("henry", "harry", "hank", "enrique", "quique", "henrique", "henri", "enrico", "heinrich"),
    ("frederick", "fred", "freddie", "federico", "fede", "frederic", "friedrich"),
    ("albert", "al", "bert", "alberto", "bertie"),
    ("victoria", "vicky", "vicki", "viktoria"),
    ("abigail", "abby", "gail"),
    ("dorothy", "dot", "dottie", "dorothea", "dorota"),
    ("mary", "maria", "marie", "mari", "mariya", "masha", "marusya", "maryam", "mariam",
     "miriam", "marija"),
    ("anne", "ann", "anna", "ana", "annie", "anya", "hannah", "ania"),
    ("jesus", "chucho", "chuy"),
    ("guadalupe", "lupe", "lupita"),
    ("ignacio", "nacho", "inacio", "ignatius"),
    ("manuel", "manolo", "manu", "emmanuel", "emanuel", "emanuele"),
    ("dolores", "lola", "lolita"),
    ("concepcion", "concha", "conchita", "conceicao"),
    ("rosario", "charo"),
    ("rafael", "rafa", "raffaele", "raphael"),
    ("fernando", "nando", "fernao", "ferdinand"),
    ("gonzalo", "chalo"),
    ("luis", "lucho", "luiz", "louis", "luigi", "ludwig", "lewis"),
    ("mercedes", "meche"),
    ("sebastian", "sebastiao", "tiao", "seba", "sebastiano", "bastien"),
    ("dmitri", "dmitry", "dima", "mitya", "dimitri", "dimitrios"),
    ("vladimir", "volodya", "vova", "wlodzimierz"),
    ("elena", "lena", "helen", "helena", "ellen", "elaine", "yelena", "jelena"),
    ("natalia", "natasha", "natalie", "natalya", "nathalie"),
    ("anastasia", "nastya", "stacy", "stacey"),
    ("tatiana", "tanya", "tatyana", "tania"),
    ("olga", "olya"),
    ("svetlana", "sveta"),
    ("yuri", "yura", "yury", "jurij", "george", "jorge", "georges", "giorgio", "georgi",
     "jerzy"),
    ("alexei", "aleksei", "alexey", "alyosha", "lesha"),
    ("sergei", "sergey", "seryozha", "sergio", "serge"),
    ("muhammad", "mohammed", "mohamed", "mohamad", "mohammad", "muhammed", "mohd", "md",
     "mehmet", "mamadou", "mamadu", "mahamadou"),
    ("ahmed", "ahmad", "ahmet", "amadou"),
    ("abdullah", "abdallah", "abdulla"),
    ("ibrahim", "ibrahima", "brahim", "abraham"),
    ("ismail", "ismael", "ismaila"),
    ("fatima", "fatimah", "fatma", "fatou", "fatoumata"),
    ("aisha", "aicha", "aissatou", "ayesha", "aysha"),
    ("moses", "musa", "moussa", "moises", "moshe"),
    ("umar", "omar", "oumar", "omer"),
)


def nickname_table() -> dict[str, str]:
    """Every name of a group, except the canonical one, mapped to the group's canonical."""
    table: dict[str, str] = {}
    for canonical, *others in GROUPS:
        for name in others:
            table.setdefault(name, canonical)
    return table


# Values that mean "no ID" in the files we receive: empty markers in several languages.
# Numbers made of one repeated digit (0, 000000, 999999999) are placeholders by rule.
PLACEHOLDER_IDS: tuple[str, ...] = (
    "na", "n a", "nil", "none", "null", "unknown", "not known", "not available", "missing",
    "no", "nd", "sd", "sin dato", "sin datos", "desconocido", "ninguno", "no tiene",
    "inconnu", "aucun", "neant", "nao tem", "desconhecido", "x", "xx", "xxx", "tbd", "pending",
    "123456789", "1234567890", "0123456789", "12345678", "123456",
)
