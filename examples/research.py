"""Agent pipelines from the seeds. They run on any provider, and offline by default.

`company_research` is the TAgent seed's example: a search step, then reputation and social
analysis concurrently, then a final report, each step an LLM agent with its own output model.
`document_assistant` is the AITaskAgent seed's intention -> route -> action pattern.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from taskagent import Budget, Pipeline, Registry, Trigger

registry = Registry()


class CompanyQuery(BaseModel):
    company: str = Field(min_length=1, description="The company to research.")


@registry.model()
class CompanyProfile(BaseModel):
    name: str = Field(min_length=1)
    industry: str
    website: str
    summary: str = Field(min_length=10)


@registry.model()
class ReputationReport(BaseModel):
    overall_score: float = Field(ge=0, le=10)
    complaint_patterns: list[str] = Field(max_length=5)
    satisfaction: float = Field(ge=0, le=1)


@registry.model()
class SocialPresence(BaseModel):
    platforms: list[str] = Field(min_length=1, max_length=6)
    sentiment: Literal["positive", "neutral", "negative", "mixed"]
    followers_estimate: int = Field(ge=0)


@registry.model()
class ResearchReport(BaseModel):
    executive_summary: str = Field(min_length=20)
    strengths: list[str] = Field(min_length=1, max_length=5)
    risks: list[str] = Field(min_length=1, max_length=5)
    recommendation: Literal["engage", "monitor", "avoid"]

    @model_validator(mode="after")
    def _no_overlap(self) -> ResearchReport:
        overlap = set(self.strengths) & set(self.risks)
        if overlap:
            raise ValueError(f"an item cannot be both a strength and a risk: {sorted(overlap)}")
        return self


@registry.function()
def report_is_actionable(report: ResearchReport) -> list[str]:
    """Semantic check: a report that recommends avoiding a company must name a risk."""
    if report.recommendation == "avoid" and not report.risks:
        return ["recommending 'avoid' requires at least one risk"]
    return []


company_research = (
    Pipeline(
        "company_research",
        "Company analysis by LLM agents: search, then reputation and social concurrently, "
        "then a final report.",
        input_model=CompanyQuery,
        constraints=["Use only reliable sources", "Prefer recent information"],
        budget=Budget(usd=0.05),
    )
    .agent(
        "search",
        "Search for basic company information online.",
        output_schema="CompanyProfile",
        tools=["current_time"],
    )
    .agent(
        "reputation",
        "Check the company's reputation: complaint patterns and satisfaction ratings.",
        depends_on=["search"],
        output_schema="ReputationReport",
        constraints=["Focus on complaint patterns"],
    )
    .agent(
        "social",
        "Analyse the company's social media presence.",
        depends_on=["search"],
        output_schema="SocialPresence",
    )
    .agent(
        "report",
        "Write a comprehensive report combining all findings, with an executive summary.",
        depends_on=["reputation", "social"],
        input={
            "company": "$steps.search.output",
            "reputation": "$steps.reputation.output",
            "social": "$steps.social.output",
        },
        output_schema="ResearchReport",
        validators=["report_is_actionable"],
        constraints=["Professional format"],
    )
)
registry.add_pipeline(company_research)


# -- intention -> route -> action --------------------------------------------------------------
class DocumentIntent(Enum):
    summarize = "The user wants a summary of a document."
    extract = "The user wants specific information extracted from a document."
    compare = "The user wants several documents compared."


class DocumentRequest(BaseModel):
    request: str = Field(min_length=1)
    document: str = ""


@registry.model()
class Summary(BaseModel):
    summary: str = Field(min_length=1)
    key_points: list[str] = Field(max_length=5)


@registry.model()
class Extraction(BaseModel):
    facts: dict[str, str]


@registry.model()
class Comparison(BaseModel):
    similarities: list[str]
    differences: list[str]


def _action(name: str, goal: str, schema: str) -> Pipeline:
    return Pipeline(name, f"Action pipeline: {goal}").agent(
        "act",
        goal,
        output_schema=schema,
        input={"request": "$input.request", "document": "$input.document"},
    )


for _pipeline in (
    _action("summarize_document", "Summarise the document.", "Summary"),
    _action("extract_from_document", "Extract the facts the user asks for.", "Extraction"),
    _action("compare_documents", "Compare the documents.", "Comparison"),
):
    registry.add_pipeline(_pipeline)

document_assistant = (
    Pipeline("document_assistant", "Classify the user's intention, then route to its pipeline.")
    .router(
        "intent",
        DocumentIntent,
        "Classify the user's request.",
        input={"request": "$input.request"},
    )
    .switch(
        "route",
        "steps.intent.output.choice",
        {
            "summarize": "summarize",
            "extract": "extract",
            "compare": "compare",
        },
        depends_on=["intent"],
    )
    .pipeline("summarize", "summarize_document", input="$input")
    .pipeline("extract", "extract_from_document", input="$input")
    .pipeline("compare", "compare_documents", input="$input")
    .code(
        "answer",
        "first_answer",
        depends_on=["summarize", "extract", "compare"],
        trigger=Trigger.ANY_COMPLETED,
        input={
            "intent": "$steps.intent.output",
            "summarize": "$steps.summarize.output",
            "extract": "$steps.extract.output",
            "compare": "$steps.compare.output",
        },
    )
)


@registry.function(local=True)
def first_answer(parts: dict[str, object]) -> dict[str, object]:
    """The answer of whichever action ran, with the router's decision."""
    intent = parts.pop("intent")
    action, output = next((k, v) for k, v in parts.items() if v is not None)
    return {"intent": intent, "action": action, "answer": output}


registry.add_pipeline(document_assistant)
