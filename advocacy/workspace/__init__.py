"""The staff workspace: accounts, access control, the audit log and the campaign editor."""
