"""Users, teams, roles and ACL levels, API keys and tokens (stored hashed), credential verifiers."""
