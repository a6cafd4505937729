"""Framework-free domain services: views and commands call these."""
