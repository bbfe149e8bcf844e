"""The public journey: campaign page, postcode, letter, preview, confirmation."""
