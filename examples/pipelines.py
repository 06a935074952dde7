"""Example pipelines from the seeds, runnable offline with deterministic code steps.

The worker loads this module by default (TASKAGENT_MODULES=examples.pipelines,...). The YAML spec
examples/ticket_triage.yaml uses the functions registered here, and is registered with them: a
worker that serves other modules does not get it (nor fail on it).
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from pydantic import BaseModel, Field

from taskagent import Pipeline, Registry, Trigger, code, load_spec_file

registry = Registry()


class CompanyQuery(BaseModel):
    company: str = Field(min_length=1, description="The company to research.")
    simulate_latency_s: float = Field(0.0, ge=0, le=10, description="Demo: seconds per step.")


class CompanyInfo(BaseModel):
    name: str
    industry: str
    website: str
    founded: int
    latency_s: float = 0.0


class ReputationAnalysis(BaseModel):
    overall_score: float = Field(ge=0, le=10)
    complaints: int = Field(ge=0)
    satisfaction: float = Field(ge=0, le=1)


class SocialAnalysis(BaseModel):
    followers: int = Field(ge=0)
    sentiment: str


class CompanyReport(BaseModel):
    company: CompanyInfo
    reputation: ReputationAnalysis
    social: SocialAnalysis
    recommendations: list[str]


class Analyses(BaseModel):
    reputation: ReputationAnalysis
    social: SocialAnalysis
    company: CompanyInfo


def _score(text: str, modulo: int) -> int:
    """A stable pseudo-measurement of a name (the offline stand-in for a real source)."""
    return int(hashlib.sha256(text.lower().encode()).hexdigest(), 16) % modulo


@registry.function()
async def web_search(query: CompanyQuery) -> CompanyInfo:
    """Find basic company information (offline: derived from the name)."""
    await asyncio.sleep(query.simulate_latency_s)
    industries = ["retail", "software", "logistics", "finance", "health"]
    slug = "".join(c for c in query.company.lower() if c.isalnum())
    return CompanyInfo(
        name=query.company,
        industry=industries[_score(query.company, len(industries))],
        website=f"https://{slug}.example",
        founded=1950 + _score(query.company, 70),
        latency_s=query.simulate_latency_s,
    )


@registry.function()
async def check_reputation(company: CompanyInfo) -> ReputationAnalysis:
    """Complaint patterns and satisfaction ratings."""
    await asyncio.sleep(company.latency_s)
    complaints = _score(company.name + "complaints", 500)
    return ReputationAnalysis(
        overall_score=round(10 - complaints / 50, 1),
        complaints=complaints,
        satisfaction=round(1 - complaints / 1000, 2),
    )


@registry.function()
async def analyse_social(company: CompanyInfo) -> SocialAnalysis:
    """Social media presence."""
    await asyncio.sleep(company.latency_s)
    sentiments = ["positive", "neutral", "mixed"]
    return SocialAnalysis(
        followers=_score(company.name + "followers", 1_000_000),
        sentiment=sentiments[_score(company.name, 3)],
    )


@registry.function(local=True)
def write_report(analyses: Analyses) -> CompanyReport:
    """Combine the findings into a report with an executive recommendation list."""
    recommendations = []
    if analyses.reputation.overall_score < 6:
        recommendations.append("Investigate the complaint backlog before engaging.")
    else:
        recommendations.append("Reputation is sound: proceed to commercial due diligence.")
    if analyses.social.sentiment != "positive":
        recommendations.append(f"Social sentiment is {analyses.social.sentiment}: monitor it.")
    return CompanyReport(
        company=analyses.company,
        reputation=analyses.reputation,
        social=analyses.social,
        recommendations=recommendations,
    )


company_facts = (
    Pipeline(
        "company_facts",
        "Company analysis with deterministic code steps: search, then reputation and social "
        "concurrently, then a final report.",
        input_model=CompanyQuery,
        constraints=["Use only reliable sources"],
    )
    .code("search", web_search)
    .code("reputation", check_reputation, depends_on=["search"])
    .code("social", analyse_social, depends_on=["search"])
    .code(
        "report",
        write_report,
        depends_on=["reputation", "social"],
        input={
            "company": "$steps.search.output",
            "reputation": "$steps.reputation.output",
            "social": "$steps.social.output",
        },
    )
)
registry.add_pipeline(company_facts)


# -- ticket triage: switch routing and a join ------------------------------------------------
class Ticket(BaseModel):
    text: str = Field(min_length=1)


class Triage(BaseModel):
    category: str
    urgent: bool


class Reply(BaseModel):
    team: str
    message: str


@registry.function(local=True)
def classify_ticket(ticket: Ticket) -> Triage:
    """Keyword triage (an LLM router replaces it in agent pipelines)."""
    text = ticket.text.lower()
    if any(word in text for word in ("invoice", "refund", "charge")):
        category = "billing"
    elif any(word in text for word in ("error", "crash", "bug")):
        category = "technical"
    else:
        category = "general"
    return Triage(category=category, urgent="urgent" in text or "!" in text)


def _reply(team: str) -> Reply:
    return Reply(team=team, message=f"Your ticket was routed to the {team} team.")


@registry.function(local=True)
def billing_desk(triage: Triage) -> Reply:
    return _reply("billing")


@registry.function(local=True)
def tech_support(triage: Triage) -> Reply:
    return _reply("technical support")


@registry.function(local=True)
def front_desk(triage: Triage) -> Reply:
    return _reply("front desk")


@registry.function(local=True, side_effects=True)  # it pages a person: a dry run skips it
def page_on_call(ticket: Ticket) -> Reply:
    return Reply(team="on-call", message=f"Paged on-call about: {ticket.text[:60]}")


# -- contact enrichment: parallel branches, a custom merge and a sub-pipeline -----------------
class Contact(BaseModel):
    email: str
    company: str


class Enriched(BaseModel):
    domain: str
    company: str
    score: int


@registry.function(local=True)
def email_domain(contact: Contact) -> dict[str, str]:
    return {"domain": contact.email.rsplit("@", 1)[-1]}


@registry.function(local=True)
def lead_score(contact: Contact) -> dict[str, int]:
    return {"score": _score(contact.email, 100)}


@registry.function(local=True)
def merge_enrichment(outputs: dict[str, dict[str, object]]) -> dict[str, object]:
    """Custom merge: flatten the branch outputs into one record."""
    merged: dict[str, object] = {}
    for branch in sorted(outputs):
        merged.update(outputs[branch])
    return merged


contact_enrichment = (
    Pipeline("contact_enrichment", "Enrich a contact, then research its company as a sub-pipeline.")
    .parallel(
        "enrich",
        [code("domain", email_domain), code("score", lead_score)],
        merge=merge_enrichment,
    )
    .pipeline("company", "company_facts", input={"company": "$input.company"})
    .code(
        "summary",
        "summarise_contact",
        depends_on=["enrich", "company"],
        trigger=Trigger.ALL_COMPLETED,
    )
)


@registry.function(local=True, name="summarise_contact")
def summarise_contact(parts: dict[str, dict[str, object]]) -> dict[str, object]:
    report = parts["company"]
    return {**parts["enrich"], "industry": report["company"]["industry"]}  # type: ignore[index]


registry.add_pipeline(contact_enrichment)


@registry.function(local=True)
def summarise_reply(replies: dict[str, Reply | None]) -> Reply:
    """The reply of whichever desk handled the ticket."""
    return next(reply for reply in replies.values() if reply is not None)


TICKET_TRIAGE = Path(__file__).with_name("ticket_triage.yaml")
registry.add_pipeline(load_spec_file(TICKET_TRIAGE), source=str(TICKET_TRIAGE))
