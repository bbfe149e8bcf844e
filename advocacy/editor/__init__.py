"""The campaign editor: campaigns, their letter templates, versions, previews and imports."""
