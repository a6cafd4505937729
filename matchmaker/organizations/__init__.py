"""Members of an organisation: who belongs, who asks to join, who is invited."""
