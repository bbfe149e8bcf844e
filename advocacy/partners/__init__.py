"""Partner organisations: the embedded form, attribution, consent boxes and their figures."""
