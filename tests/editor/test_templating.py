"""Letter templates are checked before they are saved."""

from __future__ import annotations

from advocacy.editor.templating import check_letter

GOOD_BODY = "Dear {{ mp_name }},\n\n{{ personal_words }}\n\nYours,\n{{ sender_name }}"


def test_a_good_letter_has_no_problems() -> None:
    assert check_letter("{{ constituency }}: help", GOOD_BODY) == []


def test_a_syntax_error_names_its_line() -> None:
    body = "Dear {{ mp_name }},\n\n{{ personal_words }}\n\n{% if sender_name %}\nYours"
    (problem,) = check_letter("Subject", body)
    assert problem.field == "body"
    assert problem.line == 6
    assert problem.message.startswith("Line 6:")


def test_an_unclosed_variable_is_a_syntax_error() -> None:
    (problem,) = check_letter("Hello {{ mp_name", GOOD_BODY)
    assert problem.field == "subject"
    assert problem.line == 1


def test_an_unknown_variable_is_named() -> None:
    (problem,) = check_letter("Subject", GOOD_BODY + "\n{{ mp_party }}")
    assert "“mp_party” is not a variable" in problem.message
    assert "personal_words" in problem.message


def test_personal_words_may_not_be_used_in_the_subject() -> None:
    (problem,) = check_letter("{{ personal_words }}", GOOD_BODY)
    assert problem.field == "subject"
    assert "“personal_words”" in problem.message


def test_a_body_without_personal_words_is_refused_with_an_explanation() -> None:
    (problem,) = check_letter("Subject", "Dear {{ mp_name }},\n\nPlease act.\n")
    assert problem.field == "body"
    assert "{{ personal_words }}" in problem.message
    assert "own words" in problem.message


def test_an_unknown_filter_is_refused() -> None:
    (problem,) = check_letter("Subject", GOOD_BODY + "\n{{ mp_name|shout }}")
    assert "shout" in problem.message


def test_the_sandbox_refuses_reaching_python_objects() -> None:
    (problem,) = check_letter("Subject", GOOD_BODY + "\n{{ mp_name.__class__.__mro__ }}")
    assert "not allowed" in problem.message


def test_the_subject_is_one_line() -> None:
    problems = check_letter("One\nTwo", GOOD_BODY)
    assert [p.message for p in problems] == ["The subject must be one line."]
