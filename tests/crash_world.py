"""The fakes in processes of their own, a store, and ``servicesync`` run in children.

What the crash tests share: the Bitrix24 and Jira fakes served by
``servicesync fake ... --json`` (so what they hold survives a killed sync),
``servicesync`` commands run in children forked from ``cli_launcher.py``
(a process that imported the command line once, so that no command spends
seconds on imports again), and readers of what the fakes and the store hold
for one won deal.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import sqlalchemy as sa
from servicesync.domain import Expert, Project, ProjectMember
from servicesync.store import (
    ActionJournalRow,
    ExternalLink,
    OutboxDelivery,
    OutboxEvent,
    RateBudgetRow,
    Store,
    open_store,
)
from servicesync.store._dialect import table_of
from servicesync.store.testing import postgres_schema, postgres_url
from sqlmodel import col, select

LAUNCHER = Path(__file__).with_name("cli_launcher.py")
CATALOG = Path(str(files("servicesync").joinpath("samples/catalog.yaml")))

#: How much faster than real time the fakes run, so that their rate limits
#: (Bitrix24 drains two requests a second) never make a sync wait.
TIME_SCALE = "100"
#: Seconds a sync may take before the launcher kills it as hung.
SYNC_TIMEOUT = 90.0
#: The CRM stage that the config maps to ``contract_signed``.
WON_STAGE = "EXECUTING"

#: The config ``make demo`` runs, filled in with the fakes and the store.
DEMO_CONFIG = Path(__file__).parents[1] / "demo" / "servicesync.toml"

#: The stores a crash module runs on, one fixture instance each, each on an
#: xdist worker of its own.
BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.xdist_group("crash-sqlite")),
    pytest.param(
        "postgres",
        marks=[pytest.mark.postgres, pytest.mark.xdist_group("crash-postgres")],
    ),
]

#: Set to N, adds to each crash module a long run of N syncs killed at random.
SOAK_ENV = "SERVICESYNC_CRASH_SOAK"


def soak_rounds() -> int:
    """How many kills the long run makes; 0 when it is off."""
    return int(os.environ.get(SOAK_ENV) or 0)


def soak_deals(rounds_per_deal: int) -> int:
    """How many deals a long run needs: one per so many rounds, at least two."""
    rounds = soak_rounds()
    return max(2, rounds // rounds_per_deal) if rounds else 0


def soak_chooser() -> random.Random:
    """The long run's random choices, seeded by ``SERVICESYNC_CRASH_SOAK_SEED``."""
    return random.Random(int(os.environ.get(f"{SOAK_ENV}_SEED") or 1))


# -- the fakes, each in its own process ------------------------------------


@dataclass(frozen=True)
class FakeProcess:
    """A fake service served by ``servicesync fake NAME --json``."""

    pid: int
    base_url: str
    credentials: dict[str, str]


class Crm:
    """The fake Bitrix24 portal, called through its REST API."""

    def __init__(self, webhook_url: str) -> None:
        self.http = httpx.Client(base_url=webhook_url, timeout=30)

    def call(self, method: str, body: dict[str, Any]) -> Any:
        """Call a REST method; return its ``result``."""
        response = self.http.post(f"{method}.json", json=body)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    def add_deals(self, titles: list[str]) -> list[str]:
        """Add one data-audit deal per title, still in the first stage."""
        company = self.call("crm.company.add", {"fields": {"TITLE": "Northwind"}})
        fields = {"STAGE_ID": "NEW", "OPPORTUNITY": "12000", "CURRENCY_ID": "EUR",
                  "COMPANY_ID": company, "UF_CRM_SERVICE": "data-audit"}  # fmt: skip
        return [
            str(self.call("crm.deal.add", {"fields": {**fields, "TITLE": title}}))
            for title in titles
        ]

    def win(self, deal_id: str) -> None:
        """Move a deal to the stage that fires the won-deal flow."""
        self.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": WON_STAGE}})

    def comments(self, deal_id: str) -> list[str]:
        """Return the texts of the deal's timeline comments."""
        body = {"filter": {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal"}}
        return [row["COMMENT"] for row in self.call("crm.timeline.comment.list", body)]


class Jira:
    """The fake Jira site, called through its REST API as the site admin."""

    def __init__(self, fake: FakeProcess) -> None:
        token = fake.credentials["token:admin@example.com"]
        self.http = httpx.Client(
            base_url=f"{fake.base_url}/rest/api/3",
            auth=("admin@example.com", token),
            timeout=30,
        )
        self.emails: dict[str, str] = {}

    def get(self, path: str, **params: Any) -> Any:
        """GET a path of the API; return the JSON answer."""
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def create_user(self, email: str, name: str) -> None:
        """Create a user, as an administrator would for a new colleague."""
        body = {"emailAddress": email, "displayName": name, "products": []}
        response = self.http.post("/user", json=body)
        assert response.status_code == 201, response.text
        self.emails[response.json()["accountId"]] = email

    def projects_of(self, title: str) -> list[str]:
        """Return the keys of the projects made for the deal called ``title``."""
        found = self.get("/project/search", maxResults=100)
        assert found["isLast"], "more projects than one page holds"
        return [p["key"] for p in found["values"] if p["name"].startswith(f"{title} (")]

    def versions(self, key: str) -> list[str]:
        """Return the names of the project's versions."""
        return [v["name"] for v in self.get(f"/project/{key}/versions")]

    def releases(self, key: str) -> dict[str, str]:
        """Return the release date of each of the project's versions, by name."""
        versions = self.get(f"/project/{key}/versions")
        return {v["name"]: v.get("releaseDate", "") for v in versions}

    def project(self, key: str) -> dict[str, Any]:
        """Return the project as Jira describes it, its description included."""
        found: dict[str, Any] = self.get(f"/project/{key}", expand="description")
        return found

    def summaries(self, key: str) -> list[str]:
        """Return the summaries of the project's issues."""
        body = {"jql": f"project = {key}", "fields": ["summary"], "maxResults": 100}
        response = self.http.post("/search/jql", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert not answer.get("nextPageToken"), "more issues than one page holds"
        return [issue["fields"]["summary"] for issue in answer["issues"]]

    def members(self, key: str) -> list[str]:
        """Return the emails of the project's Member role, once per actor."""
        role = self.get(f"/project/{key}/role")["Member"].rstrip("/").rsplit("/")[-1]
        actors = self.get(f"/project/{key}/role/{role}")["actors"]
        return [self.emails[a["actorUser"]["accountId"]] for a in actors]


# -- running the command line ------------------------------------------------


@dataclass(frozen=True)
class Run:
    """How one ``servicesync`` command ended."""

    returncode: int
    killed_from_outside: bool
    log: str


class Launcher:
    """Runs ``servicesync`` commands in children of ``cli_launcher.py``."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.runs = 0
        self.process = subprocess.Popen(
            [sys.executable, str(LAUNCHER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(
        self, *args: str, failpoints: str = "", kill_after: float | None = None
    ) -> Run:
        """Run one command to its end, armed with ``failpoints`` if given."""
        self.runs += 1
        log = self.workdir / f"run-{self.runs}.log"
        env = dict(self.env)
        if failpoints:
            env["SERVICESYNC_FAILPOINTS"] = failpoints
        job = self._job(list(args), log, env) | {"kill_after": kill_after}
        answer = self._ask(job)
        text = log.read_text() if log.exists() else ""
        return Run(answer["returncode"], answer["killed"], text)

    def start_fake(self, name: str) -> FakeProcess:
        """Serve the fake of plugin ``name``; return it once it announced itself."""
        args = ["fake", name, "--json", "--time-scale", TIME_SCALE]
        job = self._job(args, self.workdir / f"fake-{name}.log") | {"background": True}
        answer = self._ask(job)
        if not answer["first_line"]:
            problem = (self.workdir / f"fake-{name}.log").read_text()
            raise RuntimeError(f"The {name} fake did not start: {problem}")
        announced = json.loads(answer["first_line"])
        return FakeProcess(
            answer["pid"], announced["base_url"], announced["credentials"]
        )

    def stop(self, fake: FakeProcess) -> None:
        """End a fake started with :meth:`start_fake`."""
        self._ask({"stop": fake.pid})

    def _job(
        self, args: list[str], log: Path, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return {
            "args": args,
            "env": env or self.env,
            "cwd": str(self.workdir),
            "log": str(log),
            "timeout": SYNC_TIMEOUT,
        }

    def _ask(self, job: dict[str, Any]) -> dict[str, Any]:
        stdin, stdout = self._pipes()
        stdin.write(json.dumps(job) + "\n")
        stdin.flush()
        answer: dict[str, Any] = json.loads(stdout.readline())
        return answer

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        return self.process.stdin, self.process.stdout

    def close(self) -> None:
        """Let the launcher end once its input closes."""
        stdin, stdout = self._pipes()
        stdin.close()
        self.process.wait(timeout=30)
        stdout.close()


# -- what a won deal left behind -------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the services and the store hold for one won deal.

    Two deals of the same service won the same way have equal outcomes,
    whatever their names and ids.
    """

    jira_projects: int
    versions: tuple[str, ...]
    issues: tuple[str, ...]
    team_size: int
    members_are_the_team: bool
    link_is_the_project: bool
    comments: int
    store_projects: int
    project_links: int
    deliveries: tuple[tuple[str, str, str, str], ...]
    journal: tuple[tuple[str, str], ...]
    unfinished_deliveries: int


class World:
    """The fakes, the store and the config that every case of one database shares."""

    def __init__(
        self, workdir: Path, crm: Crm, jira: Jira, store: Store, launcher: Launcher
    ) -> None:
        self.workdir = workdir
        self.crm = crm
        self.jira = jira
        self.store = store
        self.launcher = launcher
        self.titles: dict[str, str] = {}
        self.reference: Outcome | None = None

    def sync(self, failpoints: str = "", kill_after: float | None = None) -> Run:
        """Run ``servicesync sync`` once, with the CRM's request budget full."""
        self._refill_request_budgets()
        return self.launcher.run(
            "-c", "servicesync.toml", "sync", failpoints=failpoints,
            kill_after=kill_after,
        )  # fmt: skip

    def _refill_request_budgets(self) -> None:
        """Forget the requests the syncs so far booked against the CRM's limit.

        The Bitrix24 connector books its calls in a budget in the store that
        drains at the portal's real rate (two calls a second), while the fake
        portal runs a hundred times faster and has long forgiven them; left
        alone, the budget would make every sync here wait for nothing. The
        fake still refuses what its own limit would.
        """
        with self.store.transaction() as tx:
            tx.execute(sa.delete(table_of(RateBudgetRow)))

    def sync_until_done(self, tries: int = 3) -> Run:
        """Run ``servicesync sync`` until it exits 0, ``tries`` times at most."""
        for _ in range(tries):
            run = self.sync()
            if run.returncode == 0:
                break
        return run

    def add_deals(self, titles: list[str]) -> list[str]:
        """Add deals to the CRM; remember their titles by id."""
        ids = self.crm.add_deals(titles)
        self.titles.update(zip(ids, titles, strict=True))
        return ids

    def outcome(self, deal_id: str) -> Outcome:
        """Read what the fakes and the store hold for the deal ``deal_id``."""
        keys = self.jira.projects_of(self.titles[deal_id])
        key = keys[0] if keys else ""
        link = self.crm.call("crm.deal.get", {"id": deal_id}).get(
            "UF_CRM_SERVICESYNC_PROJECT"
        )
        ledger = Ledger(self.store, deal_id)
        team = ledger.team()
        return Outcome(
            jira_projects=len(keys),
            versions=tuple(sorted(self.jira.versions(key))) if key else (),
            issues=tuple(sorted(self.jira.summaries(key))) if key else (),
            team_size=len(team),
            members_are_the_team=bool(key) and sorted(self.jira.members(key)) == team,
            link_is_the_project=bool(key) and str(link).endswith(f"/browse/{key}"),
            comments=len(self.crm.comments(deal_id)),
            store_projects=len(ledger.projects),
            project_links=ledger.links_to_projects(key),
            deliveries=ledger.deliveries(),
            journal=ledger.journal(),
            unfinished_deliveries=ledger.unfinished_deliveries(),
        )


class Ledger:
    """What the store holds about one deal of the CRM, read in process."""

    def __init__(self, store: Store, deal_external_id: str) -> None:
        self.store = store
        with store.session() as session:
            self.deal = session.exec(
                select(ExternalLink.internal_id).where(
                    ExternalLink.connection == "crm",
                    ExternalLink.record_type == "deal",
                    ExternalLink.external_id == deal_external_id,
                )
            ).one()
            self.projects = list(
                session.exec(select(Project.id).where(Project.deal_id == self.deal))
            )

    def team(self) -> list[str]:
        """Return the emails of the deal's project members, sorted."""
        with self.store.session() as session:
            emails = session.exec(
                select(Expert.email)
                .join(ProjectMember, col(ProjectMember.expert_id) == Expert.id)
                .where(col(ProjectMember.project_id).in_(self.projects))
            )
            return sorted(emails)

    def links_to_projects(self, key: str) -> int:
        """Count the links from the Jira project ``key`` to the deal's projects."""
        with self.store.session() as session:
            links = session.exec(
                select(ExternalLink).where(
                    ExternalLink.connection == "delivery",
                    ExternalLink.external_id == key,
                    col(ExternalLink.internal_id).in_(self.projects),
                )
            )
            return len(links.all())

    def deliveries(self) -> tuple[tuple[str, str, str, str], ...]:
        """Return each delivery of the deal's events: type, stage, consumer, status."""
        with self.store.session() as session:
            pairs = session.exec(
                select(OutboxEvent, OutboxDelivery).join(
                    OutboxDelivery, col(OutboxDelivery.event_id) == OutboxEvent.id
                )
            ).all()
        return tuple(
            sorted(
                (event.type, str(event.payload["stage"]), sent.plugin, sent.status)
                for event, sent in pairs
                if event.payload.get("deal_id") == self.deal
            )
        )

    def journal(self) -> tuple[tuple[str, str], ...]:
        """Return each journaled step of the deal's flow with its status."""
        prefix = f"won_deal:{self.deal}:"
        with self.store.session() as session:
            rows = session.exec(
                select(ActionJournalRow).where(
                    col(ActionJournalRow.dedup_key).startswith(prefix)
                )
            ).all()
        return tuple(sorted((r.dedup_key.removeprefix(prefix), r.status) for r in rows))

    def unfinished_deliveries(self) -> int:
        """Count the deliveries of any deal's events that are not done."""
        with self.store.session() as session:
            rows = session.exec(
                select(OutboxDelivery).where(OutboxDelivery.status != "done")
            )
            return len(rows.all())


def sync_killed_at_random(
    world: World,
    chooser: random.Random,
    counts: Mapping[str, int],
    max_delay: float,
) -> Run:
    """Run a sync armed at a random failpoint and count, or killed from outside.

    ``counts`` gives, for each failpoint to choose from, the highest count
    worth arming; an outside kill comes after up to ``max_delay`` seconds.
    """
    if chooser.random() < 0.3:
        return world.sync(kill_after=chooser.uniform(0.0, max_delay))
    point = chooser.choice(list(counts))
    return world.sync(f"{point}:{chooser.randint(1, counts[point])}")


# -- a world of fakes, a store and a config ------------------------------------


@contextmanager
def store_url(backend: str, workdir: Path) -> Iterator[str]:
    """Yield the URL of an empty store of ``backend`` for this module alone."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'servicesync.db'}"
        return
    with postgres_schema() as connect_args:
        url = sa.make_url(postgres_url()).update_query_dict(connect_args)
        yield url.render_as_string(hide_password=False)


def create_jira_users(world: World) -> None:
    with world.store.session() as session:
        experts = session.exec(select(Expert)).all()
    for expert in experts:
        world.jira.create_user(expert.email, expert.name)


@contextmanager
def open_world(
    backend: str, workdir: Path, titles: Sequence[str], *, config_tail: str = ""
) -> Iterator[World]:
    """Start the fakes, fill in the demo config, add the deals, sync once.

    ``config_tail`` is appended to the demo config (more keys of its last
    table, such as the won-deal flow's). The catalog's experts are made
    Jira users, and the baseline sync has run when the world is yielded.
    """
    with ExitStack() as stack:
        url = stack.enter_context(store_url(backend, workdir))
        env = {key: value for key, value in os.environ.items()
               if key != "SERVICESYNC_FAILPOINTS"}  # fmt: skip
        launcher = Launcher(workdir, env)
        stack.callback(launcher.close)
        crm_fake = launcher.start_fake("bitrix24")
        jira_fake = launcher.start_fake("jira")
        for fake in (crm_fake, jira_fake):
            stack.callback(launcher.stop, fake)
        launcher.env = env | {
            "DEMO_BITRIX24_WEBHOOK_URL": crm_fake.credentials["webhook_url"],
            "DEMO_BITRIX24_APP_TOKEN": "crash-test-event-token",
            "DEMO_JIRA_API_TOKEN": jira_fake.credentials["token:admin@example.com"],
        }
        config = DEMO_CONFIG.read_text(encoding="utf-8").format(
            crm_url=crm_fake.base_url, jira_url=jira_fake.base_url, store_url=url
        )
        (workdir / "servicesync.toml").write_text(config + config_tail)
        imported = launcher.run(
            "-c", "servicesync.toml", "catalog", "import", str(CATALOG)
        )
        assert imported.returncode == 0, imported.log
        store = open_store(url)
        stack.callback(store.close)
        crm = Crm(crm_fake.credentials["webhook_url"])
        world = World(workdir, crm, Jira(jira_fake), store, launcher)
        stack.callback(world.crm.http.close)
        stack.callback(world.jira.http.close)
        create_jira_users(world)
        world.add_deals(list(titles))
        baseline = world.sync()
        assert baseline.returncode == 0, baseline.log
        yield world
