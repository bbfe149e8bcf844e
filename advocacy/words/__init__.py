"""A letter's own words: near-copy detection, the writing hint and the review hold."""
