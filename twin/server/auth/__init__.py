"""Who is asking (API keys, OIDC/JWT bearer tokens) and what they may do (policy)."""
