"""Checking campaign letter templates before they are saved, and previewing them.

Templates render in the journey's own sandbox (campaigns.services), with the variables the
journey passes; a template that passes these checks renders on the write page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, TemplateError

from advocacy.campaigns.services import compile_letter_template, parse_letter_template

# What the journey passes to each template, with what the editor shows beside it.
SUBJECT_VARIABLES: Mapping[str, str] = {
    "mp_name": "The MP's name as a letter opens with it, e.g. “Dr Ben Spencer MP”",
    "constituency": "The constituency, e.g. “Runnymede and Weybridge”",
    "sender_name": "The constituent's name as they typed it",
}
BODY_VARIABLES: Mapping[str, str] = {
    **SUBJECT_VARIABLES,
    "personal_words": "The constituent's own words (required in the body)",
}
REQUIRED_IN_BODY = "personal_words"


@dataclass(frozen=True)
class TemplateProblem:
    """One reason a template cannot be saved."""

    field: str  # "subject" or "body"
    message: str
    line: int | None = None


def check_source(source: str, field: str, variables: Mapping[str, str]) -> list[TemplateProblem]:
    """Problems in one template text: syntax (with its line), unknown variables, sandboxing."""
    try:
        # Compiling (not only parsing) also catches unknown filters and tests.
        compiled = compile_letter_template(source)
        tree = parse_letter_template(source)
    except TemplateSyntaxError as exc:
        return [
            TemplateProblem(
                field,
                f"Line {exc.lineno}: {(exc.message or 'this is not valid').rstrip('.')}.",
                exc.lineno,
            )
        ]
    problems = [
        TemplateProblem(
            field,
            f"“{name}” is not a variable letters can use. Use one of: "
            + ", ".join(sorted(variables))
            + ".",
        )
        for name in sorted(meta.find_undeclared_variables(tree) - set(variables))
    ]
    if problems:
        return problems
    try:
        compiled.render(**{name: name for name in variables})
    except SecurityError:
        return [TemplateProblem(field, "This template tries to do something not allowed.")]
    except TemplateError as exc:
        return [TemplateProblem(field, f"This template cannot be rendered: {exc}.")]
    return []


def check_letter(subject: str, body: str) -> list[TemplateProblem]:
    """Every problem that stops a subject and body being saved."""
    problems = check_source(subject, "subject", SUBJECT_VARIABLES)
    if "\n" in subject.strip():
        problems.append(TemplateProblem("subject", "The subject must be one line."))
    body_problems = check_source(body, "body", BODY_VARIABLES)
    problems += body_problems
    if not body_problems:
        used = meta.find_undeclared_variables(parse_letter_template(body))
        if REQUIRED_IN_BODY not in used:
            problems.append(
                TemplateProblem(
                    "body",
                    "The body must include {{ personal_words }}, where each person's own "
                    "words go. MPs give far more weight to a letter in a constituent's own "
                    "words than to the hundredth copy of the same text.",
                )
            )
    return problems
