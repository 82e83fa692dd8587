"""Authorization: the casbin model, the grant index that answers it fast, policy files."""
