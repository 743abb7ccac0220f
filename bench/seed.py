"""Seed a realistic PolyCRM dataset fast: N contacts, N/10 accounts, N/5 opportunities.

    .venv/bin/python bench/seed.py --rows 10000 [--data-dir DIR] [--database-url URL]

The schema is made the ordinary way (`polycrm init`, then `polycrm field add Contact tier --type enum ...`
and `polycrm field add Contact score --type int`, so cTier/cScore are real, indexed columns); the rows are
then written directly into the tables that `polycrm.store.database.open_database(url)` describes, side tables
included: email_address_link, phone_number_link, entity_team (teams), account_contact (Contact.accounts). Each
batch of 10,000 is one transaction on one SQLAlchemy connection: the INSERT is compiled from the Core `Table` and
run as an `executemany` of tuples (values through each column type's bind processor); on PostgreSQL the batch
goes through COPY on the same connection instead (`--pg-executemany` to compare).

Speed: the secondary indexes of the bulk-loaded tables are dropped first and rebuilt once at the end (a
sorted index build is several times cheaper than maintaining 20 B-trees row by row); on SQLite
`PRAGMA synchronous=OFF` is set on the seeding connection; on PostgreSQL the serial sequences are moved past
the seeded ids and the tables are VACUUM ANALYZEd afterwards (what autovacuum would do soon anyway).

Deterministic for a given --seed. Soft-deleted contacts: every id with id % 97 == 0 (1 %), so a load
generator can pick live ids without a lookup (see `is_live_contact_id`).

What it records: `sequence_counter` rows `bench.seeded_rows` and `bench.max_contact_id` (and the other
seeded maxima), read back by `bench/run.py --reuse`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = ROOT / ".venv" / "bin"
POLYCRM = str(VENV_BIN / "polycrm")

TIERS = ["Gold", "Silver", "Bronze"]
TIER_WEIGHTS = [10, 30, 50]  # + 10 % without a tier
N_USERS = 20
N_TEAMS = 5
DELETED_MODULUS = 97

FIRST_NAMES = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret
Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda
Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan
Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin
Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank
Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose
Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan
Joan Walter Evelyn Noah Judith Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald
Martha Harold Gloria Sean Teresa Austin Ann Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice
Jordan Jean Bryan Abigail Billy Alice Joe Judy Bruce Sophia Gabriel Grace Logan Denise Albert Amber Willie
Doris Alan Marilyn Juan Danielle Wayne Beverly Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph
Brittany Eugene Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori Louis Lucas Yuki Hiroshi Mei Wei
Aisha Omar Fatima Ahmed Priya Rahul Anil Sunita Lars Ingrid Sven Astrid Pierre Amelie Luca Giulia Marco Chiara
Pablo Lucia Diego Sofia Mateo Valentina Jan Anna Piotr Zofia Olga Ivan Dmitri Elena Nikos Eleni Kwame Ama
Chidi Ngozi Tariq Leila Kenji Sakura Min Ji Hoon Thanh Linh Arjun Kavya""".split()

LAST_NAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera
Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart
Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox
Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders
Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes
Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace
Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens
Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns
Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer
Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols
Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters
Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray
Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval
Guerrero George Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper Burke Larson Santiago
Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs Obrien Lynch Singh Vega Bishop Montgomery
Oliver Jensen Harvey Williamson Gilbert Dean Sims Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton
Fuller Wang Weber Welch Rojas Lucas Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna
Fowler Mejia Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas Schneider Joseph
Barrett Navarro Figueroa Keller Avila Wade Molina Stanley Hopkins Campos Barnett Bates Chambers Caldwell Beck
Lambert Miranda Byrd Craig Ayala Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton
Schwartz Norris Jennings Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt Deleon Barker
Terry Hale Leon Hail Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe Warner Cabrera McKinney Mann
Zimmerman Dawson Lara Fletcher Page McCarthy Love Robles Cervantes Solis Erickson Reeves Chang Klein Salinas
Fuentes Baldwin Daniel Simon Velasquez Hardy Higgins Aguirre Lin Cummings Chandler Sharp Barber Bowen Ochoa
Dennis Robbins Liu Ramsey Francis Griffith Paul Blair Oconnor Cardenas Pacheco Cross Calderon Quinn Moss Swanson
Chan Rivas Khan Rodgers Serrano Fitzgerald Rosales Stevenson Christensen Manning Gill Curry McLaughlin Harmon
McGee Gross Doyle Garner Newton Burgess Reese Walton Blake Trujillo Adkins Brady Goodman Roman Webster Goodwin
Fischer Huang Potter Delacruz Montoya Todd Wu Hines Mullins Castaneda Malone Cannon Tate Mack Sherman Hubbard
Hodges Zhang Guerra Wolf Valencia Saunders Franco Rowe Gallagher Farmer Hammond Hampton Townsend Ingram Wise
Gallegos Clarke Barton Schroeder Maxwell Waters Logan Camacho Strickland Norman Person Colon Parsons Frank Harrington
Glover Osborne Buchanan Casey Floyd Patton Ibarra Ball Tyler Suarez Bowers Orozco Salas Cobb Gibbs Andrade Bauer
Conner Moody Escobar McGuire Lloyd Mueller Hartman French Kramer McBride Pope Lindsey Velazquez Norton McCormick
Sparks Flynn Yates Hogan Marsh Macias Villanueva Zamora Pratt Stokes Owen Ballard Lang Brock Villarreal Charles
Drake Barrera Cain Patrick Pineda Burnett Mercado Santana Shepherd Bautista Ali Shaffer Lamb Trevino McKenzie
Hess Beil Olsen Cochran Morton Nash Wilkins Petersen Briggs Shah Roth Nicholson Holloway Lozano Rangel Flowers
Hoover Short Arias Mora Valenzuela Bryan Meyers Weiss Underwood Bass Greer Summers Houston Carson Morrow Clayton
Whitaker Decker Yoder Collier Zuniga Carey Wilcox Melendez Poole Roberson Larsen Conley Davenport Copeland
Massey Lam Huff Rocha Cameron Jefferson Hood Monroe Anthony Pittman Huynh Randall Singleton Kirk Combs Mathis
Christian Skinner Bradford Richard Galvan Wall Boone Kirby Wilkinson Bridges Bruce Atkinson Velez Meza Roy
Vincent York Hodge Villa Abbott Allison Tapia Gates Chase Sosa Sweeney Farrell Wyatt Dalton Horn Barron Phelps
Yu Dickerson Heath Foley Atkins Mathews Bonilla Acevedo Benitez Zavala Hensley Glenn Cisneros Harrell Shields
Rubio Huber Choi Kirkland Hartmann Kowalski Nowak Wojcik Novak Horvat Kovacs Nagy Popescu Ivanov Petrov Sokolov
Muller Schmitt Fischer Weber Wagner Becker Hofmann Koch Richter Klein Wolf Schroder Neumann Dubois Lefebvre
Moreau Laurent Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Yamamoto Tanaka Suzuki
Watanabe Takahashi Sato Nakamura Kobayashi Kato Okafor Mensah Adeyemi Mwangi Otieno Kariuki Hassan Ibrahim
Haddad Nasser Yilmaz Kaya Demir Sahin Celik Andersen Nielsen Johansson Karlsson Virtanen Korhonen Murphy
Byrne Walsh Kavanagh Doherty Jansen DeVries VanDijk Bakker Visser Smit Meijer Pereira Oliveira Costa Almeida
Ferreira Carvalho Gomes Martins Rocha Ribeiro Sousa Kumar Sharma Gupta Reddy Iyer Nair Das Bose Chatterjee""".split()
LAST_NAMES = list(dict.fromkeys(LAST_NAMES))  # unique, stable order

COMPANY_WORDS = """Acme Globex Initech Umbrella Stark Wayne Wonka Hooli Vandelay Soylent Tyrell Cyberdyne Aperture
Gringotts Monarch Oscorp Pied Piper Massive Dynamic Blue Sun Nakatomi Prestige Sterling Cooper Dunder Mifflin
Virtucon Zorg Kramerica Bluth Delos Ingen Octan Rekall Weyland Yutani Abstergo Aviato Binford Cogswell Spacely
Genco Ajax Apex Summit Pioneer Horizon Vertex Quantum Nimbus Orbit Cascade Granite Harbor Meridian Northwind
Contoso Fabrikam Litware Adventure Tailspin Wingtip Proseware Lucerne Alpine Coho Fourth Coffee Trey Woodgrove
Evergreen Silverline Redwood Bluewater Ironclad Brightpath Clearview Crestline Fairway Goldleaf Highland""".split()
COMPANY_SUFFIXES = ["Inc", "LLC", "Ltd", "GmbH", "Group", "Holdings", "Corp", "Partners", "Systems", "Labs",
                    "Industries", "Solutions", "Consulting", "Logistics", "Media"]
ACCOUNT_TYPES = ["Customer", "Investor", "Partner", "Reseller"]
INDUSTRIES = ["Advertising", "Aerospace", "Banking", "Biotechnology", "Computer", "Construction", "Consulting",
              "Education", "Electronics", "Energy", "Finance", "Healthcare", "Insurance", "Manufacturing",
              "Retail", "Software", "Technology", "Telecommunications", "Transportation", "Wholesale"]
CITIES = [("New York", "NY", "USA"), ("San Francisco", "CA", "USA"), ("Chicago", "IL", "USA"),
          ("Austin", "TX", "USA"), ("Seattle", "WA", "USA"), ("Boston", "MA", "USA"), ("London", None, "UK"),
          ("Manchester", None, "UK"), ("Berlin", None, "Germany"), ("Munich", None, "Germany"),
          ("Paris", None, "France"), ("Lyon", None, "France"), ("Madrid", None, "Spain"), ("Milan", None, "Italy"),
          ("Amsterdam", None, "Netherlands"), ("Stockholm", None, "Sweden"), ("Warsaw", None, "Poland"),
          ("Toronto", "ON", "Canada"), ("Sydney", "NSW", "Australia"), ("Tokyo", None, "Japan")]
STREETS = ["Main St", "Oak Ave", "Park Rd", "Maple Dr", "High St", "Station Rd", "Church Ln", "Market St",
           "King St", "Queen St", "Elm St", "Cedar Ave", "Mill Rd", "Bridge St", "Harbour Way"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me", "gmx.de",
                 "example.com", "mail.com", "fastmail.com"]
STAGES = [("Prospecting", 10), ("Qualification", 20), ("Proposal", 50), ("Negotiation", 80),
          ("Closed Won", 100), ("Closed Lost", 0)]
STAGE_WEIGHTS = [25, 20, 15, 10, 18, 12]
LEAD_SOURCES = ["Call", "Email", "Existing Customer", "Partner", "Public Relations", "Web Site", "Campaign",
                "Other"]
PRODUCTS = ["Licenses", "Renewal", "Upgrade", "Consulting", "Support plan", "Hardware", "Training",
            "Implementation", "Expansion", "Pilot"]
PHONE_TYPES = ["Mobile", "Office", "Home", "Other"]
SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", None, None]

SPAN = timedelta(days=3 * 365)


def is_live_contact_id(contact_id: int) -> bool:
    """Seeded contacts with id % 97 == 0 are soft-deleted."""
    return contact_id % DELETED_MODULUS != 0


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


# --- CLI steps --------------------------------------------------------------------------------------------

def cli_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["POLYCRM_DATA_DIR"] = str(data_dir)
    if database_url:
        env["POLYCRM_DATABASE_URL"] = database_url
    else:
        env.pop("POLYCRM_DATABASE_URL", None)
    env.setdefault("POLYCRM_LOG_LEVEL", "warning")
    return env


def _scalar_default(column: Any) -> Any:
    """The value SQLAlchemy would insert for a column left out of a row: its scalar default, else None."""
    default = column.default
    if default is None:
        return None
    if getattr(default, "is_scalar", False):
        return default.arg
    raise ValueError(f"seed rows must give {column.table.name}.{column.name} (its default is not a constant)")


def run_cli(args: list[str], env: dict[str, str], *, tolerate: Iterable[str] = ()) -> str:
    """Run `polycrm ARGS`; return stdout. An error whose message contains one of `tolerate` is ignored."""
    proc = subprocess.run([POLYCRM, *args], env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        message = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        if any(t in message for t in tolerate):
            return proc.stdout
        raise RuntimeError(f"`polycrm {' '.join(args)}` failed ({proc.returncode}): {message}")
    return proc.stdout


def prepare_schema(data_dir: Path, database_url: str | None, log: Callable[[str], None] = print) -> None:
    """`polycrm init` and the custom fields, through the CLI (idempotent)."""
    env = cli_env(data_dir, database_url)
    started = time.perf_counter()
    run_cli(["init"], env)
    run_cli(["field", "add", "Contact", "tier", "--type", "enum", "--options", ",".join(TIERS)], env,
            tolerate=["already exists"])
    run_cli(["field", "add", "Contact", "score", "--type", "int"], env, tolerate=["already exists"])
    log(f"  schema: polycrm init + 2 custom fields in {time.perf_counter() - started:.1f} s")


def database_url_for(data_dir: Path, database_url: str | None) -> str:
    return database_url or f"sqlite:///{(data_dir / 'polycrm.db').resolve()}"


# --- row generators ---------------------------------------------------------------------------------------

class Generator:
    """Deterministic row factories."""

    def __init__(self, rows: int, seed: int, now: datetime):
        self.rows = rows
        self.rng = random.Random(seed)
        self.now = now
        self.start = now - SPAN
        self.n_accounts = max(1, rows // 10)
        self.n_opportunities = max(1, rows // 5)

    def created_at(self, index: int, total: int) -> datetime:
        """Spread over the last 3 years, increasing with the id (records are created over time) with jitter."""
        seconds = SPAN.total_seconds() * (index + self.rng.random()) / total
        return self.start + timedelta(seconds=int(seconds))

    def modified_at(self, created: datetime) -> datetime:
        if self.rng.random() < 0.6:
            return created
        later = created + timedelta(seconds=self.rng.randrange(0, 200 * 86400))
        return min(later, self.now)


def _chunks(total: int, size: int) -> Iterable[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(total, start + size)


def _email_row(entity_type: str, entity_id: int, position: int, address: str, primary: bool) -> dict[str, Any]:
    return {"entity_type": entity_type, "entity_id": entity_id, "field": "emailAddress", "position": position,
            "is_primary": primary, "opt_out": False, "invalid": False, "address": address,
            "address_lower": address.lower()}


def _phone_row(entity_type: str, entity_id: int, position: int, number: str, kind: str,
               primary: bool) -> dict[str, Any]:
    return {"entity_type": entity_type, "entity_id": entity_id, "field": "phoneNumber", "position": position,
            "is_primary": primary, "opt_out": False, "invalid": False, "number": number,
            "numeric": "".join(c for c in number if c.isdigit()), "type": kind}


def _phone(rng: random.Random) -> str:
    return f"+1 {rng.randrange(200, 999)} {rng.randrange(200, 999)} {rng.randrange(1000, 9999)}"


# --- seeding ----------------------------------------------------------------------------------------------

BULK_TABLES = ["contact", "account", "opportunity", "email_address_link", "phone_number_link", "entity_team",
               "account_contact"]


def seed(database_url: str, rows: int, *, batch: int = 10_000, seed_value: int = 42, pg_copy: bool = True,
         log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write the dataset into an initialised, empty store. Returns figures (rows, seconds).

    On PostgreSQL each batch goes through COPY on the SQLAlchemy connection's own driver connection (same
    transaction) unless `pg_copy` is false, in which case it is an executemany like on SQLite."""
    from sqlalchemy import func, insert, select

    from polycrm.store.database import open_database

    database = open_database(database_url, sync=False)
    engine = database.engine
    dialect = database.dialect
    use_copy = pg_copy and dialect == "postgresql"
    contact = database.table("contact")
    if "c_tier" not in contact.c or "c_score" not in contact.c:
        raise RuntimeError("custom fields cTier/cScore are missing: run prepare_schema() first")
    t = {name: database.table(name) for name in BULK_TABLES + ["user", "team", "team_user", "sequence_counter"]}
    now = now_utc()
    gen = Generator(rows, seed_value, now)
    rng = gen.rng
    stats: dict[str, Any] = {"rows": rows, "tables": {}}
    started = time.perf_counter()

    with engine.connect() as conn:
        if dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
            # PolyCRM's connections leave checkpoints to its write transactions, which the seed bypasses.
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=16384")
        conn.commit()
        existing = conn.execute(select(func.count()).select_from(contact)).scalar_one()
        if existing:
            raise RuntimeError(f"contact already holds {existing} rows; seed into a fresh store")
        conn.commit()

        # Users and teams: a realistic sales org (admin from `polycrm init` stays user 1).
        with conn.begin():
            team_ids = []
            for i in range(N_TEAMS):
                team_ids.append(conn.execute(insert(t["team"]).values(
                    name=["Sales EMEA", "Sales Americas", "Sales APAC", "Support", "Marketing"][i],
                    created_at=gen.start, modified_at=gen.start, deleted=False, version_number=1)
                    .returning(t["team"].c.id)).scalar_one())
            user_ids = []
            for i in range(N_USERS):
                first, last = FIRST_NAMES[i * 7 % len(FIRST_NAMES)], LAST_NAMES[i * 13 % len(LAST_NAMES)]
                user_ids.append(conn.execute(insert(t["user"]).values(
                    user_name=f"rep{i + 1:02d}", name=f"{first} {last}", first_name=first, last_name=last,
                    type="regular", is_active=True, email_address=f"rep{i + 1:02d}@polycrm.example",
                    default_team_id=team_ids[i % N_TEAMS], created_at=gen.start, modified_at=gen.start,
                    deleted=False, version_number=1).returning(t["user"].c.id)).scalar_one())
            conn.execute(insert(t["team_user"]), [{"team_id": team_ids[i % N_TEAMS], "user_id": uid}
                                                  for i, uid in enumerate(user_ids)])
            admin_id = conn.execute(select(func.min(t["user"].c.id))).scalar_one()
        # Skewed ownership: a few reps own most records.
        user_weights = [1.0 / (i + 1) ** 0.7 for i in range(N_USERS)]
        user_team = {uid: team_ids[i % N_TEAMS] for i, uid in enumerate(user_ids)}

        # Secondary indexes off during the bulk load; rebuilt (sorted) at the end.
        dropped = []
        with conn.begin():
            for name in BULK_TABLES:
                for index in sorted(t[name].indexes, key=lambda i: i.name):
                    index.drop(conn, checkfirst=True)
                    dropped.append(index)

        statements: dict[str, tuple[str, list[str], list[Any]]] = {}

        def put(table_name: str, batch_rows: list[dict[str, Any]]) -> None:
            """executemany of one batch: the INSERT is compiled once from the Core table; rows go to the driver
            as tuples, through each column type's own bind processor (so values are stored exactly as
            SQLAlchemy stores them), skipping SQLAlchemy's per-row parameter bookkeeping."""
            if not batch_rows:
                return
            if table_name not in statements:
                table = t[table_name]
                columns = list(batch_rows[0])
                compiled = insert(table).values({c: None for c in columns}).compile(
                    dialect=engine.dialect, column_keys=columns)
                sql = str(compiled)
                if compiled.positional:  # qmark (sqlite3): parameters in the compiled order
                    columns = list(compiled.positiontup)
                else:  # pyformat (psycopg): %(name)s -> %s, in the compiled order
                    columns = re.findall(r"%\((\w+)\)s", sql)
                    sql = re.sub(r"%\((\w+)\)s", "%s", sql)
                processors = [table.c[c].type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
                              for c in columns]
                # Columns the rows leave out that the compiled INSERT still names (a column with a default the
                # entity gained after this seeder was written, e.g. account.is_lead): their scalar default.
                defaults = {c: _scalar_default(table.c[c]) for c in columns if c not in batch_rows[0]}
                statements[table_name] = (sql, columns, processors, defaults)
            sql, columns, processors, defaults = statements[table_name]
            if defaults:
                batch_rows = [{**defaults, **r} for r in batch_rows]
            if any(processors):
                tuples = [tuple(p(r[c]) if p else r[c] for c, p in zip(columns, processors)) for r in batch_rows]
            else:
                tuples = [tuple(r[c] for c in columns) for r in batch_rows]
            if use_copy:
                quoted = ", ".join(engine.dialect.identifier_preparer.quote(c) for c in columns)
                with conn.connection.driver_connection.cursor() as cursor:
                    with cursor.copy(f"COPY {table_name} ({quoted}) FROM STDIN") as copy:
                        for row in tuples:
                            copy.write_row(row)
            else:
                conn.exec_driver_sql(sql, tuples)
            stats["tables"][table_name] = stats["tables"].get(table_name, 0) + len(batch_rows)

        # Accounts.
        phase = time.perf_counter()
        n_accounts = gen.n_accounts
        for lo, hi in _chunks(n_accounts, batch):
            accounts, emails, phones, teams = [], [], [], []
            for i in range(lo, hi):
                account_id = i + 1
                word = COMPANY_WORDS[rng.randrange(len(COMPANY_WORDS))]
                word2 = COMPANY_WORDS[rng.randrange(len(COMPANY_WORDS))]
                name = f"{word} {word2} {COMPANY_SUFFIXES[rng.randrange(len(COMPANY_SUFFIXES))]} {account_id}"
                slug = f"{word.lower()}{word2.lower()}{account_id}"
                city, state, country = CITIES[rng.randrange(len(CITIES))]
                created = gen.created_at(i, n_accounts)
                owner = rng.choices(user_ids, user_weights)[0]
                email = f"info@{slug}.example"
                phone = _phone(rng)
                accounts.append({
                    "id": account_id, "name": name, "website": f"https://{slug}.example",
                    "email_address": email, "email_address_is_opted_out": False, "email_address_is_invalid": False,
                    "phone_number": phone, "phone_number_is_opted_out": False, "phone_number_is_invalid": False,
                    "type": ACCOUNT_TYPES[rng.randrange(4)], "industry": INDUSTRIES[rng.randrange(len(INDUSTRIES))],
                    "billing_address_street": f"{rng.randrange(1, 999)} {STREETS[rng.randrange(len(STREETS))]}",
                    "billing_address_city": city, "billing_address_state": state,
                    "billing_address_country": country, "billing_address_postal_code": f"{rng.randrange(10000, 99999)}",
                    "description": None, "is_locked": False, "created_at": created,
                    "modified_at": gen.modified_at(created), "created_by_id": admin_id, "modified_by_id": admin_id,
                    "assigned_user_id": owner, "deleted": False, "version_number": 1})
                emails.append(_email_row("Account", account_id, 0, email, True))
                phones.append(_phone_row("Account", account_id, 0, phone, "Office", True))
                teams.append({"entity_type": "Account", "entity_id": account_id, "team_id": user_team[owner]})
            with conn.begin():
                put("account", accounts)
                put("email_address_link", emails)
                put("phone_number_link", phones)
                put("entity_team", teams)
        log(f"  accounts: {n_accounts:,} in {time.perf_counter() - phase:.1f} s")

        # Contacts (+ email / phone / team / account side rows).
        phase = time.perf_counter()
        tier_population = TIERS + [None]
        tier_weights = TIER_WEIGHTS + [10]
        n_first, n_last = len(FIRST_NAMES), len(LAST_NAMES)
        last_rng = rng.random
        for lo, hi in _chunks(rows, batch):
            contacts, emails, phones, teams, links = [], [], [], [], []
            tiers = rng.choices(tier_population, tier_weights, k=hi - lo)
            owners = rng.choices(user_ids, user_weights, k=hi - lo)
            for k, i in enumerate(range(lo, hi)):
                contact_id = i + 1
                first = FIRST_NAMES[rng.randrange(n_first)]
                # Zipf-ish surname popularity, like real name data.
                last = LAST_NAMES[min(n_last - 1, int(n_last * last_rng() ** 2.2))]
                email = f"{first.lower()}.{last.lower()}{contact_id}@{EMAIL_DOMAINS[contact_id % len(EMAIL_DOMAINS)]}"
                created = gen.created_at(i, rows)
                account_id = rng.randrange(1, n_accounts + 1) if last_rng() < 0.85 else None
                owner = owners[k]
                has_phone = last_rng() < 0.7
                phone = _phone(rng) if has_phone else None
                city, state, country = CITIES[rng.randrange(len(CITIES))]
                contacts.append({
                    "id": contact_id, "name": f"{first} {last}",
                    "salutation_name": SALUTATIONS[rng.randrange(len(SALUTATIONS))],
                    "first_name": first, "last_name": last, "description": None,
                    "email_address": email, "email_address_is_opted_out": False, "email_address_is_invalid": False,
                    "phone_number": phone, "phone_number_is_opted_out": False, "phone_number_is_invalid": False,
                    "do_not_call": False,
                    "address_street": f"{rng.randrange(1, 999)} {STREETS[rng.randrange(len(STREETS))]}",
                    "address_city": city, "address_state": state, "address_country": country,
                    "address_postal_code": f"{rng.randrange(10000, 99999)}", "account_id": account_id,
                    "created_at": created, "modified_at": gen.modified_at(created), "created_by_id": owner,
                    "modified_by_id": owner, "assigned_user_id": owner,
                    "deleted": contact_id % DELETED_MODULUS == 0, "version_number": 1,
                    "c_tier": tiers[k], "c_score": rng.randrange(0, 101)})
                emails.append(_email_row("Contact", contact_id, 0, email, True))
                if last_rng() < 0.1:
                    emails.append(_email_row("Contact", contact_id, 1,
                                             f"{first[0].lower()}{last.lower()}{contact_id}@work.example", False))
                if has_phone:
                    phones.append(_phone_row("Contact", contact_id, 0, phone,
                                             PHONE_TYPES[rng.randrange(len(PHONE_TYPES))], True))
                teams.append({"entity_type": "Contact", "entity_id": contact_id, "team_id": user_team[owner]})
                if account_id is not None:
                    links.append({"account_id": account_id, "contact_id": contact_id})
            with conn.begin():
                put("contact", contacts)
                put("email_address_link", emails)
                put("phone_number_link", phones)
                put("entity_team", teams)
                put("account_contact", links)
        contact_seconds = time.perf_counter() - phase
        log(f"  contacts: {rows:,} (+ side rows) in {contact_seconds:.1f} s ({rows / contact_seconds:,.0f}/s)")

        # Opportunities.
        phase = time.perf_counter()
        n_opps = gen.n_opportunities
        for lo, hi in _chunks(n_opps, batch):
            opps, teams = [], []
            for i in range(lo, hi):
                opp_id = i + 1
                stage_index = rng.choices(range(6), STAGE_WEIGHTS)[0]
                stage, probability = STAGES[stage_index]
                amount = round(rng.lognormvariate(9, 1.1), 2)
                created = gen.created_at(i, n_opps)
                owner = rng.choices(user_ids, user_weights)[0]
                contact_id = rng.randrange(1, rows + 1)
                opps.append({
                    "id": opp_id, "name": f"{PRODUCTS[rng.randrange(len(PRODUCTS))]} #{opp_id}",
                    "amount": amount, "amount_currency": "USD", "amount_converted": amount,
                    "account_id": rng.randrange(1, n_accounts + 1), "contact_id": contact_id,
                    "stage": stage, "last_stage": stage, "probability": probability,
                    "lead_source": LEAD_SOURCES[rng.randrange(len(LEAD_SOURCES))],
                    "close_date": (created + timedelta(days=rng.randrange(14, 180))).date(),
                    "description": None, "created_at": created, "modified_at": gen.modified_at(created),
                    "created_by_id": owner, "modified_by_id": owner, "assigned_user_id": owner,
                    "deleted": False, "version_number": 1})
                teams.append({"entity_type": "Opportunity", "entity_id": opp_id, "team_id": user_team[owner]})
            with conn.begin():
                put("opportunity", opps)
                put("entity_team", teams)
        log(f"  opportunities: {n_opps:,} in {time.perf_counter() - phase:.1f} s")

        # Rebuild indexes, fix sequences, record what was seeded.
        phase = time.perf_counter()
        with conn.begin():
            for index in dropped:
                index.create(conn)
        log(f"  indexes: {len(dropped)} rebuilt in {time.perf_counter() - phase:.1f} s")
        phase = time.perf_counter()
        if dialect == "postgresql":
            with conn.begin():
                for name in ["contact", "account", "opportunity", "email_address_link", "phone_number_link"]:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)")
        counter = t["sequence_counter"]
        marks = {"bench.seeded_rows": rows, "bench.max_contact_id": rows, "bench.max_account_id": n_accounts,
                 "bench.max_opportunity_id": n_opps, "bench.seed": seed_value}
        with conn.begin():
            conn.execute(counter.delete().where(counter.c.name.in_(list(marks))))
            conn.execute(insert(counter), [{"name": k, "value": v} for k, v in marks.items()])
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in BULK_TABLES + ["user", "team", "team_user"]:
                conn.exec_driver_sql(f'VACUUM ANALYZE "{name}"')
        log(f"  VACUUM ANALYZE in {time.perf_counter() - phase:.1f} s")
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    stats["seconds"] = round(time.perf_counter() - started, 2)
    stats["user_ids"] = user_ids
    stats["accounts"] = n_accounts
    stats["opportunities"] = n_opps
    return stats


def read_seed_marks(database_url: str) -> dict[str, int]:
    """The `bench.*` counters a previous seed left (empty if none)."""
    from sqlalchemy import text

    from polycrm.store.database import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, value FROM sequence_counter WHERE name LIKE 'bench.%'")).all()
        return {name: int(value) for name, value in rows}
    except Exception:  # noqa: BLE001 - no table yet, no database yet
        return {}
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True, help="number of contacts (accounts N/10, opps N/5)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="POLYCRM_DATA_DIR (default: bench/results/seed-<rows>)")
    parser.add_argument("--database-url", default=None, help="POLYCRM_DATABASE_URL (default: SQLite in data dir)")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per executemany / transaction")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--pg-executemany", action="store_true",
                        help="PostgreSQL: executemany instead of COPY (about 3x slower)")
    args = parser.parse_args(argv)
    data_dir = (args.data_dir or BENCH_DIR / "results" / f"seed-{args.rows}").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url_for(data_dir, args.database_url)
    print(f"Seeding {args.rows:,} contacts into {url.split('@')[-1]}")
    prepare_schema(data_dir, args.database_url)
    stats = seed(url, args.rows, batch=args.batch, seed_value=args.seed, pg_copy=not args.pg_executemany)
    print(f"Done in {stats['seconds']:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in stats["tables"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
