"""MP responses: reply detection, the questionnaire and response figures."""
