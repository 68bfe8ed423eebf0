"""OGC API - Features Part 4 (create, replace, update, delete) on editable layers."""
